// A minimal HTTP/1.1 client over Transport (plain TCP or TLS), for the two
// services the Lambda front door talks to: the Lambda Runtime API (plain HTTP
// on a local address, one keep-alive connection) and Secrets Manager (HTTPS).
// Requests are serialized and responses parsed by Boost.Beast.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "net/transport.h"
#include "rowcache/status.h"

namespace rowcache {

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  std::map<std::string, std::string> headers;  // Host and Content-Length are added
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpClient {
 public:
  // host:port; tls.enabled for https.
  HttpClient(std::string host, int port, TlsOptions tls = {}, size_t max_body_bytes = 16 << 20);

  // Sends the request on the kept-alive connection (connecting if needed) and
  // reads the whole response before the deadline (Deadline::max(): none).
  // A kept connection that turns out closed is replaced once, before anything
  // was written to it.
  Result<HttpResponse> Do(const HttpRequest& req, Deadline deadline);

 private:
  Result<HttpResponse> Exchange(const HttpRequest& req, Deadline deadline);

  std::string host_;
  int port_;
  TlsOptions tls_;
  size_t max_body_bytes_;
  std::unique_ptr<Transport> conn_;
};

}  // namespace rowcache
