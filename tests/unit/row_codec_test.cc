#include "rowcache/row_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "rowcache/row_key.h"
#include "rowcache/service.h"

namespace rowcache {
namespace {

namespace json = boost::json;

Column Col(std::string_view type, bool nullable = false, std::string charset = "utf8mb4") {
  Column c;
  c.name = "c";
  c.nullable = nullable;
  c.charset = std::move(charset);
  EXPECT_TRUE(ParseColumnType(type, c).ok()) << type;
  return c;
}

// The canonical text a client's JSON becomes, or "ERROR: message".
std::string In(const Column& c, std::string_view json_text) {
  ColumnCodec codec(c);
  std::optional<std::string> out;
  Status s = codec.FromJson(json::parse(json_text), out);
  if (!s.ok()) return "ERROR: " + s.message();
  return out ? *out : "NULL";
}

// The JSON a canonical value is answered as.
std::string Out(const Column& c, std::optional<std::string> text) {
  std::string out;
  ColumnCodec(c).AppendJson(out, text);
  return out;
}

bool Refused(const Column& c, std::string_view json_text, std::string_view want = "") {
  std::string r = In(c, json_text);
  bool refused = r.rfind("ERROR: ", 0) == 0 && r.find(want) != std::string::npos;
  EXPECT_TRUE(refused) << json_text << " -> " << r;
  return refused;
}

TEST(RowCodec, IntegersAtBothEndsOfEveryType) {
  struct Case {
    const char* type;
    const char* lo;
    const char* hi;
    const char* below;
    const char* above;
  } cases[] = {
      {"tinyint", "-128", "127", "-129", "128"},
      {"tinyint unsigned", "0", "255", "-1", "256"},
      {"smallint", "-32768", "32767", "-32769", "32768"},
      {"mediumint unsigned", "0", "16777215", "-1", "16777216"},
      {"mediumint", "-8388608", "8388607", "-8388609", "8388608"},
      {"int", "-2147483648", "2147483647", "-2147483649", "2147483648"},
      {"int unsigned", "0", "4294967295", "-1", "4294967296"},
      {"bigint", "-9223372036854775808", "9223372036854775807", "-9223372036854775809",
       "9223372036854775808"},
      {"bigint unsigned", "0", "18446744073709551615", "-1", "18446744073709551616"},
  };
  for (const Case& k : cases) {
    Column c = Col(k.type);
    EXPECT_EQ(In(c, k.lo), k.lo) << k.type;
    EXPECT_EQ(In(c, k.hi), k.hi) << k.type;
    EXPECT_EQ(In(c, std::string("\"") + k.hi + "\""), k.hi) << k.type;  // a decimal string
    EXPECT_EQ(Out(c, std::string(k.hi)), k.hi);                         // every digit exact
    Refused(c, std::string("\"") + k.below + "\"", "out of range");
    Refused(c, std::string("\"") + k.above + "\"", "out of range");
  }
  Column i = Col("int");
  EXPECT_EQ(In(i, "7"), "7");
  EXPECT_EQ(In(i, "\"7\""), "7");
  EXPECT_EQ(In(i, "7.0"), "7");
  EXPECT_EQ(In(i, "\"-0\""), "0");
  EXPECT_EQ(In(i, "\"+5\""), "5");
  Refused(i, "7.5", "not an integer");
  Refused(i, "\"7a\"", "not an integer");
  Refused(i, "true", "not an integer");
  Refused(i, "null", "NOT NULL");
  EXPECT_EQ(In(Col("int", true), "null"), "NULL");
  EXPECT_EQ(Out(Col("int", true), std::nullopt), "null");
  Column y = Col("year");
  EXPECT_EQ(In(y, "1901"), "1901");
  EXPECT_EQ(In(y, "2155"), "2155");
  EXPECT_EQ(In(y, "0"), "0");
  Refused(y, "1900", "YEAR");
  Refused(y, "2156", "YEAR");
  EXPECT_EQ(Out(y, "0000"), "0");
  EXPECT_EQ(Out(y, "2026"), "2026");
}

TEST(RowCodec, DecimalsKeepExactlyTheirScale) {
  Column d = Col("decimal(12,2)");
  EXPECT_EQ(In(d, "12.5"), "12.50");
  EXPECT_EQ(In(d, "\"12.5\""), "12.50");
  EXPECT_EQ(In(d, "\"0012.500\""), "12.50");
  EXPECT_EQ(In(d, "\"-0.00\""), "0.00");
  EXPECT_EQ(In(d, "\".5\""), "0.50");
  EXPECT_EQ(In(d, "7"), "7.00");
  EXPECT_EQ(In(d, "\"9999999999.99\""), "9999999999.99");
  EXPECT_EQ(In(d, "\"-9999999999.99\""), "-9999999999.99");
  Refused(d, "\"99999999999.99\"", "more than 10 digits before the point");
  Refused(d, "\"1.005\"", "more than 2 digits after the point");
  Refused(d, "\"1e5\"", "not a decimal");
  Refused(d, "\"\"", "not a decimal");
  Refused(d, "\".\"", "not a decimal");
  EXPECT_EQ(Out(d, "12.50"), "\"12.50\"");
  Column big = Col("decimal(65,30)");
  std::string max = std::string(35, '9') + "." + std::string(30, '9');
  EXPECT_EQ(In(big, "\"" + max + "\""), max);
  EXPECT_EQ(In(Col("decimal(5,0)"), "\"-99999\""), "-99999");
}

TEST(RowCodec, FloatsAsTheShortestTextThatRoundTrips) {
  Column f = Col("float");
  EXPECT_EQ(In(f, "0.1"), "0.1");
  EXPECT_EQ(In(f, "3.4028234663852886e38"), "3.4028235e+38");
  Refused(f, "1e39", "finite FLOAT");
  EXPECT_EQ(Out(f, "0.100000001"), "0.1");  // what the database prints, shortest as a float
  EXPECT_EQ(Out(f, "-0"), "0");
  Column d = Col("double");
  EXPECT_EQ(In(d, "0.1"), "0.1");
  EXPECT_EQ(In(d, "1.7976931348623157e308"), "1.7976931348623157e+308");
  EXPECT_EQ(In(d, "5"), "5");
  EXPECT_EQ(Out(d, "1e20"), "1e+20");
  Refused(d, "\"1.5\"", "not a number");
}

TEST(RowCodec, StringsByCharactersBytesAndCharacterSet) {
  Column v = Col("varchar(3)");
  EXPECT_EQ(In(v, "\"abc\""), "abc");
  EXPECT_EQ(In(v, "\"\xF0\x9F\x98\x80\xC3\xA9x\""), "\xF0\x9F\x98\x80\xC3\xA9x");  // 3 characters, 7 bytes
  Refused(v, "\"abcd\"", "4 characters, more than 3");
  Refused(v, "5", "not a string");
  EXPECT_EQ(Out(v, std::string("a\"\n\x01", 4)), "\"a\\\"\\n\\u0001\"");
  Column t = Col("tinytext");
  EXPECT_EQ(In(t, "\"" + std::string(255, 'x') + "\""), std::string(255, 'x'));
  Column ch = Col("char(5)");
  EXPECT_EQ(In(ch, "\"ab  \""), "ab");  // CHAR keeps no trailing spaces
  Column latin = Col("varchar(10)", false, "latin1");
  EXPECT_EQ(In(latin, "\"caf\xC3\xA9\""), "caf\xC3\xA9");
  Refused(latin, "\"\xE2\x82\xAC\"", "cannot be stored in a latin1 column");
  Column mb3 = Col("varchar(10)", false, "utf8mb3");
  Refused(mb3, "\"\xF0\x9F\x98\x80\"", "utf8mb3");
}

TEST(RowCodec, BinaryAsBase64) {
  Column b = Col("binary(4)");
  EXPECT_EQ(In(b, "\"AQI=\""), std::string("\x01\x02\0\0", 4));  // padded with zero bytes
  EXPECT_EQ(In(b, "\"AQI\""), std::string("\x01\x02\0\0", 4));   // unpadded base64 accepted
  EXPECT_EQ(Out(b, std::string("\x01\x02\0\0", 4)), "\"AQIAAA==\"");
  Refused(b, "\"AQIDBAU=\"", "5 bytes, more than 4");
  Refused(b, "\"A\"", "not base64");
  Refused(b, "\"AQJ=\"", "not base64");  // left-over bits not zero: not the one text of its bytes
  Refused(b, "\"a-b_\"", "not base64");
  Column vb = Col("varbinary(16)");
  EXPECT_EQ(In(vb, "\"\""), "");
  EXPECT_EQ(Out(vb, std::string("\xff\xfe\xfd", 3)), "\"//79\"");
  EXPECT_EQ(DecodeBase64("Zm9vYmFy"), "foobar");
  EXPECT_EQ(DecodeBase64("Zm9vYg"), "foob");
}

TEST(RowCodec, TemporalTypes) {
  Column d = Col("date");
  EXPECT_EQ(In(d, "\"2026-12-06\""), "2026-12-06");
  EXPECT_EQ(In(d, "\"2024-02-29\""), "2024-02-29");
  Refused(d, "\"2026-02-29\"", "not a date");
  Refused(d, "\"2026-13-01\"", "not a date");
  Refused(d, "\"2026-12-06T00:00:00\"", "not a date");
  EXPECT_EQ(Out(d, "0000-00-00"), "\"0000-00-00\"");
  Column dt = Col("datetime(3)");
  EXPECT_EQ(In(dt, "\"2026-12-06T20:43:05.123\""), "2026-12-06 20:43:05.123");
  EXPECT_EQ(In(dt, "\"2026-12-06 20:43:05\""), "2026-12-06 20:43:05.000");
  EXPECT_EQ(In(dt, "\"2026-12-06T20:43:05.1\""), "2026-12-06 20:43:05.100");
  EXPECT_EQ(In(dt, "\"9999-12-31T23:59:59.999\""), "9999-12-31 23:59:59.999");
  EXPECT_EQ(In(dt, "\"0001-01-01T00:00:00\""), "0001-01-01 00:00:00.000");
  Refused(dt, "\"2026-12-06T20:43:05.1234\"", "more than 3 fraction digits");
  Refused(dt, "\"2026-12-06T24:00:00\"", "not a date and time");
  Refused(dt, "\"2026-12-06T20:43:05Z\"", "not a date and time");
  EXPECT_EQ(Out(dt, "2026-12-06 20:43:05.123"), "\"2026-12-06T20:43:05.123\"");
  EXPECT_EQ(Out(Col("datetime"), "0000-00-00 00:00:00"), "\"0000-00-00T00:00:00\"");
  Column ts = Col("timestamp(6)");
  EXPECT_EQ(In(ts, "\"2026-12-06T20:43:05.123456Z\""), "2026-12-06 20:43:05.123456");
  EXPECT_EQ(In(ts, "\"2026-12-06T22:43:05+02:00\""), "2026-12-06 20:43:05.000000");
  EXPECT_EQ(In(ts, "\"2026-12-06T00:30:00-01:00\""), "2026-12-06 01:30:00.000000");
  EXPECT_EQ(In(ts, "\"2026-12-31T23:30:00-01:00\""), "2027-01-01 00:30:00.000000");
  EXPECT_EQ(In(ts, "\"1970-01-01T00:00:01Z\""), "1970-01-01 00:00:01.000000");
  EXPECT_EQ(In(ts, "\"2038-01-19T03:14:07Z\""), "2038-01-19 03:14:07.000000");
  Refused(ts, "\"1970-01-01T00:00:00Z\"", "TIMESTAMP's range");
  Refused(ts, "\"2038-01-19T03:14:08Z\"", "TIMESTAMP's range");
  EXPECT_EQ(Out(ts, "2026-12-06 20:43:05.123456"), "\"2026-12-06T20:43:05.123456Z\"");
  Column t = Col("time(2)");
  EXPECT_EQ(In(t, "\"-838:59:59\""), "-838:59:59.00");
  EXPECT_EQ(In(t, "\"838:59:59\""), "838:59:59.00");
  EXPECT_EQ(In(t, "\"12:00:00.5\""), "12:00:00.50");
  EXPECT_EQ(In(t, "\"-00:00:00\""), "00:00:00.00");
  Refused(t, "\"839:00:00\"", "not a time");
  Refused(t, "\"838:59:59.01\"", "not a time");
  Refused(t, "\"12:60:00\"", "not a time");
  EXPECT_EQ(Out(Col("time"), "-838:59:59"), "\"-838:59:59\"");
}

TEST(RowCodec, BitsEnumsSetsAndJson) {
  Column b1 = Col("bit(1)");
  EXPECT_EQ(In(b1, "true"), "1");
  EXPECT_EQ(In(b1, "false"), "0");
  EXPECT_EQ(In(b1, "1"), "1");
  Refused(b1, "2", "more than 1 bits");
  EXPECT_EQ(Out(b1, "1"), "true");
  EXPECT_EQ(Out(b1, "0"), "false");
  Column b12 = Col("bit(12)");
  EXPECT_EQ(In(b12, "4095"), "4095");
  Refused(b12, "4096", "more than 12 bits");
  Refused(b12, "true", "non-negative integer");
  EXPECT_EQ(Out(b12, "4095"), "4095");
  EXPECT_EQ(In(Col("bit(64)"), "18446744073709551615"), "18446744073709551615");
  Column e = Col("enum('small','large')");
  EXPECT_EQ(In(e, "\"large\""), "large");
  Refused(e, "\"LARGE\"", "not one of the members");
  EXPECT_EQ(Out(e, "small"), "\"small\"");
  Column s = Col("set('red','green','blue')");
  EXPECT_EQ(In(s, "\"blue,red\""), "red,blue");  // definition order
  EXPECT_EQ(In(s, "\"blue,blue\""), "blue");
  EXPECT_EQ(In(s, "\"\""), "");
  Refused(s, "\"red,pink\"", "\"pink\" is not a member");
  Refused(s, "\"red,\"", "an empty member");
  Column j = Col("json", true);
  EXPECT_EQ(In(j, R"({"a": [1, 2.5, "x"]})"), R"({"a":[1,2.5E0,"x"]})");
  EXPECT_EQ(In(j, "\"text\""), "\"text\"");  // a JSON string value stays a string
  EXPECT_EQ(In(j, "null"), "NULL");          // JSON null is SQL NULL
  EXPECT_EQ(Out(j, R"({"a": 1})"), R"({"a": 1})");
}

TEST(RowCodec, HeroesRowsAreByteForByteTheOldAnswer) {
  TableSchema t = HeroesSchema();
  RowCodec codec(t);
  RowValues r = {"1", "yes", "fly", "batman", "100", "black"};
  EXPECT_EQ(codec.RowJson(r),
            R"({"id": 1, "hero": "yes", "power": "fly", "name": "batman", "xp": 100, "color": "black"})");
  Row old{1, "yes", "fly", "batman", 100, "black"};
  EXPECT_EQ(codec.RowJson(r), RowToJson(old));
  // The same bound as the old hard-coded one.
  EXPECT_EQ(codec.MaxRowJsonBytes(), kMaxRowJsonBytes);
}

TEST(RowCodec, MatchesExactlyWhatItWrites) {
  TableSchema t = HeroesSchema();
  RowCodec codec(t);
  std::string good =
      R"({"id": 7, "hero": "yes", "power": "fly", "name": "bat\"man\u001f\n", "xp": -100, "color": "Ã©"})";
  std::string_view seven[] = {"7"}, eight[] = {"8"};
  EXPECT_TRUE(codec.MatchesRowJson(good));
  EXPECT_TRUE(codec.MatchesRowJson(good, seven));
  EXPECT_FALSE(codec.MatchesRowJson(good, eight));  // the entry of another row
  RowValues r = {"2147483647", std::string("a\"\\\x01\x7f", 5), "", "ð", "-2147483648", "\t"};
  EXPECT_TRUE(codec.MatchesRowJson(codec.RowJson(r)));
  for (const char* bad :
       {R"({"id": 7, "hero": "yes", "power": "fly", "name": "b", "xp": 1, "color": "c"} )",  // trailing space
        R"({"id":7, "hero": "yes", "power": "fly", "name": "b", "xp": 1, "color": "c"})",    // separator
        R"({"hero": "yes", "id": 7, "power": "fly", "name": "b", "xp": 1, "color": "c"})",   // order
        R"({"id": 07, "hero": "yes", "power": "fly", "name": "b", "xp": 1, "color": "c"})",  // leading zero
        R"({"id": 0, "hero": "yes", "power": "fly", "name": "b", "xp": 1, "color": "c"})",   // not an id
        R"({"id": 2147483648, "hero": "y", "power": "f", "name": "b", "xp": 1, "color": "c"})",
        R"({"id": 7, "hero": "yes", "power": "fly", "name": "b", "xp": 2147483648, "color": "c"})",
        R"({"id": 7, "hero": "\u0041", "power": "fly", "name": "b", "xp": 1, "color": "c"})",  // not our
                                                                                               // escape
        R"({"id": 7, "hero": "\/", "power": "fly", "name": "b", "xp": 1, "color": "c"})",
        R"({"id": 7, "hero": "\u000a", "power": "fly", "name": "b", "xp": 1, "color": "c"})",  // is \n
        R"({"id": 7, "hero": null, "power": "fly", "name": "b", "xp": 1, "color": "c"})",      // NOT NULL
        R"({"id": 7, "hero": 5, "power": "fly", "name": "b", "xp": 1, "color": "c"})",
        R"({"id": 7, "hero": "yes", "power": "fly", "name": "b", "xp": 1, "color": "c", "x": 1})",
        R"({"id": 7, "hero": "yes", "power": "fly", "name": "b", "xp": 1, "color": "c")",
        R"({"id": 7, "hero": "yes", "power": "fly", "name": "b", "xp": 1, "color": "c})",
        "{\"id\": 7, \"hero\": \"\xC3\", \"power\": \"fly\", \"name\": \"b\", \"xp\": 1, \"color\": \"c\"}",
        "{\"id\": 7, \"hero\": \"\t\", \"power\": \"fly\", \"name\": \"b\", \"xp\": 1, \"color\": \"c\"}", "",
        "{}", "null"}) {
    EXPECT_FALSE(codec.MatchesRowJson(bad)) << bad;
  }
}

TEST(RowCodec, MatchesEveryTypeItWrites) {
  TableSchema t;
  t.name = "mixed";
  const char* types[] = {"bigint unsigned", "decimal(12,2)", "float",  "double",
                         "varchar(10)",     "varbinary(8)",  "date",   "datetime(3)",
                         "timestamp(6)",    "time",          "bit(1)", "bit(12)",
                         "enum('a','b')",   "set('x','y')",  "json",   "year"};
  for (size_t i = 0; i < std::size(types); ++i) {
    Column c;
    c.name = "c" + std::to_string(i);
    c.nullable = i > 0;
    ASSERT_TRUE(ParseColumnType(types[i], c).ok()) << types[i];
    t.columns.push_back(c);
  }
  t.key = {0};
  RowCodec codec(t);
  RowValues full = {"18446744073709551615",
                    "-12.50",
                    "0.1",
                    "1e+20",
                    "x\"y",
                    std::string("\0\xff", 2),
                    "2026-12-06",
                    "2026-12-06 20:43:05.123",
                    "2026-12-06 20:43:05.123456",
                    "-838:59:59",
                    "1",
                    "4095",
                    "b",
                    "x,y",
                    R"({"a": [1, {"b": null}], "c": "}"})",
                    "2155"};
  std::string j = codec.RowJson(full);
  EXPECT_TRUE(codec.MatchesRowJson(j)) << j;
  boost::system::error_code ec;
  json::value parsed = json::parse(j, ec);  // and it is JSON
  EXPECT_FALSE(ec) << j;
  for (const char* v : {"5", "-1.5e3", "\"text\"", "true", "null", "[]"}) {
    RowValues other = full;
    other[14] = v;
    EXPECT_TRUE(codec.MatchesRowJson(codec.RowJson(other))) << v;
  }
  RowValues nulls(full.size());
  nulls[0] = "0";
  EXPECT_TRUE(codec.MatchesRowJson(codec.RowJson(nulls))) << codec.RowJson(nulls);
  std::string broken = j;
  broken.replace(broken.find("\"-12.50\""), 8, "\"-12.5\"");  // not at the scale
  EXPECT_FALSE(codec.MatchesRowJson(broken));
  broken = j;
  broken.replace(broken.find("{\"a\""), 4, "{\"a ");  // the JSON column broken
  EXPECT_FALSE(codec.MatchesRowJson(broken));
}

TEST(RowKey, HeroesKeysAreByteIdentical) {
  TableSchema t = HeroesSchema();
  RowCodec codec(t);
  KeyCodec keys(codec);
  for (const char* spelling : {"7", "\"7\"", "7.0", "\"+7\""}) {
    auto k = keys.FromJson(json::parse(spelling));
    ASSERT_TRUE(k.ok()) << spelling << k.status().message();
    EXPECT_EQ(keys.EntryKey("rowcache:heroes:", *k), CacheKeyFor("rowcache:heroes:", 7)) << spelling;
    EXPECT_EQ(keys.EntryKey("rowcache:heroes:", *k), "rowcache:heroes:{7}");
  }
  EXPECT_EQ(DefaultKeyPrefix("heroes"), "rowcache:heroes:");
  EXPECT_FALSE(keys.FromJson(json::parse("0.5")).ok());
  // An AUTO_INCREMENT key holds what the database assigns: from 1, as before.
  EXPECT_FALSE(keys.FromJson(json::parse("0")).ok());
  EXPECT_FALSE(keys.FromJson(json::parse("-1")).ok());
  EXPECT_FALSE(keys.FromJson(json::parse("2147483648")).ok());
  EXPECT_TRUE(keys.FromJson(json::parse("[7]")).ok());  // an array in key order, for a one-column key too
  RowValues row = {"7", "a", "b", "c", "1", "d"};
  EXPECT_EQ(keys.Encode(keys.Of(row)), "7");
  std::string scalar;
  keys.AppendKeyScalar(scalar, keys.Of(row));
  EXPECT_EQ(scalar, "7");
}

TableSchema Orders() {
  TableSchema t;
  t.name = "orders";
  Column tenant, code, total;
  tenant.name = "tenant";
  code.name = "code";
  code.charset = "utf8mb4";
  total.name = "total";
  EXPECT_TRUE(ParseColumnType("int", tenant).ok());
  EXPECT_TRUE(ParseColumnType("varchar(16)", code).ok());
  EXPECT_TRUE(ParseColumnType("decimal(12,2)", total).ok());
  t.columns = {tenant, code, total};
  t.key = {0, 1};
  return t;
}

TEST(RowKey, CompositeKeysOneEncodingPerKey) {
  TableSchema t = Orders();
  RowCodec codec(t);
  KeyCodec keys(codec);
  auto enc = [&](std::string_view j) {
    auto k = keys.FromJson(json::parse(j));
    return k.ok() ? keys.EntryKey("rowcache:orders:", *k) : "ERROR: " + k.status().message();
  };
  EXPECT_EQ(enc(R"({"tenant": 1, "code": "A-5"})"), "rowcache:orders:{1,A-5}");
  EXPECT_EQ(enc(R"({"code": "A-5", "tenant": "1"})"), "rowcache:orders:{1,A-5}");
  EXPECT_EQ(enc(R"([1, "A-5"])"), "rowcache:orders:{1,A-5}");
  EXPECT_EQ(enc(R"([1.0, "A-5"])"), "rowcache:orders:{1,A-5}");
  // Braces, commas and % inside a value are escaped: the hash tag holds the key only.
  EXPECT_EQ(enc(R"([1, "a}b{c,d%"])"), "rowcache:orders:{1,a%7Db%7Bc%2Cd%25}");
  EXPECT_NE(enc(R"([1, "a,b"])"), enc(R"([1, "a%2Cb"])"));
  EXPECT_NE(enc(R"(["1", ","])"), enc(R"(["1", "%2C"])"));
  EXPECT_NE(enc(R"([1, "x"])").find("ERROR"), 0u);
  EXPECT_EQ(enc(R"({"tenant": 1})").rfind("ERROR: key column code missing", 0), 0u);
  EXPECT_EQ(enc(R"({"tenant": 1, "code": "x", "total": 5})").rfind("ERROR: \"total\" is not a key column", 0),
            0u);
  EXPECT_EQ(enc(R"([1])").rfind("ERROR: a key of 1 values", 0), 0u);
  EXPECT_EQ(enc(R"([1, null])").rfind("ERROR: null for key column code", 0), 0u);
  EXPECT_EQ(enc(R"([1, "12345678901234567"])").rfind("ERROR: code: 17 characters", 0), 0u);
  EXPECT_EQ(enc("5").rfind("ERROR: not a key", 0), 0u);
  std::string obj;
  keys.AppendKeyObject(obj, KeyValues{"1", "A-5"});
  EXPECT_EQ(obj, R"({"tenant": 1, "code": "A-5"})");
}

}  // namespace
}  // namespace rowcache
