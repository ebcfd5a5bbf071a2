// A small URL parser for backend URLs: scheme://[user[:pass]@]host[:port][/path][?k=v&...]
// Percent-escapes in user, password, path and query values are decoded.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "rowcache/status.h"

namespace rowcache {

struct Url {
  std::string scheme;  // lower-cased
  std::string user;
  std::string password;
  std::string host;  // brackets removed for [::1]
  int port = 0;      // 0 when absent
  std::string path;  // without the leading '/'
  std::map<std::string, std::string> query;

  // Same URL with the password replaced by "***" (for logs and Describe()).
  std::string Redacted() const;
  // The URL back as text, user, password, path and query percent-encoded, so
  // that ParseUrl(u.ToString()) gives u again.
  std::string ToString() const;
};

Result<Url> ParseUrl(const std::string& text);
std::string PercentDecode(const std::string& s);
// Encodes everything but RFC 3986 unreserved characters (and '/' when
// keep_slash), as %XX in upper case: what URLs and AWS SigV4 both want.
std::string PercentEncode(std::string_view s, bool keep_slash = false);

}  // namespace rowcache
