#include "load/loader.h"

#include <chrono>

#include "load/csv.h"

namespace rowcache {

namespace {

constexpr size_t kChunk = 1 << 16;

// Reads the whole source through the parser, handing each good row (or each
// problem) to the callbacks. Returns a source error, or OK at the end.
template <class OnRow, class OnBad, class OnChunk>
Status Scan(ByteSource& src, OnRow&& on_row, OnBad&& on_bad, OnChunk&& on_chunk) {
  CsvParser parser;
  std::vector<CsvRecord> recs;
  std::vector<std::string> errors;
  std::string buf(kChunk, '\0');
  bool first = true;
  auto drain = [&]() -> Status {
    for (auto& e : errors) on_bad(std::move(e));
    errors.clear();
    for (auto& rec : recs) {
      if (first) {
        first = false;
        if (IsHeader(rec)) continue;
      }
      auto row = RowFromRecord(rec);
      if (row.ok()) {
        Status s = on_row(std::move(row.value()));
        if (!s.ok()) return s;
      } else {
        on_bad(row.status().message());
      }
    }
    recs.clear();
    return Status::OK();
  };
  for (;;) {
    auto n = src.Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    parser.Feed(std::string_view(buf.data(), *n), &recs, &errors);
    Status s = drain();
    if (!s.ok()) return s;
    on_chunk(*n);
  }
  parser.Finish(&recs, &errors);
  return drain();
}

}  // namespace

Result<LoadReport> LoadCsv(ByteSource& src, Store& store, const LoadOptions& opts, LoadReport* partial) {
  LoadReport local;
  LoadReport& rep = partial ? *partial : local;
  rep = LoadReport{};
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  auto note_bad = [&](std::string msg) {
    ++rep.bad;
    if (rep.bad_rows.size() < 1000) rep.bad_rows.push_back(std::move(msg));
  };

  if (opts.strict) {
    Status s = Scan(
        src, [](Row&&) { return Status::OK(); }, note_bad, [](size_t) {});
    if (!s.ok()) return s;
    if (rep.bad > 0) {
      return Status::InvalidArgument(std::to_string(rep.bad) + " bad row(s), nothing loaded; first: " +
                                     rep.bad_rows.front());
    }
    s = src.Rewind();
    if (!s.ok()) return s;
  }

  std::vector<Row> batch;
  batch.reserve(opts.batch_rows);
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::OK();
    auto r = store.Load(batch, opts.mode);
    if (!r.ok()) return r.status();
    rep.inserted += r->inserted;
    rep.replaced += r->replaced;
    rep.skipped += r->skipped;
    if (opts.cache) {
      std::vector<std::pair<std::string, std::string>> kg;
      kg.reserve(batch.size());
      for (const Row& row : batch) {
        std::string k = opts.key_prefix + std::to_string(row.id);
        kg.emplace_back(k, k + opts.guard_suffix);
      }
      Status c = opts.cache->Invalidate(kg, opts.guard_ttl_seconds);
      if (!c.ok()) {
        return Status::Unavailable("rows committed but their cache entries could not be invalidated: " +
                                   c.message());
      }
      rep.invalidated += static_cast<int64_t>(kg.size());
    }
    batch.clear();
    if (opts.progress) {
      opts.progress(LoadProgress{rep.inserted + rep.replaced + rep.skipped, rep.bad, rep.bytes, src.Size(),
                                 elapsed()});
    }
    return Status::OK();
  };
  Status s = Scan(
      src,
      [&](Row&& row) -> Status {
        batch.push_back(std::move(row));
        return batch.size() >= opts.batch_rows ? flush() : Status::OK();
      },
      note_bad, [&](size_t n) { rep.bytes += n; });
  if (s.ok()) s = flush();
  rep.seconds = elapsed();
  if (!s.ok()) return s;
  return rep;
}

}  // namespace rowcache
