// libFuzzer target: any bytes as a Redis peer's replies, through the bounded
// reply reader (redis/resp.h) in pieces whose sizes the input also chooses.
// Nothing may crash or allocate past the bounds (ASan/UBSan, -rss_limit_mb),
// and every reply it hands out must be within them.
#include <hiredis/hiredis.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "redis/resp.h"
#include "replies.h"

namespace {

// Elements in r's arrays (all levels), checking depth and bulk lengths.
int64_t Check(const redisReply* r, int depth) {
  if (r->type == REDIS_REPLY_STRING && r->len > static_cast<size_t>(rowcache::kMaxBulkBytes)) std::abort();
  if (r->type != REDIS_REPLY_ARRAY) return 0;
  if (depth > rowcache::kMaxReplyDepth) std::abort();
  int64_t n = static_cast<int64_t>(r->elements);
  for (size_t i = 0; i < r->elements; ++i) n += Check(r->element[i], depth + 1);
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rowcache::ReplyReader reader;
  ForEachReply(data, size, reader, [](const redisReply* r) {
    if (Check(r, 1) > rowcache::kMaxReplyElements) std::abort();
  });
  if (reader.failed() && reader.error().rfind("protocol error: ", 0) != 0) {
    std::fprintf(stderr, "unexpected error text: %s\n", reader.error().c_str());
    std::abort();
  }
  return 0;
}
