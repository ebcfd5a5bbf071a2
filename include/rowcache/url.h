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

// Error messages never hold the password, whatever the text: they show the
// URL through Redacted() or RedactUrlText(), and an '@' after the host (in
// the path or parameters: a password holding an unencoded '/', '?' or '#',
// which would otherwise be split into host, port, path and query) is
// refused; an '@' there is written %40.
Result<Url> ParseUrl(const std::string& text);
// Text that may be a URL, parsed or not, fit for an error message: whatever
// could be a password (from the first ':' of the user info up to the LAST
// '@' anywhere) replaced by "***", and, as Redacted(), without the
// parameters ('?' after the last '@' and what follows). Without an '@',
// what follows a ':' and is not a port number is hidden too (a
// "user:password" whose host was left out reads as host:port).
std::string RedactUrlText(std::string_view text);
std::string PercentDecode(const std::string& s);
// Encodes everything but RFC 3986 unreserved characters (and '/' when
// keep_slash), as %XX in upper case: what URLs and AWS SigV4 both want.
std::string PercentEncode(std::string_view s, bool keep_slash = false);

}  // namespace rowcache
