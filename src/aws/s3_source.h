// S3Source: streams an object from S3 (or an S3-compatible store) with a
// signed GET (aws/client.h). A background thread runs the transfer into a
// bounded buffer (8 MiB), so a file of any size loads in bounded memory while
// the rows already read are inserted.
#pragma once

#include <memory>
#include <string>

#include "aws/sigv4.h"
#include "rowcache/byte_source.h"

namespace rowcache {

struct S3Options {
  std::string region = "us-east-1";  // --region
  // --s3-endpoint: e.g. http://127.0.0.1:4569 (path-style requests). Empty:
  // https://<bucket>.s3.<region>.amazonaws.com (virtual-hosted style).
  std::string endpoint;
  AwsCredentials creds;  // from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
  size_t buffer_bytes = 8 << 20;
};

// url: s3://bucket/key. InvalidArgument for a bad URL or missing credentials.
Result<std::unique_ptr<ByteSource>> OpenS3Source(const std::string& url, const S3Options& opts);

}  // namespace rowcache
