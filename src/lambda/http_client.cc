#include "lambda/http_client.h"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <sstream>

namespace rowcache {

namespace http = boost::beast::http;

HttpClient::HttpClient(std::string host, int port, TlsOptions tls, size_t max_body_bytes)
    : host_(std::move(host)), port_(port), tls_(std::move(tls)), max_body_bytes_(max_body_bytes) {}

Result<HttpResponse> HttpClient::Do(const HttpRequest& req, Deadline deadline) {
  if (conn_ && !conn_->IdleAndOpen()) conn_.reset();
  bool reused = conn_ != nullptr;
  auto r = Exchange(req, deadline);
  if (!r.ok() && reused && !conn_) {
    // The kept connection failed; one more try on a new one.
    r = Exchange(req, deadline);
  }
  return r;
}

Result<HttpResponse> HttpClient::Exchange(const HttpRequest& req, Deadline deadline) {
  if (!conn_) {
    auto c = ConnectTransport(host_, port_, tls_, deadline);
    if (!c.ok()) return Status::Unavailable("connect to " + host_ + ":" + std::to_string(port_) + ": " +
                                            c.status().message());
    conn_ = std::move(c.value());
  }
  http::request<http::string_body> out;
  out.version(11);
  out.method_string(req.method);
  out.target(req.target);
  bool default_port = (tls_.enabled && port_ == 443) || (!tls_.enabled && port_ == 80);
  out.set(http::field::host, default_port ? host_ : host_ + ":" + std::to_string(port_));
  for (const auto& [k, v] : req.headers) out.set(k, v);
  out.body() = req.body;
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT") out.prepare_payload();
  std::ostringstream text;
  text << out;
  std::string wire = text.str();

  Status s = conn_->WriteAll(wire.data(), wire.size(), deadline);
  if (!s.ok()) {
    conn_.reset();
    return Status::Unavailable("send to " + host_ + ": " + s.message());
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body_bytes_);
  parser.eager(true);
  std::string buf;
  char chunk[16384];
  for (;;) {
    if (!buf.empty()) {
      boost::beast::error_code ec;
      size_t used = parser.put(boost::asio::buffer(buf), ec);
      buf.erase(0, used);
      if (ec && ec != http::error::need_more) {
        conn_.reset();
        return Status::Unavailable("bad response from " + host_ + ": " + ec.message());
      }
      if (parser.is_done()) break;
      if (used > 0 && !buf.empty()) continue;
    }
    auto got = conn_->ReadSome(chunk, sizeof chunk, deadline);
    if (!got.ok()) {
      conn_.reset();
      return Status::Unavailable("response from " + host_ + ": " + got.status().message());
    }
    buf.append(chunk, *got);
  }
  auto& msg = parser.get();
  HttpResponse resp;
  resp.status = static_cast<int>(msg.result_int());
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    resp.headers[name] = std::string(f.value());
  }
  resp.body = std::move(msg.body());
  if (!msg.keep_alive()) conn_.reset();
  return resp;
}

}  // namespace rowcache
