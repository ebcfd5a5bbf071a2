// Passwords never printed, whatever the input: every parser of a URL or a
// secret is fed malformed text holding a known password (whole, or split by
// the characters that end a URL's parts), and no error message may hold it
// or any piece of it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aws/client.h"
#include "aws/s3_source.h"
#include "aws/secrets.h"
#include "load/aurora.h"
#include "load/source.h"
#include "rowcache/cache.h"
#include "rowcache/store.h"
#include "rowcache/url.h"

namespace rowcache {
namespace {

// The password's two halves: a message must hold neither.
const char* const kHalves[] = {"Sekr", "Tpass"};

// Malformed (or merely unreachable: port 1) URLs with the password "SekrTpass", or
// "Sekr" + C + "Tpass" for a C that splits a URL.
std::vector<std::string> HostileUrls() {
  std::vector<std::string> urls;
  for (const char* sep : {"", "/", "?", "#", "@", ":", "%", "//", "/?", "?@", "&", "]", "[", " ", "\n"}) {
    const std::string pw = std::string("Sekr") + sep + "Tpass";
    for (const std::string scheme :
         {"mysql://", "mariadb://", "redis://", "rediss://", "memory://", "https://", "http://", "s3://",
          "mysql:/", "mysql//", "mysql:", "", "ftp://"}) {
      for (const std::string& tail :
           std::vector<std::string>{"127.0.0.1:1/db", "127.0.0.1:1", "127.0.0.1:99999/db",
                                    "127.0.0.1:1/x?y=1", "[::1/db", "[::1]x/db", "", "/db", ":1"}) {
        urls.push_back(scheme + "u:" + pw + "@" + tail);
        urls.push_back(scheme + ":" + pw + "@" + tail);
      }
      // The password given again as a parameter (for an '@' in it, the last '@' is then in the
      // parameters, and the text cannot be taken apart).
      if (std::string(sep).find('@') == std::string::npos) {
        urls.push_back(scheme + "u:" + pw + "@127.0.0.1:1/db?tls=1&" + pw);
      }
      // The host forgotten: user:password reads as host:port. (Without an '@' a
      // '/' or '?' in the password cannot be told from a path or parameters.)
      if (std::string(sep).find_first_of("/?@") == std::string::npos) {
        urls.push_back(scheme + "u:" + pw);
        urls.push_back(scheme + "u:" + pw + "/db");
      }
    }
  }
  return urls;
}

void ExpectNoPassword(const std::string& what, const std::string& input, const Status& s) {
  if (s.ok()) return;
  for (const char* half : kHalves) {
    EXPECT_EQ(s.message().find(half), std::string::npos) << what << "(" << input << "): " << s.message();
  }
}

TEST(Redaction, RedactUrlTextHidesWhatCouldBeAPassword) {
  EXPECT_EQ(RedactUrlText("mysql://u:Sekr/Tpass@h/db"), "mysql://u:***@h/db");
  EXPECT_EQ(RedactUrlText("u:SekrTpass@h"), "u:***@h");
  EXPECT_EQ(RedactUrlText("mysql:/u:pw@h"), "mysql:***@h");
  EXPECT_EQ(RedactUrlText("redis://:a@b@h:1"), "redis://:***@h:1");
  EXPECT_EQ(RedactUrlText("redis://user@h"), "redis://user@h");  // no password
  EXPECT_EQ(RedactUrlText("s3://bucket/key@2024.csv"), "s3://bucket/key@2024.csv");
  EXPECT_EQ(RedactUrlText("/data/in.csv"), "/data/in.csv");
  EXPECT_EQ(RedactUrlText("redis://:pw@h:1/0?Sekr"), "redis://:***@h:1/0");  // no parameters, as Redacted()
  EXPECT_EQ(RedactUrlText("https://h/x?a=b"), "https://h/x");
  // The host forgotten: "user:password" reads as host:port, and a port that is not one is hidden.
  EXPECT_EQ(RedactUrlText("mysql://u:SekrTpass/db"), "mysql://u:***/db");
  EXPECT_EQ(RedactUrlText("mysql://h:3306/db"), "mysql://h:3306/db");
  EXPECT_EQ(RedactUrlText("http://[::1]:80/x"), "http://[::1]:80/x");
  EXPECT_EQ(RedactUrlText("mysql:/u:Sekr:Tpass"), "mysql:/u:***:***");
}

TEST(Redaction, AnAtAfterTheHostIsRefusedWithoutEchoingIt) {
  auto r = ParseUrl("mysql://u:Sekr/Tpass@h/db");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("%2F"), std::string::npos) << r.status().message();
  // Percent-encoded, the same password is fine; an '@' in a parameter is written %40.
  r = ParseUrl("mysql://u:Sekr%2FTpass@h/db?ssl-ca=/a%40b.pem");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->password, "Sekr/Tpass");
  EXPECT_EQ(r->query.at("ssl-ca"), "/a@b.pem");
  // A password with '@' and '/': the host would be "ss" and the path "wd@h/db".
  r = ParseUrl("mysql://u:Sekr@ss/wdTpass@h/db");
  ASSERT_FALSE(r.ok());
  ExpectNoPassword("ParseUrl", "mysql://u:Sekr@ss/wdTpass@h/db", r.status());
  EXPECT_FALSE(ParseUrl("mysql://u:p@h/db?ssl-ca=/a@b.pem").ok());
  // A scheme is letters, digits, '+', '-', '.': "mysql:u:pw@h://x" is no URL of scheme "mysql:u:pw@h".
  r = ParseUrl("mysql:u:SekrTpass@h://x");
  ASSERT_FALSE(r.ok());
  ExpectNoPassword("ParseUrl", "mysql:u:SekrTpass@h://x", r.status());
  EXPECT_EQ(r.status().message().find("sekr"), std::string::npos) << r.status().message();
  EXPECT_FALSE(ParseUrl("redis://h:6379/0?ca=/a@b.pem").ok());
  EXPECT_TRUE(ParseUrl("redis://h:6379/0?ca=/a%40b.pem").ok());
}

TEST(Redaction, UnknownRedisParametersAreNamedOnlyWhenTheyLookLikeOne) {
  auto named = OpenCache("redis://h?timeout=5");
  ASSERT_FALSE(named.ok());
  EXPECT_NE(named.status().message().find("unknown parameter 'timeout'"), std::string::npos)
      << named.status().message();
  for (const char* url : {"redis://:x@h?SekrTpass", "redis://:x@h?SekrTpass=1", "redis://:x@h?sekrtpass"}) {
    auto r = OpenCache(url);
    ASSERT_FALSE(r.ok()) << url;
    ExpectNoPassword("OpenCache", url, r.status());
    EXPECT_EQ(r.status().message().find("ekrtpass"), std::string::npos) << r.status().message();
  }
}

TEST(Redaction, NoUrlParserEchoesThePassword) {
  AwsCredentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI", ""};
  StoreOptions store_opts;
  store_opts.timeout_seconds = 1;
  CacheOptions cache_opts;
  S3Options s3;
  s3.creds = creds;
  for (const std::string& url : HostileUrls()) {
    if (auto r = ParseUrl(url); !r.ok()) ExpectNoPassword("ParseUrl", url, r.status());
    if (auto r = OpenStore(url, store_opts); !r.ok()) ExpectNoPassword("OpenStore", url, r.status());
    if (auto r = OpenCache(url, cache_opts); !r.ok()) ExpectNoPassword("OpenCache", url, r.status());
    if (auto r = OpenSource(url, &s3); !r.ok()) ExpectNoPassword("OpenSource", url, r.status());
    if (auto r = OpenS3Source(url, s3); !r.ok()) ExpectNoPassword("OpenS3Source", url, r.status());
    if (auto r = AwsClient::Open(url, "s3", "us-east-1", creds); !r.ok()) {
      ExpectNoPassword("AwsClient::Open", url, r.status());
    }
    AuroraLoadSpec spec;
    spec.s3_url = url;
    if (auto r = BuildAuroraLoadSql(spec); !r.ok()) ExpectNoPassword("BuildAuroraLoadSql", url, r.status());
    if (auto r = ApplyDbSecret(url, "x"); !r.ok()) ExpectNoPassword("ApplyDbSecret", url, r.status());
    if (auto r = ApplyCacheSecret(url, "x"); !r.ok()) ExpectNoPassword("ApplyCacheSecret", url, r.status());
  }
}

TEST(Redaction, NoSecretParserEchoesThePassword) {
  const std::vector<std::string> secrets = {
      R"({"password": "SekrTpass")",
      R"({"password": SekrTpass})",
      R"({"pass": "SekrTpass"})",
      R"({"password": ["SekrTpass"]})",
      R"({"password": {"v": "SekrTpass"}})",
      R"({"username": "SekrTpass"})",
      R"({"username": "u", "password": "SekrTpass", )",
      R"({"password": "Sekr\q Tpass"})",
      R"({"password": "SekrTpass"} trailing)",
      R"({"password": ""} SekrTpass)",
      "{SekrTpass",
      std::string("{\"password\": \"Sekr\0Tpass\"", 25),
      R"({"password": "SekrTpass", "password": 1})",
  };
  for (const std::string& s : secrets) {
    if (auto r = ParseDbSecret(s); !r.ok()) ExpectNoPassword("ParseDbSecret", s, r.status());
    if (auto r = ParseCacheSecret(s); !r.ok()) ExpectNoPassword("ParseCacheSecret", s, r.status());
    if (auto r = ApplyDbSecret("mysql://u@h:3306/db", s); !r.ok())
      ExpectNoPassword("ApplyDbSecret", s, r.status());
    if (auto r = ApplyCacheSecret("rediss://h:6379", s); !r.ok()) {
      ExpectNoPassword("ApplyCacheSecret", s, r.status());
    }
  }
}

}  // namespace
}  // namespace rowcache
