// libFuzzer target: any bytes as what a client sends the HTTP server, read
// the way the server reads them (src/http/framing.h: its parser, limits,
// bounded read buffer and refusals), in reads whose sizes the input also
// chooses (and a repeat of its tail, for lines past the bounds). Requests are read one after another
// (pipelining) until the bytes end or a read fails. Checked: the unparsed bytes never exceed kMaxRequestHead,
// a body never exceeds the body limit, and every failed read is either the end of the connection or a 400,
// 413 or 431.
#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "http/framing.h"

namespace {

constexpr size_t kMaxBody = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = boost::beast::http;
  if (size < 2) return 0;
  // The first byte picks the read size (1 to 256 bytes per read); the second
  // how often the input's last 64 bytes repeat after it (0 to 255 x 64), so
  // that lines longer than the bounds are reachable from short inputs.
  size_t read_size = 1 + data[0];
  std::string in = rowcache::fuzz::WithRepeatedTail(data + 2, size - 2, data[1]);
  auto buf = rowcache::NewRequestBuffer();
  size_t pos = 0;
  for (int requests = 0; requests < 64; ++requests) {
    rowcache::RequestParser parser;
    rowcache::ApplyRequestLimits(parser, kMaxBody);
    boost::beast::error_code ec;
    for (;;) {
      if (buf.size() > 0) {
        buf.consume(parser.put(buf.data(), ec));
        if (ec == http::error::need_more) ec = {};
        if (ec || parser.is_done()) break;
      }
      rowcache::fuzz::Check(buf.size() <= rowcache::kMaxRequestHead, "unparsed bytes within kMaxRequestHead");
      if (pos == in.size()) {
        ec = http::error::end_of_stream;
        break;
      }
      size_t room = buf.max_size() - buf.size();
      if (room == 0) {
        ec = http::error::buffer_overflow;  // what Beast's read reports on a full buffer
        break;
      }
      size_t n = std::min({read_size, room, in.size() - pos});
      std::memcpy(buf.prepare(n).data(), in.data() + pos, n);
      buf.commit(n);
      pos += n;
    }
    if (ec) {
      auto refusal = rowcache::RefusalFor(ec, parser.is_header_done(), rowcache::BufferText(buf), kMaxBody);
      rowcache::fuzz::Check(
          !refusal || refusal->status == 400 || refusal->status == 413 || refusal->status == 431,
          "a refusal is 400, 413 or 431");
      rowcache::fuzz::Check(!refusal || !refusal->message.empty(), "a refusal says why");
      return 0;
    }
    rowcache::fuzz::Check(parser.get().body().size() <= kMaxBody, "body within the limit");
  }
  return 0;
}
