// ByteSource: where a CSV comes from: a local file (here) or an S3 object
// (src/aws/s3_source.h); OpenSource picks one by the --from text.
#pragma once

#include <cstdint>
#include <memory>
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

struct S3Options;

// A path, "-" for standard input (which cannot be rewound), or s3://bucket/key
// (then s3 must be given).
Result<std::unique_ptr<ByteSource>> OpenSource(const std::string& from, const S3Options* s3 = nullptr);

}  // namespace rowcache
