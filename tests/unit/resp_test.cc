#include "redis/resp.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <string>
#include <vector>

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

// All replies in wire, fed in pieces of `step` bytes; false if the reader failed.
bool ReadAll(const std::string& wire, size_t step, std::vector<Reply>* out, std::string* error = nullptr) {
  ReplyReader r;
  for (size_t i = 0; i < wire.size(); i += step) {
    if (!r.Feed(wire.data() + i, std::min(step, wire.size() - i))) break;
    for (Reply rep; r.Next(&rep) && rep;) out->push_back(std::move(rep));
  }
  if (error) *error = r.error();
  return !r.failed();
}

TEST(ReplyReader, ParsesWhatRedisSendsInAnyPieces) {
  std::string wire =
      "*2\r\n$5\r\nhe\r\nl\r\n$-1\r\n+OK\r\n-ERR x\r\n:42\r\n*-1\r\n*0\r\n$0\r\n\r\n" +
      std::string("*3\r\n*2\r\n:1\r\n*1\r\n$1\r\na\r\n$-1\r\n:7\r\n");  // nested, as CLUSTER SLOTS is
  for (size_t step : {size_t{1}, size_t{2}, size_t{7}, wire.size()}) {
    std::vector<Reply> got;
    ASSERT_TRUE(ReadAll(wire, step, &got)) << step;
    ASSERT_EQ(got.size(), 8u) << step;
    EXPECT_EQ(std::string(got[0]->element[0]->str, got[0]->element[0]->len), "he\r\nl");
    EXPECT_EQ(ReplyError(got[2].get()), "ERR x");
    EXPECT_EQ(got[3]->integer, 42);
    EXPECT_EQ(got[4]->type, REDIS_REPLY_NIL);
    EXPECT_EQ(got[5]->elements, 0u);
    EXPECT_EQ(got[7]->elements, 3u);
    EXPECT_EQ(got[7]->element[0]->element[1]->element[0]->str, std::string("a"));
    EXPECT_EQ(got[7]->element[2]->integer, 7);
  }
  // The largest bulk string allowed.
  std::string big = "$" + std::to_string(kMaxBulkBytes) + "\r\n" + std::string(kMaxBulkBytes, 'x') + "\r\n";
  std::vector<Reply> got;
  ASSERT_TRUE(ReadAll(big, 1 << 16, &got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->len, static_cast<size_t>(kMaxBulkBytes));
}

// What a hostile (or broken) Redis can declare in a few bytes fails at once,
// before anything of that size is allocated or buffered.
TEST(ReplyReader, RefusesRepliesPastTheBounds) {
  std::string deep;
  for (int i = 0; i <= kMaxReplyDepth; ++i) deep += "*1\r\n";
  std::string many_arrays;  // each array small, together too many elements
  for (int i = 0; i < 3; ++i) many_arrays += "*" + std::to_string(kMaxReplyElements / 2) + "\r\n";
  const std::pair<std::string, std::string> cases[] = {
      {"$2147483648\r\n", "past its bounds: a bulk string of 2147483648 bytes"},
      {"$" + std::to_string(kMaxBulkBytes + 1) + "\r\n", "past its bounds: a bulk string"},
      {"*2147483648\r\n", "past its bounds: arrays of 2147483648 elements"},
      {"*9223372036854775807\r\n", "past its bounds: arrays of"},
      {"*2\r\n" + many_arrays, "past its bounds: arrays of"},
      {deep, "past its bounds: arrays nested deeper than"},
      {deep.substr(4) + "*0\r\n", "past its bounds: arrays nested deeper than"},  // found by resp_fuzz
      {"+" + std::string(kMaxReplyLineBytes + 1, 'x'), "past its bounds: a line longer than"},
      {"$99999999999999999999\r\n", "a bad length line"},
      {"$-2\r\n", "a negative length"},
      {"$12x\r\n", "a bad length line"},
      {"*\r\n", "a bad length line"},
      {"\r\n", "an empty line"},
      {"?what\r\n", "an unknown reply type"},
  };
  for (const auto& [wire, why] : cases) {
    std::vector<Reply> got;
    std::string error;
    EXPECT_FALSE(ReadAll(wire, wire.size(), &got, &error)) << wire.substr(0, 40);
    EXPECT_NE(error.find(why), std::string::npos) << error;
    EXPECT_EQ(error.rfind("protocol error: ", 0), 0u) << error;
  }
  // A reply of many bulk strings within each bound, but too many bytes in all.
  ReplyReader r;
  std::string head = "*" + std::to_string(kMaxReplyBytes / kMaxBulkBytes + 1) + "\r\n";
  ASSERT_TRUE(r.Feed(head.data(), head.size()));
  std::string bulk = "$" + std::to_string(kMaxBulkBytes) + "\r\n";
  bool failed = false;
  for (int64_t i = 0; i <= kMaxReplyBytes / kMaxBulkBytes && !failed; ++i) {
    failed = !r.Feed(bulk.data(), bulk.size());
    if (!failed) {
      std::string body(kMaxBulkBytes, 'y');
      body += "\r\n";
      failed = !r.Feed(body.data(), body.size());
    }
  }
  EXPECT_TRUE(failed);
  EXPECT_NE(r.error().find("bytes in one reply"), std::string::npos) << r.error();
  Reply rep;
  EXPECT_FALSE(r.Next(&rep));  // failed for good
}

}  // namespace
}  // namespace rowcache
