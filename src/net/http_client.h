// A minimal HTTP/1.1 client over Transport (plain TCP or TLS), for the
// services rowcache calls itself: the Lambda Runtime API (plain HTTP on a
// local address, one keep-alive connection) and AWS (HTTPS, through
// aws/client.h: S3 and Secrets Manager). Requests are serialized and responses
// parsed by Boost.Beast; a response body is either collected (bounded) or
// handed to a sink as it arrives, so an object of any size streams in bounded
// memory.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

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
  // The body; empty when a sink took it (a 2xx streamed response).
  std::string body;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// How a streamed response body is delivered.
struct BodySink {
  // Called with each piece of a 2xx response's body, in order. A non-OK status
  // stops the transfer (the connection is closed) and is returned by Do.
  // Non-2xx bodies (error documents) are collected into HttpResponse::body
  // instead, up to the client's body limit.
  std::function<Status(std::string_view piece)> on_body;
  // The longest wait for the next bytes once the head has arrived (a stalled
  // transfer fails with Unavailable); the request's deadline covers the head.
  std::chrono::milliseconds stall_timeout{30000};
};

// The most bytes of a response that may wait unparsed: its status line and
// header together, one chunk header line (size and extensions), or the
// trailer. Past it Do fails with Unavailable ("bad response ... over N
// bytes") and the connection is closed; a body is bounded by the client's
// max_body_bytes (or by the sink).
inline constexpr size_t kMaxResponseHead = 64 * 1024;

// One response parsed from bytes as they arrive, without I/O (HttpClient
// feeds it from its connection; tests/fuzz/http_response_fuzz.cc from bytes).
// The head and every chunk header line and trailer are bounded by
// kMaxResponseHead; a 2xx body goes to the sink if one is given, any other
// body into response().body, at most max_body_bytes. Errors are Unavailable
// ("bad response from HOST: ..."); after one the parser must not be fed.
class HttpResponseParser {
 public:
  HttpResponseParser(std::string host, size_t max_body_bytes, const BodySink* sink);
  ~HttpResponseParser();
  HttpResponseParser(const HttpResponseParser&) = delete;
  HttpResponseParser& operator=(const HttpResponseParser&) = delete;

  // Parses what it can of bytes (the rest is kept for the next call).
  Status Feed(std::string_view bytes);
  // The connection ended: true if that completes the response (a body
  // delimited by the end of the connection).
  bool FeedEof();
  bool done() const;
  // Whether the body is being streamed to the sink (a 2xx with a sink), and
  // whether any of it was delivered.
  bool streaming() const { return streaming_; }
  bool delivered() const { return delivered_; }
  // Whether the connection may be kept (valid once done()).
  bool keep_alive() const;
  // Bytes received and not yet parsed.
  size_t unparsed() const { return buf_.size(); }
  HttpResponse& response() { return resp_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string host_;
  size_t max_body_bytes_;
  const BodySink* sink_;
  HttpResponse resp_;
  std::string buf_;
  bool streaming_ = false, delivered_ = false;
};

class HttpClient {
 public:
  // host:port; tls.enabled for https. max_body_bytes bounds a collected body.
  HttpClient(std::string host, int port, TlsOptions tls = {}, size_t max_body_bytes = 16 << 20);

  // Sends the request on the kept-alive connection (connecting if needed) and
  // reads the whole response before the deadline (Deadline::max(): none).
  // A kept connection that turns out closed is replaced once, before anything
  // was written to it. With a sink, a 2xx body goes to the sink as it arrives
  // (no overall deadline for the body, only sink->stall_timeout between reads);
  // a connection is then not retried once any body byte was delivered.
  Result<HttpResponse> Do(const HttpRequest& req, Deadline deadline, const BodySink* sink = nullptr);

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  bool tls() const { return tls_.enabled; }

 private:
  Result<HttpResponse> Exchange(const HttpRequest& req, Deadline deadline, const BodySink* sink,
                                bool* delivered);

  std::string host_;
  int port_;
  TlsOptions tls_;
  size_t max_body_bytes_;
  std::unique_ptr<Transport> conn_;
};

}  // namespace rowcache
