// ByteSource: where a CSV comes from, read as bytes: a local file
// (src/load/source.h) or an S3 object (src/aws/s3_source.h). The interface is
// here so that both implementations may include it and neither includes the
// other's folder for it (load/ picks one by the --from text; aws/ knows
// nothing of the loader).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "rowcache/status.h"

namespace rowcache {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to cap bytes; 0 at the end. Unavailable/NotFound on errors.
  virtual Result<size_t> Read(char* buf, size_t cap) = 0;
  // Starts again from the first byte (a second pass, e.g. --strict validation).
  virtual Status Rewind() = 0;
  virtual std::optional<uint64_t> Size() const { return std::nullopt; }
  virtual std::string Describe() const = 0;
};

}  // namespace rowcache
