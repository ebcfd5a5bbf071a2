// A Redis URL's settings (redis:// and rediss://): TCP or TLS (verified),
// AUTH (password, or user + password), SELECT, timeouts, pool size; and what
// a new connection sends first. Both clients (client.h, async_client.h) use
// them.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "net/transport.h"
#include "redis/slots.h"
#include "rowcache/credentials.h"
#include "rowcache/status.h"
#include "rowcache/url.h"

namespace rowcache::redis {

struct Options {
  NodeAddress seed;      // the address given; port default 6379
  TlsOptions tls;        // rediss://: enabled, verified against the system store or ?ca=FILE
  std::string user;      // ACL user; empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECT; cluster mode allows only 0
  // Connect and per-call timeout. Default: 250 ms.
  std::chrono::milliseconds timeout{250};
  // Most connections kept open per node. Default: 32.
  int max_connections = 32;
  // A rotated password: called when a server refuses AUTH on a new
  // connection of the blocking client (WRONGPASS; also NOAUTH/auth errors).
  // Returns fresh credentials (an empty user keeps the current one) or
  // nullopt. The connection being opened retries AUTH once with them and
  // every later connection uses them; at most one call per second per
  // client (a refused AUTH meanwhile fails as before). Called without locks
  // held, from whichever thread opened the connection. Unset: no retry.
  // Connections already open stay as they are (Redis keeps a connection
  // authenticated when the password changes).
  std::function<std::optional<Credentials>()> refresh_credentials;

  // "rediss://host:port/db" (never the password).
  std::string Describe() const;
};

// What a new connection sends before anything else: AUTH (with a password)
// and SELECT (db other than 0), appended to out; returns how many commands
// (each answers one reply to check). Both clients' connections use it.
size_t AppendConnectionSetup(std::string& out, const Credentials& creds, int db);

// redis://[user:pass@]host[:port][/db][?ca=FILE&sni=NAME&insecure=1], rediss://...
// InvalidArgument for anything else.
Result<Options> OptionsFromUrl(const Url& url);

}  // namespace rowcache::redis
