// libFuzzer target: any bytes as what a subscriber connection reads on the
// invalidation channel (a hostile Redis, or a client PUBLISHing to
// __redis__:invalidate), through the bounded reply reader and
// ParseTrackingMessage. Nothing may crash (ASan/UBSan), and every message
// classified as an invalidation must be one Redis sends.
#include <hiredis/hiredis.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "redis/resp.h"
#include "redis/tracking.h"
#include "replies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Kind = rowcache::redis::TrackingMessage::Kind;
  rowcache::ReplyReader reader;
  ForEachReply(data, size, reader, [](const redisReply* r) {
    auto m = rowcache::redis::ParseTrackingMessage(r);
    if (m.kind != Kind::kInvalidate && !m.keys.empty()) std::abort();
    if (m.kind != Kind::kInvalidate && m.kind != Kind::kFlush) return;
    // ["message", "__redis__:invalidate", keys | nil]
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) std::abort();
    if (std::string_view(r->element[1]->str, r->element[1]->len) != "__redis__:invalidate") std::abort();
    const redisReply* keys = r->element[2];
    if (m.kind == Kind::kFlush && keys->type != REDIS_REPLY_NIL) std::abort();
    if (m.kind == Kind::kInvalidate && (keys->type != REDIS_REPLY_ARRAY || keys->elements != m.keys.size())) {
      std::abort();
    }
  });
  return 0;
}
