// libFuzzer target: any bytes as an HTTP response from a peer (S3, Secrets
// Manager, the Lambda Runtime API), parsed by the client's parser
// (HttpResponseParser, src/net/http_client.h) in reads whose size the input
// chooses, with or without a streaming sink, and a repeat of the input's
// tail so that lines past the bounds are reachable. Checked: the unparsed
// bytes stay within kMaxResponseHead (plus one read), a collected body
// within its limit, and nothing crashes (ASan/UBSan).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_support.h"
#include "net/http_client.h"

namespace {

constexpr size_t kMaxBody = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t read_size = 1 + (data[0] & 0x7F) * 128;
  bool with_sink = data[0] & 0x80;
  std::string in = rowcache::fuzz::WithRepeatedTail(data + 2, size - 2, data[1]);
  size_t streamed = 0;
  rowcache::BodySink sink;
  sink.on_body = [&](std::string_view piece) {
    streamed += piece.size();
    return rowcache::Status::OK();
  };
  rowcache::HttpResponseParser p("peer", kMaxBody, with_sink ? &sink : nullptr);
  for (size_t pos = 0; pos < in.size() && !p.done();) {
    size_t n = std::min(read_size, in.size() - pos);
    rowcache::Status s = p.Feed(std::string_view(in).substr(pos, n));
    pos += n;
    if (!s.ok()) return 0;
    rowcache::fuzz::Check(p.unparsed() <= rowcache::kMaxResponseHead + read_size,
                          "unparsed bytes within kMaxResponseHead");
    rowcache::fuzz::Check(p.response().body.size() <= kMaxBody, "collected body within its limit");
  }
  if (!p.done()) (void)p.FeedEof();
  return 0;
}
