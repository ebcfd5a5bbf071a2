// Where a CSV comes from (the ByteSource interface, rowcache/byte_source.h): a
// local file (here) or an S3 object (src/aws/s3_source.h); OpenSource picks
// one by the --from text.
#pragma once

#include <memory>
#include <string>

#include "rowcache/byte_source.h"
#include "rowcache/status.h"

namespace rowcache {

struct S3Options;

// A path, "-" for standard input (which cannot be rewound), or s3://bucket/key
// (then s3 must be given).
Result<std::unique_ptr<ByteSource>> OpenSource(const std::string& from, const S3Options* s3 = nullptr);

}  // namespace rowcache
