// Config shared by the commands that run the service (serve, lambda, bench
// in-process): backend URLs and the core's options, from flags or environment.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "cache/circuit_breaker.h"
#include "cache/near_cache.h"
#include "exe/flags.h"
#include "redis/client.h"
#include "redis/tracking.h"
#include "rowcache/cache.h"
#include "rowcache/service.h"
#include "rowcache/store.h"

namespace rowcache {

struct ServiceConfig {
  std::string db_url = "sqlite:rowcache.db";  // --db, ROWCACHE_DB
  std::string cache_url = "memory://";        // --cache, ROWCACHE_CACHE
  ServiceOptions service;                     // --key-prefix, --ttl, --ttl-jitter, --max-batch
  StoreOptions store;                         // --db-timeout, --db-pool
  CacheOptions cache;                         // --cache-timeout-ms, --cache-pool
  // A remote cache sits behind a circuit breaker: --cache-breaker-failures
  // (0 disables it), --cache-breaker-open-ms.
  BreakerOptions breaker;
  // --near-cache (serve) or ROWCACHE_NEAR_CACHE=1: an in-process near cache
  // in front of Redis, kept coherent by CLIENT TRACKING; sized by
  // --near-cache-entries and --near-cache-bytes.
  bool near_cache = false;
  // --allow-cascade-children (env ROWCACHE_ALLOW_CASCADE_CHILDREN=1): serve a
  // table whose rows an ON UPDATE/DELETE CASCADE changes (stale until the TTL).
  bool allow_cascade_children = false;
  NearCacheOptions near;
};

// Whether the batch limits suit the store (--max-batch at most its
// MaxBatch(): a write is one transaction) and, for the Lambda front door
// (lambda), whether every read's answer fits in a Lambda response
// (--max-read-batch at most kDefaultMaxReadBatch). InvalidArgument naming
// the flag if not. Reads larger than the store's MaxIdsPerQuery() are split.
Status CheckBatchLimits(const ServiceOptions& opts, const Store& store, bool lambda);

// The value flags ServiceConfigFromFlags reads; add them to a command's own.
const std::set<std::string>& ServiceFlagNames();

// Flags win over environment variables (ROWCACHE_DB, ROWCACHE_CACHE,
// ROWCACHE_KEY_PREFIX, ROWCACHE_TTL, ROWCACHE_TTL_JITTER, ROWCACHE_MAX_BATCH, ROWCACHE_MAX_READ_BATCH,
// ROWCACHE_DB_TIMEOUT, ROWCACHE_DB_POOL, ROWCACHE_CACHE_TIMEOUT_MS, ROWCACHE_CACHE_POOL,
// ROWCACHE_CACHE_BREAKER_FAILURES, ROWCACHE_CACHE_BREAKER_OPEN_MS),
// which win over the defaults. --db-password-file / ROWCACHE_DB_PASSWORD_FILE
// and --cache-password-file / ROWCACHE_CACHE_PASSWORD_FILE put the password
// read from that file into the mysql:// or redis(s):// URL (in place of one
// the URL has).
Result<ServiceConfig> ServiceConfigFromFlags(const Flags& flags);

// Opens both backends and creates the schema. Unavailable if the database
// cannot be reached (a configuration error at start-up: the caller exits).
// A remote cache is connected to at once: a wrong password, a certificate
// that fails verification, a database index a cluster does not have or a
// cache that refuses our commands is an error (the caller exits: a service
// that cannot use its cache must not look healthy); an unreachable cache is
// only a warning (cache_warning), since the service works without it.
struct Backends {
  std::unique_ptr<Store> store;
  // The served table as the database describes it (ServedTableSchema), read
  // and checked when OpenBackends ensures the schema; empty otherwise.
  TableSchema schema;
  std::unique_ptr<Cache> cache;          // null for "none"
  std::shared_ptr<redis::Client> redis;  // the client under a redis:// or rediss:// cache, else null
  // A remote cache that could not be reached at start (the service runs and
  // uses the database meanwhile); empty if it answered.
  std::string cache_warning;
  // With the near cache: the near cache (also used by the HTTP fast path)
  // and its invalidation tracker, which the caller must Poll (a thread in
  // serve; at each invocation in Lambda).
  std::shared_ptr<NearCache> near;
  std::unique_ptr<redis::Tracker> tracker;
};
// metrics (may be null) receives the circuit breaker's counters.
Result<Backends> OpenBackends(const ServiceConfig& cfg, bool ensure_schema = true,
                              Metrics* metrics = nullptr);

// A secret from a file (--auth-token-file, --db-password-file,
// --cache-password-file): at most 4096 bytes, trailing line breaks removed;
// a file readable by others is warned about on stderr, prefixed with `who`.
// Messages name `what` and the path, never the contents.
Result<std::string> ReadSecretFile(const std::string& what, const std::string& path, const char* who);

// --db-password-file / ROWCACHE_DB_PASSWORD_FILE and --cache-password-file /
// ROWCACHE_CACHE_PASSWORD_FILE: the password read from the file replaces the
// one in *db_url (mysql://) or *cache_url (redis://, rediss://; may be null
// for a command without a cache). InvalidArgument for another kind of URL,
// an unreadable or empty file.
Status ApplyPasswordFiles(const Flags& f, std::string* db_url, std::string* cache_url);

// The bearer token from --auth-token / --auth-token-file, or else their
// environment variables ROWCACHE_AUTH_TOKEN / ROWCACHE_AUTH_TOKEN_FILE: ""
// for none. Visible ASCII only, at most 4096 bytes; a file readable by others
// is warned about on stderr, prefixed with `who`. Messages never contain the
// token. (serve checks it; bench sends it.)
Result<std::string> AuthTokenFromFlags(const Flags& flags, const char* who);

}  // namespace rowcache
