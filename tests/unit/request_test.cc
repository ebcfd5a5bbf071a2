#include <gtest/gtest.h>

#include "rowcache/service.h"

namespace rowcache {
namespace {

ServiceOptions Opts() { return ServiceOptions{}; }

Status ParseError(const std::string& body) {
  auto r = ParseRequest(body, Opts());
  EXPECT_FALSE(r.ok()) << body;
  return r.ok() ? Status::OK() : r.status();
}

void ExpectError(const std::string& body, const std::string& needle, Code code = Code::kInvalidArgument) {
  Status s = ParseError(body);
  EXPECT_EQ(s.code(), code) << body << " -> " << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos) << body << " -> " << s.message();
}

TEST(ParseRequest, AssignmentRead) {
  auto r = ParseRequest(R"({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [1, 2, 3]})", Opts());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, Request::Kind::kRead);
  EXPECT_TRUE(r->use_cache);
  EXPECT_EQ(r->ids, (std::vector<int64_t>{1, 2, 3}));
}

TEST(ParseRequest, AssignmentWriteWithStringXp) {
  auto r = ParseRequest(
      R"({"USE_CACHE": "False", "REQUEST": "write", "SQLS": [{"hero":"yes","name":"fireman","power":"fire","color":"red","xp":"10"}]})",
      Opts());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, Request::Kind::kWrite);
  EXPECT_FALSE(r->use_cache);
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0], (Row{0, "yes", "fire", "fireman", 10, "red"}));
}

TEST(ParseRequest, UseCacheForms) {
  for (auto [text, want] : std::vector<std::pair<std::string, bool>>{{"true", true},
                                                                     {"false", false},
                                                                     {"\"True\"", true},
                                                                     {"\"False\"", false},
                                                                     {"\"TRUE\"", true},
                                                                     {"\"false\"", false}}) {
    auto r = ParseRequest(R"({"REQUEST":"read","SQLS":[],"USE_CACHE":)" + text + "}", Opts());
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_EQ(r->use_cache, want) << text;
  }
  auto def = ParseRequest(R"({"REQUEST":"read","SQLS":[]})", Opts());
  ASSERT_TRUE(def.ok());
  EXPECT_TRUE(def->use_cache);
  ExpectError(R"({"REQUEST":"read","SQLS":[],"USE_CACHE":"yes"})", "USE_CACHE");
  ExpectError(R"({"REQUEST":"read","SQLS":[],"USE_CACHE":1})", "USE_CACHE");
}

TEST(ParseRequest, IdsAcceptIntegersIntegralNumbersAndDecimalStrings) {
  auto r = ParseRequest(R"({"REQUEST":"read","SQLS":[1, "2", 3.0, 2147483647]})", Opts());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ids, (std::vector<int64_t>{1, 2, 3, 2147483647}));
}

TEST(ParseRequest, BadBodies) {
  ExpectError("", "not valid JSON");
  ExpectError("{", "not valid JSON");
  ExpectError("[1,2]", "expected a JSON object");
  ExpectError("null", "expected a JSON object");
  ExpectError(R"({"SQLS":[1]})", "REQUEST: missing");
  ExpectError(R"({"REQUEST":"upsert","SQLS":[1]})", "REQUEST: unknown value \"upsert\"");
  ExpectError(R"({"REQUEST":5,"SQLS":[1]})", "REQUEST: expected");
  ExpectError(R"({"REQUEST":"read"})", "SQLS: missing");
  ExpectError(R"({"REQUEST":"read","SQLS":"1,2"})", "SQLS: expected a list, got a string");
  ExpectError(R"({"REQUEST":"read","SQLS":{"a":1}})", "SQLS: expected a list, got an object");
  // Invalid UTF-8 inside a string is rejected by the JSON parser.
  ExpectError("{\"REQUEST\":\"read\",\"SQLS\":[],\"x\":\"\xff\"}", "not valid JSON");
  // Deep nesting is refused, not recursed into.
  ExpectError(std::string(1000, '[') + std::string(1000, ']'), "not valid JSON");
}

TEST(ParseRequest, BadIds) {
  ExpectError(R"({"REQUEST":"read","SQLS":[1,"x"]})", "SQLS[1]: expected an integer id, got \"x\"");
  ExpectError(R"({"REQUEST":"read","SQLS":[1.5]})", "SQLS[0]: expected an integer id");
  ExpectError(R"({"REQUEST":"read","SQLS":[null]})", "SQLS[0]: expected an integer id, got null");
  ExpectError(R"({"REQUEST":"read","SQLS":[[1]]})", "SQLS[0]: expected an integer id, got a list");
  ExpectError(R"({"REQUEST":"read","SQLS":[0]})", "SQLS[0]: id 0 is out of range");
  ExpectError(R"({"REQUEST":"read","SQLS":[-3]})", "SQLS[0]: id -3 is out of range");
  ExpectError(R"({"REQUEST":"read","SQLS":[2147483648]})", "SQLS[0]: id 2147483648 is out of range");
  ExpectError(R"({"REQUEST":"read","SQLS":[18446744073709551615]})", "SQLS[0]: expected an integer id");
  ExpectError(R"({"REQUEST":"read","SQLS":[1e300]})", "SQLS[0]: expected an integer id");
  ExpectError(R"({"REQUEST":"read","SQLS":[" 1"]})", "SQLS[0]: expected an integer id");
}

std::string WriteOf(const std::string& row) { return R"({"REQUEST":"write","SQLS":[)" + row + "]}"; }

TEST(ParseRequest, BadRows) {
  const std::string ok = R"({"hero":"a","power":"b","name":"c","xp":1,"color":"d"})";
  ASSERT_TRUE(ParseRequest(WriteOf(ok), Opts()).ok());
  ExpectError(WriteOf(R"({"power":"b","name":"c","xp":1,"color":"d"})"), "SQLS[0].hero: missing");
  ExpectError(WriteOf(ok + R"(,{"hero":"a","power":"b","name":"c","xp":1})"), "SQLS[1].color: missing");
  ExpectError(WriteOf(R"({"hero":1,"power":"b","name":"c","xp":1,"color":"d"})"),
              "SQLS[0].hero: expected a string, got an integer");
  ExpectError(WriteOf(R"({"hero":"a","power":"b","name":"c","xp":"ten","color":"d"})"),
              "SQLS[0].xp: expected an integer, got \"ten\"");
  ExpectError(WriteOf(R"({"hero":"a","power":"b","name":"c","xp":1.5,"color":"d"})"),
              "SQLS[0].xp: expected an integer");
  ExpectError(WriteOf(R"({"hero":"a","power":"b","name":"c","xp":2147483648,"color":"d"})"),
              "SQLS[0].xp: 2147483648 is out of range");
  ExpectError(WriteOf(R"({"hero":"aaaaaaaaaaaaaaaaaaaaa","power":"b","name":"c","xp":1,"color":"d"})"),
              "SQLS[0].hero: 21 characters, more than 20");
  ExpectError(WriteOf(R"({"id":5,"hero":"a","power":"b","name":"c","xp":1,"color":"d"})"),
              "SQLS[0].id: ids are assigned by the database");
  ExpectError(WriteOf(R"({"hero":"a","power":"b","name":"c","xp":1,"color":"d","level":3})"),
              "SQLS[0].level: unknown field");
  ExpectError(WriteOf("7"), "SQLS[0]: expected an object");
}

TEST(ParseRequest, CountsCharactersNotBytes) {
  std::string emoji20;
  for (int i = 0; i < 20; ++i) emoji20 += "\xF0\x9F\x98\x80";  // U+1F600, 4 bytes each
  auto r = ParseRequest(
      WriteOf(R"({"hero":")" + emoji20 + R"(","power":"b","name":"c","xp":-5,"color":"d"})"), Opts());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows[0].hero, emoji20);
  EXPECT_EQ(r->rows[0].xp, -5);
  ExpectError(
      WriteOf(R"({"hero":")" + emoji20 + "\xC3\xA9" + R"(","power":"b","name":"c","xp":1,"color":"d"})"),
      "SQLS[0].hero: 21 characters");
}

TEST(ParseRequest, KeepsHostileTextVerbatim) {
  auto r = ParseRequest(
      WriteOf(
          R"({"hero":"O'Brien \"x\"","power":"a\\b","name":"'; DROP TABLE t; --","xp":"-7","color":"\u00e9\n"})"),
      Opts());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows[0].hero, "O'Brien \"x\"");
  EXPECT_EQ(r->rows[0].power, "a\\b");
  EXPECT_EQ(r->rows[0].name, "'; DROP TABLE t; --");
  EXPECT_EQ(r->rows[0].xp, -7);
  EXPECT_EQ(r->rows[0].color, "\xC3\xA9\n");
}

// Whether s is well-formed UTF-8 (no cut or overlong sequence).
bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(ParseRequest, ErrorsQuotingLongValuesAreValidUtf8) {
  // Values and field names of 1- to 4-byte characters, at every offset
  // against the 40-byte cut: the answer quoting them stays valid UTF-8.
  for (std::string ch : {"a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
    for (int lead = 0; lead < 4; ++lead) {
      std::string text = std::string(lead, 'x');
      while (text.size() < 120) text += ch;
      for (const std::string& body : {R"({"REQUEST": "read", "SQLS": [")" + text + R"("]})",
                                      R"({"REQUEST": "write", "SQLS": [{"hero": ")" + text +
                                          R"(", "power": "p", "name": "n", "xp": 1, "color": "c"}]})",
                                      R"({"REQUEST": "write", "SQLS": [{")" + text + R"(": 1}]})",
                                      R"({"REQUEST": ")" + text + R"(", "SQLS": [1]})"}) {
        Status s = ParseError(body);
        EXPECT_TRUE(ValidUtf8(s.message())) << s.message();
        EXPECT_TRUE(ValidUtf8(ErrorResponse(s).body)) << s.message();
      }
    }
  }
}

TEST(ParseRequest, JsonNestingIsBounded) {
  // 16 levels are parsed (and refused for their shape); deeper is refused by the parser itself,
  // before any document is built.
  std::string deep =
      R"({"REQUEST": "read", "SQLS": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  Status s = ParseError(deep);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("request body"), std::string::npos) << s.message();
}

TEST(ParseRequest, BatchLimit) {
  ServiceOptions o;
  o.max_batch = 3;
  o.max_read_batch = 5;
  EXPECT_TRUE(ParseRequest(R"({"REQUEST":"delete","SQLS":[1,2,3]})", o).ok());
  auto r = ParseRequest(R"({"REQUEST":"delete","SQLS":[1,2,3,4]})", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kTooLarge);
  EXPECT_NE(r.status().message().find("SQLS: 4 items, more than the limit of 3"), std::string::npos);
  // Reads have their own limit.
  EXPECT_TRUE(ParseRequest(R"({"REQUEST":"read","SQLS":[1,2,3,4,5]})", o).ok());
  auto big = ParseRequest(R"({"REQUEST":"read","SQLS":[1,2,3,4,5,6]})", o);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Code::kTooLarge);
  EXPECT_NE(big.status().message().find("SQLS: 6 items, more than the limit of 5 for a read"),
            std::string::npos);
  auto w =
      ParseRequest(R"({"REQUEST":"write","SQLS":[{"hero":"a","power":"b","name":"c","xp":1,"color":"d"},)"
                   R"({"hero":"a","power":"b","name":"c","xp":1,"color":"d"},)"
                   R"({"hero":"a","power":"b","name":"c","xp":1,"color":"d"},)"
                   R"({"hero":"a","power":"b","name":"c","xp":1,"color":"d"}]})",
                   o);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kTooLarge);
}

// The read limit's default is honest: the longest row JSON there can be is
// kMaxRowJsonBytes, and kDefaultMaxReadBatch such rows fit in a Lambda
// response (6 MiB) while one more would not.
TEST(ParseRequest, DefaultReadLimitFitsTheWorstRowsInALambdaResponse) {
  std::string worst(kMaxFieldChars, '\x01');  // each escapes to \u0001: 6 bytes
  Row r{kMaxId, worst, worst, worst, kMinXp, worst};
  EXPECT_EQ(RowToJson(r).size(), kMaxRowJsonBytes);
  // Nothing valid is longer: 4-byte UTF-8 characters, quotes and backslashes.
  std::string emoji;
  for (int i = 0; i < kMaxFieldChars; ++i) emoji += "\xF0\x9F\x98\x80";
  std::string quotes(kMaxFieldChars, '"');
  EXPECT_LT(RowToJson(Row{kMaxId, emoji, quotes, emoji, kMinXp, quotes}).size(), kMaxRowJsonBytes);
  auto answer_size = [&](size_t n) {
    std::string body = "{\"statusCode\": 200, \"body\": [";
    for (size_t i = 0; i < n; ++i) {
      if (i) body += ", ";
      AppendRowJson(body, r);
    }
    body += "]}";
    return body.size();
  };
  EXPECT_LE(answer_size(kDefaultMaxReadBatch), kLambdaResponseLimit);
  EXPECT_GT(answer_size(kDefaultMaxReadBatch + 1), kLambdaResponseLimit);
  EXPECT_GE(kDefaultMaxReadBatch, 10000u);
  EXPECT_EQ(ServiceOptions{}.max_read_batch, kDefaultMaxReadBatch);
}

TEST(ParseRequest, UpdatesAndDeletes) {
  auto u = ParseRequest(
      R"({"REQUEST":"update","SQLS":[{"id":3,"xp":"50"},{"id":"4","name":"n","color":"c"}]})", Opts());
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->kind, Request::Kind::kUpdate);
  ASSERT_EQ(u->updates.size(), 2u);
  EXPECT_EQ(u->updates[0], (RowUpdate{3, std::nullopt, std::nullopt, std::nullopt, std::nullopt, 50}));
  EXPECT_EQ(u->updates[1], (RowUpdate{4, std::nullopt, std::nullopt, "n", "c", std::nullopt}));
  ExpectError(R"({"REQUEST":"update","SQLS":[{"xp":1}]})", "SQLS[0].id: missing");
  ExpectError(R"({"REQUEST":"update","SQLS":[{"id":1}]})", "SQLS[0]: nothing to change");
  ExpectError(R"({"REQUEST":"update","SQLS":[{"id":0,"xp":1}]})", "SQLS[0].id: id 0 is out of range");
  ExpectError(R"({"REQUEST":"update","SQLS":[{"id":1,"hero":"aaaaaaaaaaaaaaaaaaaaa"}]})",
              "SQLS[0].hero: 21 characters");
  ExpectError(R"({"REQUEST":"update","SQLS":[{"id":1,"level":2}]})", "SQLS[0].level: unknown field");
  auto d = ParseRequest(R"({"REQUEST":"DELETE","SQLS":[5, "6"]})", Opts());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, Request::Kind::kDelete);
  EXPECT_EQ(d->ids, (std::vector<int64_t>{5, 6}));
  ExpectError(R"({"REQUEST":"delete","SQLS":[{"id":5}]})", "SQLS[0]: expected an integer id, got an object");
}

TEST(ErrorResponse, ShapeAndStatus) {
  Response r = ErrorResponse(Status::InvalidArgument("SQLS[0].hero: \"quoted\""));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"statusCode": 400, "body": {"error": "SQLS[0].hero: \"quoted\""}})");
  EXPECT_EQ(ErrorResponse(Status::Unavailable("db")).status, 503);
  EXPECT_EQ(ErrorResponse(Status::TooLarge("big")).status, 413);
  EXPECT_TRUE(r.request_id.empty());
  EXPECT_TRUE(r.error_detail.empty());
}

// A 5xx answer names no host, user or SQL error: a generic message and a
// request id; the details are for the log, under the same id.
TEST(ErrorResponse, ServerErrorsAreGenericWithARequestId) {
  const std::string detail =
      "mysql db.internal.example:3306: Access denied for user 'rowcache'@'10.0.0.7' (using password: YES)";
  Response r = ErrorResponse(Status::Unavailable(detail), "req-42");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(
      r.body,
      R"({"statusCode": 503, "body": {"error": "the database is unavailable", "request_id": "req-42"}})");
  EXPECT_EQ(r.request_id, "req-42");
  EXPECT_EQ(r.error_detail, detail);
  std::string line = ErrorLogLine(r);
  EXPECT_EQ(line, "rowcache: request req-42: 503: " + detail + "\n");

  Response internal =
      ErrorResponse(Status::Internal("SELECT id FROM `heroes`: Table 'x.heroes' doesn't exist\nmore"));
  EXPECT_EQ(internal.status, 500);
  EXPECT_EQ(internal.request_id.size(), 16u);  // a new random one
  EXPECT_EQ(internal.body, R"({"statusCode": 500, "body": {"error": "internal error", "request_id": ")" +
                               internal.request_id + R"("}})");
  line = ErrorLogLine(internal);
  EXPECT_NE(line.find("request " + internal.request_id + ": 500: SELECT id FROM"), std::string::npos);
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
  EXPECT_NE(ErrorResponse(Status::Internal("x")).request_id, internal.request_id);
  EXPECT_EQ(ErrorLogLine(ErrorResponse(Status::InvalidArgument("bad"))), "");
}

}  // namespace
}  // namespace rowcache
