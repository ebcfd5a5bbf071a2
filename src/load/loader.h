// LoadCsv: stream a CSV of id,hero,power,name,xp,color into a Store.
//
// Rows go to Store::Load in batches (one transaction per batch). Re-running a
// load does not duplicate rows: ids already present are skipped, or
// overwritten with LoadMode::kReplace. Bad rows (wrong column count, an id or
// xp that is not an integer in range, a string over 20 characters, invalid
// UTF-8) are reported with their line number and skipped; with strict, the
// whole source is validated first (a second pass) and nothing is loaded if any
// row is bad.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "load/source.h"
#include "rowcache/cache.h"
#include "rowcache/store.h"

namespace rowcache {

struct LoadProgress {
  int64_t rows = 0;  // rows loaded so far (inserted + replaced + skipped)
  int64_t bad = 0;
  uint64_t bytes = 0;  // bytes read from the source
  std::optional<uint64_t> total_bytes;
  double seconds = 0;
};

struct LoadOptions {
  LoadMode mode = LoadMode::kSkipExisting;
  bool strict = false;
  size_t batch_rows = 50000;
  // When set, the cache entries of every loaded id are invalidated (entry
  // and guard deleted, so no fill under an earlier lease can land) so a
  // running service cannot serve the old row.
  Cache* cache = nullptr;
  std::string key_prefix = "rowcache:heroes:";
  std::string guard_suffix = ":gen";
  std::function<void(const LoadProgress&)> progress;  // called after each batch
};

struct LoadReport {
  int64_t inserted = 0, replaced = 0, skipped = 0, bad = 0;
  int64_t invalidated = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  std::vector<std::string> bad_rows;  // "line N: ..." (the first 1000)
};

// Errors: the source or the database failing (rows in batches committed
// before the failure stay loaded; the report says how many), or, with strict,
// InvalidArgument listing the first bad row.
Result<LoadReport> LoadCsv(ByteSource& src, Store& store, const LoadOptions& opts,
                           LoadReport* partial = nullptr);

}  // namespace rowcache
