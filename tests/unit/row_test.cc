#include "rowcache/row.h"

#include <gtest/gtest.h>

#include "rowcache/url.h"

namespace rowcache {
namespace {

TEST(Row, JsonRoundTripAndExactShape) {
  Row r{1, "yes", "fly", "batman", 100, "black"};
  EXPECT_EQ(RowToJson(r),
            R"({"id": 1, "hero": "yes", "power": "fly", "name": "batman", "xp": 100, "color": "black"})");
  auto back = RowFromJson(RowToJson(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, r);
}

TEST(Row, EscapesControlAndQuoteCharacters) {
  Row r{7, std::string("a\"b\\c\n\x01", 7), "\xF0\x9F\x98\x80", "", -2147483648LL, "\t"};
  std::string j = RowToJson(r);
  EXPECT_NE(j.find(R"("a\"b\\c\n\u0001")"), std::string::npos) << j;
  auto back = RowFromJson(j);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, r);
}

TEST(Row, RejectsForeignValues) {
  EXPECT_FALSE(RowFromJson("garbage"));
  EXPECT_FALSE(RowFromJson("[]"));
  EXPECT_FALSE(RowFromJson(R"({"id": 1})"));
  EXPECT_FALSE(RowFromJson(R"({"id": "1", "hero": "", "power": "", "name": "", "xp": 1, "color": ""})"));
  EXPECT_FALSE(RowFromJson(R"({"id": 0, "hero": "", "power": "", "name": "", "xp": 1, "color": ""})"));
  EXPECT_FALSE(RowFromJson(R"({"id": 1, "hero": "", "power": "", "name": "", "xp": 1, "colour": ""})"));
}

TEST(Utf8Length, CountsCodePointsAndRejectsMalformed) {
  EXPECT_EQ(Utf8Length(""), 0);
  EXPECT_EQ(Utf8Length("abc"), 3);
  EXPECT_EQ(Utf8Length("\xC3\xA9t\xC3\xA9"), 3);
  EXPECT_EQ(Utf8Length("\xF0\x9F\x98\x80\xE2\x82\xAC"), 2);
  EXPECT_EQ(Utf8Length("\xFF"), -1);
  EXPECT_EQ(Utf8Length("\xC3"), -1);              // truncated
  EXPECT_EQ(Utf8Length("\xC0\xAF"), -1);          // overlong
  EXPECT_EQ(Utf8Length("\xED\xA0\x80"), -1);      // surrogate
  EXPECT_EQ(Utf8Length("\xF4\x90\x80\x80"), -1);  // past U+10FFFF
}

TEST(Url, ParsesBackendUrls) {
  auto u = ParseUrl("mysql://user:p%40ss@db.example.com:3307/heroesdb?table=t1&ssl=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "mysql");
  EXPECT_EQ(u->user, "user");
  EXPECT_EQ(u->password, "p@ss");
  EXPECT_EQ(u->host, "db.example.com");
  EXPECT_EQ(u->port, 3307);
  EXPECT_EQ(u->path, "heroesdb");
  EXPECT_EQ(u->query.at("table"), "t1");
  EXPECT_EQ(u->query.at("ssl"), "1");
  EXPECT_EQ(u->Redacted(), "mysql://user:***@db.example.com:3307/heroesdb");

  auto r = ParseUrl("redis://:secret@[::1]:6380/2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->user, "");
  EXPECT_EQ(r->password, "secret");
  EXPECT_EQ(r->host, "::1");
  EXPECT_EQ(r->port, 6380);
  EXPECT_EQ(r->path, "2");

  auto at = ParseUrl("mysql://u:a@b@h/d");
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->password, "a@b");
  EXPECT_EQ(at->host, "h");
  EXPECT_EQ(at->port, 0);

  EXPECT_FALSE(ParseUrl("localhost:6379").ok());
  EXPECT_FALSE(ParseUrl("redis://h:99999").ok());
  EXPECT_FALSE(ParseUrl("redis://h:12ab").ok());
}

}  // namespace
}  // namespace rowcache
