// ParseTrackingMessage: the shapes Redis sends on the invalidation channel,
// and everything else (what a client that may PUBLISH to it can send, or a
// broken peer) classified as malformed, never a crash.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>

#include "redis/resp.h"
#include "redis/tracking.h"

namespace rowcache {
namespace {

using Kind = redis::TrackingMessage::Kind;

// The reply the RESP bytes hold (null if incomplete or not RESP).
Reply Parse(const std::string& wire) {
  redisReader* reader = redisReaderCreate();
  void* r = nullptr;
  if (redisReaderFeed(reader, wire.data(), wire.size()) != REDIS_OK ||
      redisReaderGetReply(reader, &r) != REDIS_OK) {
    r = nullptr;
  }
  redisReaderFree(reader);
  return Reply(static_cast<redisReply*>(r));
}

std::string B(std::string_view s) {
  std::string out;
  AppendBulk(out, s);
  return out;
}
std::string A(size_t n) {
  std::string out;
  AppendArrayHeader(out, n);
  return out;
}
std::string Message(const std::string& payload) {
  return A(3) + B("message") + B("__redis__:invalidate") + payload;
}

TEST(TrackingMessage, TheShapesRedisSends) {
  auto inv = Parse(Message(A(2) + B("p{1}") + B("p{2}")));
  ASSERT_TRUE(inv);
  auto m = redis::ParseTrackingMessage(inv.get());
  EXPECT_EQ(m.kind, Kind::kInvalidate);
  ASSERT_EQ(m.keys.size(), 2u);
  EXPECT_EQ(m.keys[0], "p{1}");
  EXPECT_EQ(m.keys[1], "p{2}");
  auto flush = Parse(Message("$-1\r\n"));
  EXPECT_EQ(redis::ParseTrackingMessage(flush.get()).kind, Kind::kFlush);
  auto flush_array = Parse(Message("*-1\r\n"));
  EXPECT_EQ(redis::ParseTrackingMessage(flush_array.get()).kind, Kind::kFlush);
  auto pong = Parse(A(2) + B("pong") + B(""));
  EXPECT_EQ(redis::ParseTrackingMessage(pong.get()).kind, Kind::kPong);
  auto sub = Parse(A(3) + B("subscribe") + B("__redis__:invalidate") + ":1\r\n");
  EXPECT_EQ(redis::ParseTrackingMessage(sub.get()).kind, Kind::kOther);
}

TEST(TrackingMessage, AnythingElseIsMalformed) {
  const std::string cases[] = {
      Message(B("p{1}")),                    // PUBLISH __redis__:invalidate p{1}: a string, never from Redis
      Message(B("")),                        // an empty PUBLISH
      Message(":5\r\n"),                     // an integer payload
      Message(A(2) + B("p{1}") + ":7\r\n"),  // a key that is not a string
      Message(A(1) + A(1) + B("x")),         // a nested array
      A(3) + B("message") + B("other") + A(0),                          // another channel
      A(2) + B("message") + B("__redis__:invalidate"),                  // too short
      A(4) + B("message") + B("__redis__:invalidate") + A(0) + B("c"),  // too long
      A(3) + ":1\r\n:2\r\n:3\r\n",                                      // not a kind
      A(3) + B("pong") + B("") + B(""),                                 // a pong of three
      A(2) + B("pmessage") + B(""),                                     // a kind we never subscribe to
      A(0),
      A(1) + B("pong"),
      B("message"),
      ":1\r\n",
      "+OK\r\n",
      "-ERR no\r\n",
      "$-1\r\n",
  };
  for (const auto& wire : cases) {
    auto r = Parse(wire);
    ASSERT_TRUE(r) << wire;
    auto m = redis::ParseTrackingMessage(r.get());
    EXPECT_EQ(m.kind, Kind::kMalformed) << wire;
    EXPECT_TRUE(m.keys.empty()) << wire;
  }
  EXPECT_EQ(redis::ParseTrackingMessage(nullptr).kind, Kind::kMalformed);
}

}  // namespace
}  // namespace rowcache
