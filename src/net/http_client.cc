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
    if (!c.ok())
      return Status::Unavailable("connect to " + host_ + ":" + std::to_string(port_) + ": " +
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

  HttpResponseParser parser(host_, max_body_bytes_, sink);
  auto fail = [&](Status st) -> Result<HttpResponse> {
    conn_.reset();
    return st;
  };
  char chunk[16384];
  while (!parser.done()) {
    Deadline wait = parser.streaming() ? std::chrono::steady_clock::now() + sink->stall_timeout : deadline;
    auto got = conn_->ReadSome(chunk, sizeof chunk, wait);
    if (!got.ok()) {
      if (parser.FeedEof()) {
        conn_.reset();
        return std::move(parser.response());
      }
      return fail(Status::Unavailable("response from " + host_ + ": " + got.status().message()));
    }
    Status st = parser.Feed(std::string_view(chunk, *got));
    *delivered = *delivered || parser.delivered();
    if (!st.ok()) return fail(st);
  }
  if (!parser.keep_alive()) conn_.reset();
  return std::move(parser.response());
}

struct HttpResponseParser::Impl {
  http::response_parser<http::buffer_body> parser;
};

HttpResponseParser::HttpResponseParser(std::string host, size_t max_body_bytes, const BodySink* sink)
    : impl_(std::make_unique<Impl>()), host_(std::move(host)), max_body_bytes_(max_body_bytes), sink_(sink) {
  impl_->parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // bounded below
  impl_->parser.header_limit(kMaxResponseHead);
}

HttpResponseParser::~HttpResponseParser() = default;

bool HttpResponseParser::done() const { return impl_->parser.is_done(); }

bool HttpResponseParser::keep_alive() const { return impl_->parser.get().keep_alive(); }

Status HttpResponseParser::Feed(std::string_view bytes) {
  auto& parser = impl_->parser;
  auto bad = [&](const std::string& what) {
    return Status::Unavailable("bad response from " + host_ + ": " + what);
  };
  buf_.append(bytes);
  // One parse loop for both ways of taking a body: buffer_body hands the
  // parsed body bytes out in pieces of at most sizeof piece.
  char piece[16384];
  while (!buf_.empty() && !parser.is_done()) {
    bool body_ready = parser.is_header_done();
    if (body_ready) {
      parser.get().body().data = piece;
      parser.get().body().size = sizeof piece;
    }
    boost::beast::error_code ec;
    size_t used = parser.put(boost::asio::buffer(buf_), ec);
    buf_.erase(0, used);
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::header_limit)
      return bad("header over " + std::to_string(kMaxResponseHead) + " bytes");
    if (ec && ec != http::error::need_more) return bad(ec.message());
    if (!body_ready && parser.is_header_done()) {
      const auto& head = parser.get();
      resp_.status = static_cast<int>(head.result_int());
      for (const auto& f : head) {
        std::string name(f.name_string());
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        resp_.headers[name] = std::string(f.value());
      }
      streaming_ = sink_ && resp_.status >= 200 && resp_.status < 300;
    }
    if (body_ready) {
      size_t n = sizeof piece - parser.get().body().size;
      if (n > 0 && streaming_) {
        delivered_ = true;
        Status st = sink_->on_body(std::string_view(piece, n));
        if (!st.ok()) return st;
      } else if (n > 0) {
        if (resp_.body.size() + n > max_body_bytes_) {
          return Status::Unavailable("response from " + host_ + " over " + std::to_string(max_body_bytes_) +
                                     " bytes");
        }
        resp_.body.append(piece, n);
      }
    }
    if (used == 0 || ec == http::error::need_more) break;
  }
  if (!parser.is_done() && buf_.size() >= kMaxResponseHead) {
    // Not consumed: a status line and header, a chunk header line or a
    // trailer that does not end (Beast 1.81 bounds only the first).
    return bad(std::string(parser.is_header_done() ? "chunk header or trailer" : "header") + " over " +
               std::to_string(kMaxResponseHead) + " bytes");
  }
  return Status::OK();
}

bool HttpResponseParser::FeedEof() {
  auto& parser = impl_->parser;
  if (!parser.is_header_done() || !parser.need_eof() || !buf_.empty()) return false;
  boost::beast::error_code ec;
  parser.put_eof(ec);
  return !ec && parser.is_done();
}

}  // namespace rowcache
