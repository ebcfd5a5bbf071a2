#include "net/http_client.h"

#include <boost/beast/http.hpp>
#include <cctype>
#include <limits>
#include <sstream>

namespace rowcache {

namespace http = boost::beast::http;

HttpClient::HttpClient(std::string host, int port, TlsOptions tls, size_t max_body_bytes)
    : host_(std::move(host)), port_(port), tls_(std::move(tls)), max_body_bytes_(max_body_bytes) {}

Result<HttpResponse> HttpClient::Do(const HttpRequest& req, Deadline deadline, const BodySink* sink) {
  if (conn_ && !conn_->IdleAndOpen()) conn_.reset();
  bool reused = conn_ != nullptr;
  bool delivered = false;
  auto r = Exchange(req, deadline, sink, &delivered);
  if (!r.ok() && reused && !conn_ && !delivered) {
    // The kept connection failed; one more try on a new one.
    r = Exchange(req, deadline, sink, &delivered);
  }
  return r;
}

Result<HttpResponse> HttpClient::Exchange(const HttpRequest& req, Deadline deadline, const BodySink* sink,
                                          bool* delivered) {
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

  // One parse loop for both ways of taking a body: buffer_body hands the
  // parsed body bytes out in pieces of at most sizeof piece.
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // bounded below, per destination
  parser.header_limit(kMaxResponseHead);
  HttpResponse resp;
  bool streaming = false;
  std::string buf;  // received, not yet parsed
  char chunk[16384], piece[16384];
  auto fail = [&](Status st) -> Result<HttpResponse> {
    conn_.reset();
    return st;
  };
  for (;;) {
    if (!buf.empty()) {
      bool body_ready = parser.is_header_done();
      if (body_ready) {
        parser.get().body().data = piece;
        parser.get().body().size = sizeof piece;
      }
      boost::beast::error_code ec;
      size_t used = parser.put(boost::asio::buffer(buf), ec);
      buf.erase(0, used);
      if (ec == http::error::need_buffer) ec = {};
      if (ec == http::error::header_limit) {
        return fail(Status::Unavailable("bad response from " + host_ + ": header over " +
                                        std::to_string(kMaxResponseHead) + " bytes"));
      }
      if (ec && ec != http::error::need_more) {
        return fail(Status::Unavailable("bad response from " + host_ + ": " + ec.message()));
      }
      if (!body_ready && parser.is_header_done()) {
        const auto& head = parser.get();
        resp.status = static_cast<int>(head.result_int());
        for (const auto& f : head) {
          std::string name(f.name_string());
          for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          resp.headers[name] = std::string(f.value());
        }
        streaming = sink && resp.status >= 200 && resp.status < 300;
      }
      if (body_ready) {
        size_t n = sizeof piece - parser.get().body().size;
        if (n > 0 && streaming) {
          *delivered = true;
          Status st = sink->on_body(std::string_view(piece, n));
          if (!st.ok()) return fail(st);
        } else if (n > 0) {
          if (resp.body.size() + n > max_body_bytes_) {
            return fail(Status::Unavailable("response from " + host_ + " over " + std::to_string(max_body_bytes_) +
                                            " bytes"));
          }
          resp.body.append(piece, n);
        }
      }
      if (parser.is_done()) break;
      if (used > 0 && !buf.empty()) continue;
      if (buf.size() >= kMaxResponseHead) {
        // Not consumed: a status line and header, a chunk header line or a
        // trailer that does not end (Beast 1.81 bounds only the first).
        return fail(Status::Unavailable("bad response from " + host_ + ": " +
                                        (parser.is_header_done() ? "chunk header or trailer" : "header") +
                                        " over " + std::to_string(kMaxResponseHead) + " bytes"));
      }
    }
    Deadline wait = streaming ? std::chrono::steady_clock::now() + sink->stall_timeout : deadline;
    auto got = conn_->ReadSome(chunk, sizeof chunk, wait);
    if (!got.ok()) {
      if (parser.is_header_done() && parser.need_eof() && buf.empty()) {
        // A body delimited by the end of the connection.
        boost::beast::error_code ec;
        parser.put_eof(ec);
        if (!ec && parser.is_done()) {
          conn_.reset();
          return resp;
        }
      }
      return fail(Status::Unavailable("response from " + host_ + ": " + got.status().message()));
    }
    buf.append(chunk, *got);
  }
  if (!parser.get().keep_alive()) conn_.reset();
  return resp;
}

}  // namespace rowcache
