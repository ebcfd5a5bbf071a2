// The one client for AWS API calls: a request signed with Signature Version 4
// (aws/sigv4.h) and sent over HTTPS (net/http_client.h, verified against the
// system's CA store). S3 (aws/s3_source.h) and Secrets Manager
// (aws/secrets.h) are thin callers of it.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "aws/sigv4.h"
#include "net/http_client.h"
#include "rowcache/status.h"

namespace rowcache {

struct AwsRequest {
  std::string method = "GET";
  std::string path = "/";                      // already URI-encoded (UriEncode)
  std::string query;                           // canonical: sorted, encoded; "" for none
  std::map<std::string, std::string> headers;  // lower-case names; signed with the rest
  std::string body;
};

class AwsClient {
 public:
  // endpoint: "https://host[:port]" (AWS), or "http://host:port" for a local
  // stand-in or an S3-compatible store; a path after the host is ignored.
  // InvalidArgument for anything else or for missing credentials.
  static Result<std::unique_ptr<AwsClient>> Open(const std::string& endpoint, std::string service,
                                                 std::string region, AwsCredentials creds,
                                                 size_t max_body_bytes = 1 << 20);

  // Signs (host, x-amz-date, x-amz-content-sha256, the session token and every
  // header of req) and sends the request on a kept-alive connection; see
  // HttpClient::Do for the deadline and the sink. Unavailable on a network
  // failure; an HTTP error status is returned as a response, for the caller
  // to name.
  Result<HttpResponse> Call(const AwsRequest& req, Deadline deadline, const BodySink* sink = nullptr);

  const std::string& host_header() const { return host_header_; }

 private:
  AwsClient(HttpClient http, std::string host_header, std::string service, std::string region,
            AwsCredentials creds);

  HttpClient http_;
  std::string host_header_;
  std::string service_, region_;
  AwsCredentials creds_;
};

}  // namespace rowcache
