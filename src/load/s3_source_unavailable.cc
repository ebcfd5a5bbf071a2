// OpenS3Source for builds without libcurl (the static Lambda package).
#include "load/s3_source.h"

namespace rowcache {

Result<std::unique_ptr<ByteSource>> OpenS3Source(const std::string& url, const S3Options&) {
  return Status::InvalidArgument("'" + url +
                                 "': this build of rowcache cannot read from S3 (the static Lambda package has no "
                                 "libcurl); use a regular build, or --aurora-native to have Aurora read the object");
}

}  // namespace rowcache
