// libFuzzer target: secrets in URLs and in Secrets Manager's JSON. The input
// gives a URL's text before and after a password (prefix, suffix), a choice of
// separator inside the password, and a secret string; then
//  - no error message (ParseUrl, the Redis options, ApplyDbSecret,
//    ApplyCacheSecret) and no RedactUrlText / Redacted() text holds either
//    half of the password, whatever surrounds it;
//  - a secret that parses puts exactly its password (and user) into the URL,
//    as ParseUrl reads it back; one that does not is an error of fixed text;
//  - SigV4's URI encoding round-trips through PercentDecode, and the region
//    of any ARN text is found without a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aws/secrets.h"
#include "aws/sigv4.h"
#include "redis/client.h"
#include "rowcache/url.h"

namespace {

// Lower case, so that a password lower-cased (as a scheme is) still shows.
constexpr std::string_view kHalves[] = {"zq9k", "xw7j"};
// What may sit inside the password: every character that ends a URL's part.
constexpr std::string_view kSeparators[] = {"",   "/", "?", "#", "@",  ":",  "%",
                                            "%2", "[", "]", " ", "//", "?@", "&="};

void Fail(const char* what, const std::string& text) {
  std::fprintf(stderr, "%s: %s\n", what, text.c_str());
  std::abort();
}

bool HoldsAHalf(std::string_view s) {
  for (auto half : kHalves) {
    if (s.find(half) != std::string_view::npos) return true;
  }
  return false;
}

void ExpectHidden(const char* what, const std::string& text) {
  if (HoldsAHalf(text)) Fail(what, text);
}

void CheckUrl(const std::string& url) {
  ExpectHidden("RedactUrlText", rowcache::RedactUrlText(url));
  auto u = rowcache::ParseUrl(url);
  if (!u.ok()) {
    ExpectHidden("ParseUrl error", u.status().message());
  } else {
    ExpectHidden("Redacted", u->Redacted());
    auto o = rowcache::redis::OptionsFromUrl(*u);
    if (!o.ok()) ExpectHidden("OptionsFromUrl error", o.status().message());
  }
  auto db = rowcache::ApplyDbSecret(url, "pw");
  if (!db.ok()) ExpectHidden("ApplyDbSecret error", db.status().message());
  auto cache = rowcache::ApplyCacheSecret(url, "pw");
  if (!cache.ok()) ExpectHidden("ApplyCacheSecret error", cache.status().message());
}

void CheckSecret(const std::string& secret) {
  static const std::string kFixed[] = {
      "database secret: looks like JSON but does not parse", "database secret: no \"password\" string",
      "cache secret: looks like JSON but does not parse", "cache secret: no \"password\" string",
      "cache secret: the password is empty"};
  auto is_fixed = [](const std::string& m) {
    for (const auto& f : kFixed) {
      if (m == f) return true;
    }
    return false;
  };
  auto creds = rowcache::ParseDbSecret(secret);
  auto url = rowcache::ApplyDbSecret("mysql://app@db.internal:3306/rowcache?table=heroes", secret);
  if (creds.ok() != url.ok()) Fail("ParseDbSecret and ApplyDbSecret disagree", secret);
  if (!creds.ok()) {
    if (!is_fixed(creds.status().message()))
      Fail("a secret error that is not fixed text", creds.status().message());
  } else {
    auto back = rowcache::ParseUrl(*url);
    if (!back.ok() || back->password != creds->password || back->host != "db.internal" ||
        back->port != 3306 || back->user != (creds->user.empty() ? "app" : creds->user) ||
        back->query.at("table") != "heroes") {
      Fail("the secret did not round-trip through the URL", secret);
    }
  }
  auto cache_creds = rowcache::ParseCacheSecret(secret);
  auto cache_url = rowcache::ApplyCacheSecret("rediss://cache.internal:6379/0", secret);
  if (cache_creds.ok() != cache_url.ok()) Fail("ParseCacheSecret and ApplyCacheSecret disagree", secret);
  if (!cache_creds.ok()) {
    if (!is_fixed(cache_creds.status().message())) {
      Fail("a cache secret error that is not fixed text", cache_creds.status().message());
    }
  } else {
    auto back = rowcache::ParseUrl(*cache_url);
    if (!back.ok() || back->password != cache_creds->password || back->user != cache_creds->user ||
        back->host != "cache.internal") {
      Fail("the cache secret did not round-trip through the URL", secret);
    }
    auto o = rowcache::redis::OptionsFromUrl(*back);
    if (!o.ok()) Fail("a cache URL with a secret is refused", o.status().message());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string_view sep = kSeparators[data[0] % std::size(kSeparators)];
  // prefix \0 suffix \0 secret
  size_t a = in.find('\0');
  std::string_view prefix = in.substr(0, a);
  std::string_view rest = a == std::string_view::npos ? std::string_view() : in.substr(a + 1);
  size_t b = rest.find('\0');
  std::string_view suffix = rest.substr(0, b);
  std::string secret(b == std::string_view::npos ? std::string_view() : rest.substr(b + 1));

  // The password is only where it is put: text around it holding a half
  // (which a message may rightly quote) is not a case.
  if (!HoldsAHalf(prefix) && !HoldsAHalf(suffix) && suffix.find('@') == std::string_view::npos) {
    std::string password = std::string(kHalves[0]) + std::string(sep) + std::string(kHalves[1]);
    CheckUrl(std::string(prefix) + ":" + password + "@" + std::string(suffix));
  }
  if (!HoldsAHalf(in)) CheckUrl(std::string(in.substr(0, std::min<size_t>(in.size(), 512))));
  CheckSecret(secret.empty() ? std::string(in) : secret);

  std::string raw(in);
  if (rowcache::PercentDecode(rowcache::UriEncode(raw, true)) != raw)
    Fail("UriEncode does not round-trip", raw);
  if (rowcache::PercentDecode(rowcache::UriEncode(raw, false)) != raw)
    Fail("UriEncode does not round-trip", raw);
  (void)rowcache::RegionOfArn(raw);
  return 0;
}
