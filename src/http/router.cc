#include "http/router.h"

namespace rowcache {

namespace http = boost::beast::http;

std::string_view PathOf(std::string_view target) {
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  return target;
}

std::string ErrorJson(int status, std::string_view msg) {
  std::string body = "{\"statusCode\": " + std::to_string(status) + ", \"body\": {\"error\": ";
  AppendJsonString(body, msg);
  body += "}}";
  return body;
}

HttpResponse Router::Respond(const HttpRequest& req, std::optional<Response> answered, bool authorized,
                             const Request* parsed) const {
  HttpResponse res;
  res.version(req.version());
  res.set(http::field::server, "rowcache");
  res.set(http::field::content_type, "application/json");
  std::string_view target = PathOf(std::string_view(req.target().data(), req.target().size()));
  if (!authorized) {
    res.result(http::status::unauthorized);
    res.set(http::field::www_authenticate, "Bearer");
    res.body() = ErrorJson(401, req.find(http::field::authorization) == req.end()
                                    ? "authentication required: send Authorization: Bearer <token>"
                                    : "the bearer token is not valid");
    return res;
  }

  auto method_not_allowed = [&](const char* allow) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, allow);
    res.body() = ErrorJson(405, std::string(req.method_string()) + " is not allowed on " +
                                    std::string(target) + " (allowed: " + allow + ")");
  };
  if (target == "/") {
    if (req.method() != http::verb::post) {
      method_not_allowed("POST");
    } else {
      Response r = answered ? std::move(*answered) : backend_.handle(req.body(), parsed);
      if (std::string line = ErrorLogLine(r); !line.empty() && backend_.log) backend_.log(line);
      res.result(static_cast<http::status>(r.status));
      res.body() = std::move(r.body);
    }
  } else if (target == "/healthz") {
    if (req.method() != http::verb::get) {
      method_not_allowed("GET");
    } else {
      HealthAnswer h = backend_.health();
      res.result(static_cast<http::status>(h.http_status));
      res.body() = std::move(h.body);
    }
  } else if (target == "/metrics") {
    if (req.method() != http::verb::get) {
      method_not_allowed("GET");
    } else {
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = backend_.metrics();
    }
  } else {
    res.result(http::status::not_found);
    res.body() = ErrorJson(404, "no such path: " + std::string(target).substr(0, 100) +
                                    " (POST / for requests, GET /healthz, GET /metrics)");
  }
  return res;
}

}  // namespace rowcache
