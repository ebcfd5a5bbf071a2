// Request framing: the parser the HTTP server reads requests with, its
// bounds, and what the server answers when a read fails. No I/O: the server
// (src/http/server.cc) feeds it from sockets, tests/fuzz/http_framing_fuzz.cc
// from bytes.
//
// Every byte count a client controls is bounded before authentication: the
// request line and header together at kMaxRequestHead (past it: 431), a chunk
// header line (chunk size and extensions) at kMaxRequestHead (400), the
// trailer at kMaxRequestHead (431), the body at the server's max_body_bytes
// (413); each answer closes the connection. The read buffer holds at most
// kMaxRequestHead bytes that the parser has not consumed (Beast 1.81 bounds
// neither chunk header lines nor trailers itself; a full buffer fails the
// read with buffer_overflow, which RefusalFor classifies).
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rowcache {

inline constexpr size_t kMaxRequestHead = 16 * 1024;

// A string body whose memory grows as the bytes arrive. Beast's string_body
// reserves the announced Content-Length up front, so a client announcing a
// large body and sending nothing would hold that much memory until the read
// timeout; this one reserves at most 16 KiB ahead (the parser's body limit
// still refuses a body over max_body_bytes at the header).
struct GrowingStringBody {
  using value_type = std::string;
  static std::uint64_t size(const value_type& v) { return v.size(); }
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}
    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      if (length) body_.reserve(static_cast<size_t>(std::min<std::uint64_t>(*length, 16 * 1024)));
      ec = {};
    }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      size_t n = 0;
      for (auto b : boost::beast::buffers_range_ref(buffers)) {
        body_.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      ec = {};
      return n;
    }
    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

using RequestParser = boost::beast::http::request_parser<GrowingStringBody>;

// A parser with the server's limits (header kMaxRequestHead, body max_body_bytes).
void ApplyRequestLimits(RequestParser& parser, size_t max_body_bytes);

// The read buffer of a connection: at most kMaxRequestHead unparsed bytes.
inline boost::beast::flat_buffer NewRequestBuffer() { return boost::beast::flat_buffer(kMaxRequestHead); }

// What the server answers to a read that failed with ec, having parsed the
// header (header_done) and holding unparsed bytes: 431 (request line,
// header or trailer too large), 413 (body too large) or 400 (a chunk header
// line too large, or malformed), with a message naming the bound; nullopt
// when the connection just ended (end of stream, reset, timeout, closed).
struct Refusal {
  enum class Kind { kHeadTooLarge, kBodyTooLarge, kBadRequest };
  Kind kind;
  int status;  // 431, 413, 400
  std::string message;
};
std::optional<Refusal> RefusalFor(const boost::beast::error_code& ec, bool header_done,
                                  std::string_view unparsed, size_t max_body_bytes);

// The unparsed bytes of a buffer.
std::string_view BufferText(const boost::beast::flat_buffer& b);

}  // namespace rowcache
