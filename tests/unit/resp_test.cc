#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "redis/resp.h"

namespace rowcache {
namespace {

TEST(Resp, EncodesBinarySafeCommands) {
  std::string out;
  AppendCommand(out, {"SET", "k", std::string_view("a\r\n\0b", 5)});
  EXPECT_EQ(out, std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\n\0b\r\n", 31));
  out.clear();
  AppendArrayHeader(out, 2);
  AppendBulk(out, "");
  AppendBulk(out, "\xF0\x9F\x98\x80");
  EXPECT_EQ(out, "*2\r\n$0\r\n\r\n$4\r\n\xF0\x9F\x98\x80\r\n");
}

TEST(Resp, ReaderParsesSplitReplies) {
  // What a server sends for MGET k1 k2: one hit, one nil, fed byte by byte.
  std::string wire = "*2\r\n$5\r\nhe\r\nl\r\n$-1\r\n";
  redisReader* r = redisReaderCreate();
  void* reply = nullptr;
  for (char ch : wire) {
    ASSERT_EQ(redisReaderGetReply(r, &reply), REDIS_OK);
    ASSERT_EQ(reply, nullptr);
    redisReaderFeed(r, &ch, 1);
  }
  ASSERT_EQ(redisReaderGetReply(r, &reply), REDIS_OK);
  ASSERT_NE(reply, nullptr);
  auto* rep = static_cast<redisReply*>(reply);
  ASSERT_EQ(rep->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(rep->elements, 2u);
  EXPECT_EQ(std::string(rep->element[0]->str, rep->element[0]->len), "he\r\nl");
  EXPECT_EQ(rep->element[1]->type, REDIS_REPLY_NIL);
  freeReplyObject(reply);
  redisReaderFree(r);
}

}  // namespace
}  // namespace rowcache
