// The TLS and authentication settings of a mysql:// URL, and what MariaDB
// Connector/C 3.3 does with each (applied where the store connects).
#pragma once

#include <string>

#include "rowcache/status.h"
#include "rowcache/url.h"

namespace rowcache {

// ssl-mode, as MySQL's clients spell it, and what MariaDB Connector/C 3.3
// (checked against 3.3.20 and MariaDB 10.11) does with each:
//   DISABLED         no TLS.
//   REQUIRED         MYSQL_OPT_SSL_ENFORCE: TLS if the server offers it, the
//                    certificate not checked. Connector/C 3.3 goes on in
//                    plain text when the server does not offer TLS, so the
//                    connection is checked after the handshake
//                    (mysql_get_ssl_cipher) and refused if it is not
//                    encrypted -- after authenticating, not before.
//   VERIFY_CA        plus MYSQL_OPT_SSL_CA (or _CAPATH): the chain is
//                    verified, not the host name. The same after-the-handshake
//                    check catches a server without TLS.
//   VERIFY_IDENTITY  plus MYSQL_OPT_SSL_VERIFY_SERVER_CERT: chain and host
//                    name (DNS name or IP address in the certificate); a
//                    server without TLS is refused before anything is sent.
// The CA is ssl-ca=FILE, else the system store (SystemCaLocations(), which
// also finds Amazon Linux 2023's bundle).
enum class TlsMode { kDisabled, kRequired, kVerifyCa, kVerifyIdentity };

// The connection's security: TLS, and what authentication may send.
struct MysqlTls {
  TlsMode mode = TlsMode::kDisabled;
  std::string ca_file, ca_dir;
  // ?server-public-key=FILE: caching_sha2_password's RSA key, pinned, so
  // its full authentication need not ask the server (anyone) for it.
  std::string server_public_key;
  // ?enable-cleartext-plugin=1 (only with VERIFY_IDENTITY): permits
  // mysql_clear_password (e.g. Aurora's IAM authentication).
  bool cleartext = false;
};

// The authentication plugins a connection permits. TLS verified before
// anything is sent is VERIFY_IDENTITY only (REQUIRED and VERIFY_CA fall back
// to plain text with Connector/C 3.3 and are checked after the login).
//   mysql_native_password, client_ed25519: a scramble; never the password.
//   caching_sha2_password: its full authentication sends the password, over
//     plain text RSA-encrypted with a key it asks the server for: permitted
//     with verified TLS or a pinned key (server-public-key).
//   mysql_clear_password: the password itself: only with verified TLS and
//     enable-cleartext-plugin=1.
std::string AllowedAuthPlugins(const MysqlTls& t);

// "DISABLED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY".
const char* TlsModeName(TlsMode m);

// The TLS settings of a mysql:// URL: ssl-mode (case-insensitive, '-' or
// '_'), ssl-ca; and the older ssl=1 (REQUIRED) and ssl-ca alone
// (VERIFY_IDENTITY). Without any of them: DISABLED, as before.
// InvalidArgument naming the parameter for an unknown mode, an unreadable
// file, a CA with a mode that does not check it, VERIFY_CA without ssl-ca, or
// enable-cleartext-plugin without VERIFY_IDENTITY.
Result<MysqlTls> ParseMysqlTls(const Url& url);

}  // namespace rowcache
