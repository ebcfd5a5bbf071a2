#include "aws/client.h"

#include "rowcache/url.h"

namespace rowcache {

AwsClient::AwsClient(HttpClient http, std::string host_header, std::string service, std::string region,
                     AwsCredentials creds)
    : http_(std::move(http)),
      host_header_(std::move(host_header)),
      service_(std::move(service)),
      region_(std::move(region)),
      creds_(std::move(creds)) {}

Result<std::unique_ptr<AwsClient>> AwsClient::Open(const std::string& endpoint, std::string service,
                                                   std::string region, AwsCredentials creds,
                                                   size_t max_body_bytes) {
  if (creds.access_key.empty() || creds.secret_key.empty()) {
    return Status::InvalidArgument(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        "(and AWS_SESSION_TOKEN for temporary credentials)");
  }
  auto url = ParseUrl(endpoint);
  if (!url.ok() || url->host.empty() || (url->scheme != "https" && url->scheme != "http")) {
    return Status::InvalidArgument(service + " endpoint '" + RedactUrlText(endpoint) +
                                   "': expected https://HOST[:PORT] or http://HOST:PORT");
  }
  TlsOptions tls;
  tls.enabled = url->scheme == "https";
  int port = url->port ? url->port : (tls.enabled ? 443 : 80);
  // As HttpClient writes it: the port only when it is not the scheme's default.
  bool default_port = port == (tls.enabled ? 443 : 80);
  std::string host_header = default_port ? url->host : url->host + ":" + std::to_string(port);
  HttpClient http(url->host, port, tls, max_body_bytes);
  return std::unique_ptr<AwsClient>(new AwsClient(std::move(http), std::move(host_header), std::move(service),
                                                  std::move(region), std::move(creds)));
}

Result<HttpResponse> AwsClient::Call(const AwsRequest& req, Deadline deadline, const BodySink* sink) {
  std::string date = AmzDateNow();
  std::string payload_hash = Sha256Hex(req.body);
  std::map<std::string, std::string> signed_headers = req.headers;
  signed_headers["host"] = host_header_;
  signed_headers["x-amz-content-sha256"] = payload_hash;
  signed_headers["x-amz-date"] = date;
  if (!creds_.session_token.empty()) signed_headers["x-amz-security-token"] = creds_.session_token;
  HttpRequest out;
  out.method = req.method;
  out.target = req.query.empty() ? req.path : req.path + "?" + req.query;
  out.body = req.body;
  for (const auto& [k, v] : signed_headers) {
    if (k != "host") out.headers[k] = v;
  }
  out.headers["authorization"] =
      SignV4(creds_, region_, service_, req.method, req.path, req.query, signed_headers, payload_hash, date);
  return http_.Do(out, deadline, sink);
}

}  // namespace rowcache
