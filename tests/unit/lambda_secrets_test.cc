// The Lambda front door's secrets: the database password and the cache's AUTH
// token (ROWCACHE_DB_SECRET_ARN, ROWCACHE_CACHE_SECRET_ARN) put into the URLs,
// percent-encoded, and the region taken from a secret's ARN.
#include <gtest/gtest.h>

#include <string>

#include "aws/secrets.h"
#include "rowcache/url.h"

namespace rowcache {
namespace {

std::string CacheWith(const std::string& url, const std::string& secret) {
  auto r = ApplyCacheSecret(url, secret);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : "";
}

TEST(LambdaSecrets, CacheTokenAsPlainString) {
  // An ElastiCache AUTH token: AUTH <token>, so no user in the URL.
  EXPECT_EQ(CacheWith("rediss://master.rc.abc123.use1.cache.amazonaws.com:6379", "Abc123xyz0987654"),
            "rediss://:Abc123xyz0987654@master.rc.abc123.use1.cache.amazonaws.com:6379");
  EXPECT_EQ(CacheWith("redis://127.0.0.1:6379", "tok"), "redis://:tok@127.0.0.1:6379");
}

TEST(LambdaSecrets, CacheTokenFromJson) {
  // The template's generated secret: {"password": "..."}.
  EXPECT_EQ(
      CacheWith("rediss://clustercfg.rc.abc123.use1.cache.amazonaws.com:6379", R"({"password": "S3cr3t"})"),
      "rediss://:S3cr3t@clustercfg.rc.abc123.use1.cache.amazonaws.com:6379");
  // An RBAC user: AUTH <username> <password>.
  EXPECT_EQ(CacheWith("rediss://rc-x.serverless.use1.cache.amazonaws.com:6379",
                      R"({"username": "app", "password": "pw", "engine": "valkey"})"),
            "rediss://app:pw@rc-x.serverless.use1.cache.amazonaws.com:6379");
}

TEST(LambdaSecrets, CachePasswordIsPercentEncodedAndRoundTrips) {
  const std::string password = "p@ss/w:rd%?#&= x";
  auto url =
      CacheWith("rediss://cache.internal:6379", R"({"username": "us er@x", "password": "p@ss/w:rd%?#&= x"})");
  EXPECT_EQ(url, "rediss://us%20er%40x:p%40ss%2Fw%3Ard%25%3F%23%26%3D%20x@cache.internal:6379");
  auto parsed = ParseUrl(url);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->user, "us er@x");
  EXPECT_EQ(parsed->password, password);
  EXPECT_EQ(parsed->host, "cache.internal");
  EXPECT_EQ(parsed->port, 6379);
  EXPECT_EQ(parsed->scheme, "rediss");
}

TEST(LambdaSecrets, CacheSecretKeepsTheRestOfTheUrl) {
  // Database number and options stay; a password already in the URL is replaced.
  EXPECT_EQ(CacheWith("rediss://old:oldpw@h:6380/2?insecure=1", "new"),
            "rediss://old:new@h:6380/2?insecure=1");
  // Without a username in the secret the URL's user stays; with one it is replaced.
  EXPECT_EQ(CacheWith("redis://default@h:6379", "tok"), "redis://default:tok@h:6379");
  EXPECT_EQ(CacheWith("redis://default@h:6379", R"({"username": "app", "password": "tok"})"),
            "redis://app:tok@h:6379");
  // IPv6 host.
  EXPECT_EQ(CacheWith("redis://[::1]:6379", "tok"), "redis://:tok@[::1]:6379");
}

TEST(LambdaSecrets, CacheSecretErrors) {
  for (const char* url : {"memory://", "none", ""}) {
    auto r = ApplyCacheSecret(url, "tok");
    EXPECT_FALSE(r.ok()) << url;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << url;
    EXPECT_NE(r.status().message().find("names no server"), std::string::npos) << r.status().message();
  }
  for (const char* secret : {"", R"({"password": ""})"}) {
    auto r = ApplyCacheSecret("rediss://h:6379", secret);
    EXPECT_FALSE(r.ok()) << secret;
    EXPECT_NE(r.status().message().find("empty"), std::string::npos) << r.status().message();
  }
  auto bad_json = ApplyCacheSecret("rediss://h:6379", R"({"password": )");
  EXPECT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.status().message().find("cache secret: looks like JSON"), std::string::npos);
  auto no_password = ApplyCacheSecret("rediss://h:6379", R"({"username": "app", "token": "x"})");
  EXPECT_FALSE(no_password.ok());
  EXPECT_NE(no_password.status().message().find("no \"password\""), std::string::npos);
  auto not_string = ApplyCacheSecret("rediss://h:6379", R"({"password": 1234567890123456})");
  EXPECT_FALSE(not_string.ok());
  // The URL with its password is never echoed in an error.
  auto memory = ApplyCacheSecret("memory://:hunter2@", "tok");
  EXPECT_FALSE(memory.ok());
  EXPECT_EQ(memory.status().message().find("hunter2"), std::string::npos) << memory.status().message();
}

TEST(LambdaSecrets, DatabaseSecret) {
  auto r = ApplyDbSecret("mysql://admin@db.cluster.example:3306/rowcache?table=heroes",
                         R"({"username": "admin", "password": "a/b@c", "engine": "mysql", "port": 3306})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "mysql://admin:a%2Fb%40c@db.cluster.example:3306/rowcache?table=heroes");
  r = ApplyDbSecret("mysql://nobody@h:3306/db", R"({"username": "rowcache", "password": "pw"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "mysql://rowcache:pw@h:3306/db");
  r = ApplyDbSecret("mysql://admin@h:3306/db", "plain");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "mysql://admin:plain@h:3306/db");
  r = ApplyDbSecret("mysql://admin@h/db", "{oops");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("database secret: looks like JSON"), std::string::npos);
}

TEST(LambdaSecrets, RegionOfArn) {
  EXPECT_EQ(RegionOfArn("arn:aws:secretsmanager:us-west-2:123456789012:secret:rowcache-db-AbCdEf"),
            "us-west-2");
  EXPECT_EQ(RegionOfArn("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x"), "cn-north-1");
  EXPECT_EQ(RegionOfArn("rowcache-db"), "");
  EXPECT_EQ(RegionOfArn("arn:aws:secretsmanager"), "");
  EXPECT_EQ(RegionOfArn("xyz:aws:secretsmanager:us-east-1:1:secret:x"), "");
}

}  // namespace
}  // namespace rowcache
