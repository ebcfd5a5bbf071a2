#include "rowcache/url.h"

#include <algorithm>
#include <cctype>

namespace rowcache {

static int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexVal(s[i + 1]) >= 0 && HexVal(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexVal(s[i + 1]) * 16 + HexVal(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

namespace {

bool IsPortText(std::string_view s) {
  return !s.empty() && s.size() <= 5 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Text without user info, but perhaps "user:password" with the host left out,
// which reads as host:port: what follows a ':' (up to the next '/' or ':')
// is hidden unless it is a port number, a scheme's "//", or inside [ ].
std::string HideNonPorts(std::string_view text) {
  std::string out;
  bool bracket = false;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i++];
    out.push_back(c);
    if (c == '[') bracket = true;
    if (c == ']') bracket = false;
    if (c != ':' || bracket || text.substr(i, 2) == "//") continue;
    size_t end = std::min(text.find_first_of("/:", i), text.size());
    std::string_view seg = text.substr(i, end - i);
    if (seg.empty() || IsPortText(seg)) continue;
    out.append("***");
    i = end;
  }
  return out;
}

}  // namespace

std::string RedactUrlText(std::string_view text) {
  auto at = text.rfind('@');
  // As Redacted(), without the parameters.
  auto query = text.find('?', at == std::string_view::npos ? 0 : at);
  text = text.substr(0, query);
  if (at == std::string_view::npos) return HideNonPorts(text);
  auto sep = text.find("://");
  size_t start = sep == std::string_view::npos || sep > at ? 0 : sep + 3;
  auto colon = text.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(text);  // a user name only
  std::string out(text.substr(0, colon));
  out.append(":***");
  out.append(text.substr(at));
  return out;
}

Result<Url> ParseUrl(const std::string& text) {
  Url u;
  auto sep = text.find("://");
  if (sep == std::string::npos || sep == 0) {
    return Status::InvalidArgument("'" + RedactUrlText(text) + "' is not a URL (expected scheme://...)");
  }
  u.scheme = text.substr(0, sep);
  // RFC 3986: a letter, then letters, digits, '+', '-', '.'. (Anything else,
  // say "user:password@host" before a later "://", is not a scheme to echo.)
  bool scheme_ok = std::isalpha(static_cast<unsigned char>(u.scheme[0])) != 0;
  for (unsigned char c : u.scheme) {
    scheme_ok = scheme_ok && (std::isalnum(c) || c == '+' || c == '-' || c == '.');
  }
  if (!scheme_ok) {
    return Status::InvalidArgument("'" + RedactUrlText(text) + "' is not a URL (expected scheme://...)");
  }
  std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string rest = text.substr(sep + 3);

  if (auto q = rest.find('?'); q != std::string::npos) {
    std::string query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    size_t pos = 0;
    while (pos <= query.size()) {
      size_t amp = query.find('&', pos);
      if (amp == std::string::npos) amp = query.size();
      std::string kv = query.substr(pos, amp - pos);
      if (!kv.empty()) {
        auto eq = kv.find('=');
        std::string k = eq == std::string::npos ? kv : kv.substr(0, eq);
        std::string v = eq == std::string::npos ? "" : kv.substr(eq + 1);
        u.query[PercentDecode(k)] = PercentDecode(v);
      }
      pos = amp + 1;
    }
  }
  std::string authority = rest;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    authority = rest.substr(0, slash);
    u.path = PercentDecode(rest.substr(slash + 1));
  }
  // An '@' in the path or parameters: most likely a password with an
  // unencoded '/', '?' or '#', which the split above has spread over host,
  // port, path and parameters. Refused, without echoing any of it.
  if (text.find('@', sep + 3 + authority.size()) != std::string::npos) {
    return Status::InvalidArgument(
        "'" + RedactUrlText(text) +
        "': an '@' after the host (percent-encode '/', '?' and '#' in a password as "
        "%2F, %3F and %23, and an '@' in a path or parameter as %40)");
  }
  // The userinfo ends at the LAST '@' so that passwords may contain '@'.
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    std::string userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    u.user = PercentDecode(userinfo.substr(0, colon));
    if (colon != std::string::npos) u.password = PercentDecode(userinfo.substr(colon + 1));
  }
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) {
      std::string msg = u.Redacted();
      msg.insert(msg.begin(), '\'');
      msg.append("': unclosed '[' in host");
      return Status::InvalidArgument(msg);
    }
    u.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Status::InvalidArgument("bad host in URL '" + u.Redacted() + "'");
      port = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (!port.empty()) {
    // Without an '@' a "user:password" reads as host:port: the port text is
    // not echoed as it is.
    auto bad_port = [&] {
      return Status::InvalidArgument("URL '" + RedactUrlText(text) +
                                     "': the port is not a number from 1 to 65535");
    };
    if (!IsPortText(port)) return bad_port();
    u.port = std::stoi(port);
    if (u.port < 1 || u.port > 65535) return bad_port();
  }
  return u;
}

namespace {

// Appends host (bracketed if IPv6) and :port. Written with append() rather
// than "literal" + string, on which GCC 12 gives false -Wrestrict warnings.
void AppendHostPort(std::string& s, const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  if (v6) s.push_back('[');
  s.append(host);
  if (v6) s.push_back(']');
  if (port) {
    s.push_back(':');
    s.append(std::to_string(port));
  }
}

}  // namespace

std::string Url::Redacted() const {
  std::string s = scheme;
  s.append("://");
  if (!user.empty() || !password.empty()) {
    s.append(user);
    if (!password.empty()) s.append(":***");
    s.push_back('@');
  }
  AppendHostPort(s, host, port);
  if (!path.empty()) {
    s.push_back('/');
    s.append(path);
  }
  return s;
}

std::string PercentEncode(std::string_view s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                c == '_' || c == '.' || c == '~' || (c == '/' && keep_slash);
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string Url::ToString() const {
  std::string s = scheme;
  s.append("://");
  if (!user.empty() || !password.empty()) {
    s.append(PercentEncode(user));
    if (!password.empty()) {
      s.push_back(':');
      s.append(PercentEncode(password));
    }
    s.push_back('@');
  }
  AppendHostPort(s, host, port);
  if (!path.empty()) {
    s.push_back('/');
    s.append(PercentEncode(path));
  }
  char sep = '?';
  for (const auto& [k, v] : query) {
    s.push_back(sep);
    s.append(PercentEncode(k));
    s.push_back('=');
    s.append(PercentEncode(v));
    sep = '&';
  }
  return s;
}

}  // namespace rowcache
