#include "store/mysql/tls.h"

#include <unistd.h>

#include <cctype>
#include <optional>

#include "net/transport.h"

namespace rowcache {

namespace {
bool Readable(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }
}  // namespace

std::string AllowedAuthPlugins(const MysqlTls& t) {
  bool verified = t.mode == TlsMode::kVerifyIdentity;
  std::string plugins = "mysql_native_password,client_ed25519";
  if (verified || !t.server_public_key.empty()) plugins += ",caching_sha2_password";
  if (verified && t.cleartext) plugins += ",mysql_clear_password";
  return plugins;
}

const char* TlsModeName(TlsMode m) {
  switch (m) {
    case TlsMode::kDisabled:
      return "DISABLED";
    case TlsMode::kRequired:
      return "REQUIRED";
    case TlsMode::kVerifyCa:
      return "VERIFY_CA";
    case TlsMode::kVerifyIdentity:
      return "VERIFY_IDENTITY";
  }
  return "?";
}

Result<MysqlTls> ParseMysqlTls(const Url& url) {
  auto q = [&](const char* k) {
    auto it = url.query.find(k);
    return it == url.query.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  };
  MysqlTls t;
  auto mode = q("ssl-mode");
  if (!mode) mode = q("ssl_mode");
  auto ca = q("ssl-ca");
  if (!ca) ca = q("ssl_ca");
  if (ca && ca->empty()) return Status::InvalidArgument("database URL: ssl-ca is empty");
  if (mode) {
    std::string m;
    for (char ch : *mode)
      m.push_back(ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
    if (m == "DISABLED") {
      t.mode = TlsMode::kDisabled;
    } else if (m == "REQUIRED") {
      t.mode = TlsMode::kRequired;
    } else if (m == "VERIFY_CA") {
      t.mode = TlsMode::kVerifyCa;
    } else if (m == "VERIFY_IDENTITY") {
      t.mode = TlsMode::kVerifyIdentity;
    } else {
      return Status::InvalidArgument("database URL: ssl-mode '" + *mode +
                                     "' (expected DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY)");
    }
  } else if (ca) {
    t.mode = TlsMode::kVerifyIdentity;
  } else if (auto ssl = q("ssl"); ssl && (*ssl == "1" || *ssl == "true")) {
    t.mode = TlsMode::kRequired;
  }
  auto key = q("server-public-key");
  if (!key) key = q("server_public_key");
  if (key) {
    if (key->empty() || !Readable(*key)) {
      return Status::InvalidArgument("database URL: server-public-key file '" + *key + "' cannot be read");
    }
    t.server_public_key = *key;
  }
  auto clear = q("enable-cleartext-plugin");
  if (!clear) clear = q("enable_cleartext_plugin");
  if (clear && (*clear == "1" || *clear == "true")) {
    if (t.mode != TlsMode::kVerifyIdentity) {
      return Status::InvalidArgument(
          "database URL: enable-cleartext-plugin sends the password itself; it needs "
          "ssl-mode=VERIFY_IDENTITY "
          "(the only mode that verifies the server before the login)");
    }
    t.cleartext = true;
  }
  bool verify = t.mode == TlsMode::kVerifyCa || t.mode == TlsMode::kVerifyIdentity;
  if (t.mode == TlsMode::kVerifyCa && !ca) {
    return Status::InvalidArgument(
        "database URL: ssl-mode=VERIFY_CA without ssl-ca would accept any certificate a public CA signed for "
        "anyone; give ssl-ca=FILE (your server's CA) or use VERIFY_IDENTITY");
  }
  if (ca && !verify) {
    return Status::InvalidArgument(
        std::string("database URL: ssl-ca with ssl-mode=") + TlsModeName(t.mode) +
        ", which does not check the certificate (use VERIFY_CA or VERIFY_IDENTITY)");
  }
  if (!verify) return t;
  if (ca) {
    if (!Readable(*ca))
      return Status::InvalidArgument("database URL: ssl-ca file '" + *ca + "' cannot be read");
    t.ca_file = *ca;
    return t;
  }
  CaLocations sys = SystemCaLocations();
  if (sys.file.empty() && sys.dir.empty()) {
    return Status::InvalidArgument(std::string("database URL: ssl-mode=") + TlsModeName(t.mode) +
                                   " without ssl-ca, and " + DescribeCaLocations(sys) +
                                   "; give ssl-ca=FILE or set SSL_CERT_FILE");
  }
  t.ca_file = sys.file;
  t.ca_dir = sys.dir;
  return t;
}

}  // namespace rowcache
