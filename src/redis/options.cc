#include "redis/options.h"

#include "redis/resp.h"

namespace rowcache::redis {

std::string Options::Describe() const {
  return std::string(tls.enabled ? "rediss://" : "redis://") + seed.host + ":" + std::to_string(seed.port) +
         "/" + std::to_string(db);
}

Result<Options> OptionsFromUrl(const Url& url) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("cache URL '" + url.Redacted() + "': " + why);
  };
  if (url.scheme != "redis" && url.scheme != "rediss") return bad("scheme must be redis:// or rediss://");
  if (url.host.empty()) return bad("missing host");
  Options o;
  o.seed = NodeAddress{url.host, url.port ? url.port : 6379};
  o.tls.enabled = url.scheme == "rediss";
  o.user = url.user;
  o.password = url.password;
  if (!o.user.empty() && o.password.empty()) return bad("a user needs a password");
  if (!url.path.empty()) {
    if (url.path.size() > 9) return bad("database must be a number");
    for (char ch : url.path) {
      if (ch < '0' || ch > '9') return bad("database must be a number");
    }
    o.db = std::stoi(url.path);
  }
  for (const auto& [k, v] : url.query) {
    if (k == "insecure") {
      if (v != "0" && v != "1") return bad("insecure must be 0 or 1");
      o.tls.verify = v != "1";
    } else if (k == "ca") {
      o.tls.ca_file = v;
    } else if (k == "sni") {
      o.tls.sni = v;
    } else {
      // Named only when it looks like a parameter (name=value, a short
      // lower-case name): anything else may be a misplaced password.
      bool named = !v.empty() && k.size() <= 24;
      for (char ch : k) {
        named = named && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-');
      }
      return bad((named ? "unknown parameter '" + k + "'" : std::string("an unknown parameter")) +
                 " (known: ca, sni, insecure)");
    }
  }
  if (!o.tls.enabled && (!o.tls.ca_file.empty() || !o.tls.sni.empty() || !o.tls.verify)) {
    return bad("ca, sni and insecure need rediss://");
  }
  return o;
}

size_t AppendConnectionSetup(std::string& out, const Credentials& creds, int db) {
  size_t n = 0;
  if (!creds.password.empty()) {
    if (creds.user.empty()) {
      AppendCommand(out, {"AUTH", creds.password});
    } else {
      AppendCommand(out, {"AUTH", creds.user, creds.password});
    }
    ++n;
  }
  if (db != 0) {
    AppendCommand(out, {"SELECT", std::to_string(db)});
    ++n;
  }
  return n;
}

}  // namespace rowcache::redis
