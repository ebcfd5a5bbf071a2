#include "http/framing.h"

#include <boost/asio/error.hpp>
#include <cctype>

namespace rowcache {

namespace http = boost::beast::http;

namespace {

// Whether the unparsed bytes of a chunked body are the last chunk (size 0)
// with its line complete, i.e. the parser is waiting for the end of the trailer.
bool InTrailer(std::string_view pending) {
  if (pending.substr(0, 2) == "\r\n") pending.remove_prefix(2);
  size_t digits = 0;
  while (digits < pending.size() && pending[digits] == '0') ++digits;
  if (digits == 0 || digits == pending.size() || std::isxdigit(static_cast<unsigned char>(pending[digits]))) {
    return false;
  }
  return pending.find("\r\n", digits) != std::string_view::npos;
}

}  // namespace

void ApplyRequestLimits(RequestParser& parser, size_t max_body_bytes) {
  parser.body_limit(max_body_bytes);
  parser.header_limit(kMaxRequestHead);
}

std::string_view BufferText(const boost::beast::flat_buffer& b) {
  auto d = b.data();
  return {static_cast<const char*>(d.data()), d.size()};
}

std::optional<Refusal> RefusalFor(const boost::beast::error_code& ec, bool header_done,
                                  std::string_view unparsed, size_t max_body_bytes) {
  namespace aerr = boost::asio::error;
  const std::string limit = ": larger than the limit of " + std::to_string(kMaxRequestHead) + " bytes";
  if (ec == http::error::body_limit) {
    return Refusal{Refusal::Kind::kBodyTooLarge, 413,
                   "request body: larger than the limit of " + std::to_string(max_body_bytes) + " bytes"};
  }
  bool overflow = ec == http::error::buffer_overflow;
  if (ec == http::error::header_limit || (overflow && !header_done)) {
    return Refusal{Refusal::Kind::kHeadTooLarge, 431, "request line and header" + limit};
  }
  if (overflow && InTrailer(unparsed))
    return Refusal{Refusal::Kind::kHeadTooLarge, 431, "request trailer" + limit};
  if (overflow) return Refusal{Refusal::Kind::kBadRequest, 400, "chunk header" + limit};
  if (ec == http::error::end_of_stream || ec == aerr::operation_aborted || ec == aerr::connection_reset ||
      ec == aerr::eof || ec == aerr::bad_descriptor) {
    return std::nullopt;
  }
  return Refusal{Refusal::Kind::kBadRequest, 400, "malformed HTTP request: " + ec.message()};
}

}  // namespace rowcache
