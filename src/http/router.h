// The HTTP front door's routes as a plain function: a request in, a response
// out, no I/O (the server around it reads and writes; src/http/server.h).
//
//   POST /          the Service's answer to the body (or the fast read path's
//                   answer found before), its statusCode as the HTTP status
//   GET  /healthz   the background probe's answer (src/http/health_probe.h)
//   GET  /metrics   Prometheus text (src/http/metrics_page.h)
//   other methods   405 with Allow; other paths 404
//
// A request that is not authorized (src/http/auth.h decides) is answered 401
// with WWW-Authenticate: Bearer. Every answer but /metrics is JSON.
#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "http/health_probe.h"
#include "rowcache/service.h"

namespace rowcache {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// A request target without its query ("/metrics?x" -> "/metrics").
std::string_view PathOf(std::string_view target);

// The server's own error document: {"statusCode": N, "body": {"error": msg}}.
std::string ErrorJson(int status, std::string_view msg);

class Router {
 public:
  // What the routes answer from (the Service and the server in production,
  // fakes in tests). All are called on the thread that calls Respond.
  struct Backend {
    // POST /: the answer to the body; parsed is the body as the session
    // parsed it (then not parsed again), or null.
    std::function<Response(std::string_view body, const Request* parsed)> handle;
    std::function<HealthAnswer()> health;  // GET /healthz
    std::function<std::string()> metrics;  // GET /metrics
    // A POST answer's error log line (ErrorLogLine: a 5xx's details), when
    // there is one.
    std::function<void(const std::string& line)> log;
  };

  explicit Router(Backend backend) : backend_(std::move(backend)) {}

  // The response to req, without keep-alive or Content-Length (the server
  // adds them). answered: POST /'s answer if already found (the fast read
  // path), else backend.handle's. Not authorized: 401.
  HttpResponse Respond(const HttpRequest& req, std::optional<Response> answered = std::nullopt,
                       bool authorized = true, const Request* parsed = nullptr) const;

 private:
  Backend backend_;
};

}  // namespace rowcache
