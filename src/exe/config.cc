#include "exe/config.h"

#include <algorithm>
#include <cstdlib>

#include "cache/cache_factory.h"

#include "rowcache/url.h"

namespace rowcache {

const std::set<std::string>& ServiceFlagNames() {
  static const std::set<std::string> names = {"db",          "cache",      "key-prefix",       "ttl",
                                              "ttl-jitter",  "max-batch",  "db-timeout",       "db-pool",
                                              "cache-timeout-ms", "cache-pool",  "cache-breaker-failures", "cache-breaker-open-ms"};
  return names;
}

Result<ServiceConfig> ServiceConfigFromFlags(const Flags& f) {
  ServiceConfig c;
  c.db_url = f.Get("db", "ROWCACHE_DB", c.db_url);
  c.cache_url = f.Get("cache", "ROWCACHE_CACHE", c.cache_url);
  c.service.key_prefix = f.Get("key-prefix", "ROWCACHE_KEY_PREFIX", c.service.key_prefix);
  if (c.service.key_prefix.size() > 200) return Status::InvalidArgument("--key-prefix: longer than 200 bytes");

  auto ttl = ParseIntFlag("ttl", f.Get("ttl", "ROWCACHE_TTL", std::to_string(c.service.ttl_seconds)), 1,
                          365LL * 24 * 3600);
  if (!ttl.ok()) return ttl.status();
  c.service.ttl_seconds = static_cast<int>(*ttl);
  auto jitter = ParseDoubleFlag("ttl-jitter", f.Get("ttl-jitter", "ROWCACHE_TTL_JITTER", "0.1"), 0.0, 0.9);
  if (!jitter.ok()) return jitter.status();
  c.service.ttl_jitter = *jitter;
  auto batch = ParseIntFlag("max-batch", f.Get("max-batch", "ROWCACHE_MAX_BATCH", "1000"), 1, 100000);
  if (!batch.ok()) return batch.status();
  c.service.max_batch = static_cast<size_t>(*batch);

  auto dbt = ParseIntFlag("db-timeout", f.Get("db-timeout", "ROWCACHE_DB_TIMEOUT", "5"), 1, 3600);
  if (!dbt.ok()) return dbt.status();
  c.store.timeout_seconds = static_cast<int>(*dbt);
  // A lease must outlive a database read or commit (Connector/C may take up
  // to three read timeouts); a write with an unknown outcome is surely
  // finished by the database two timeouts after we gave up on it.
  c.service.lease_ms = std::max(15'000, static_cast<int>(*dbt) * 3000 + 1000);
  c.service.unknown_outcome_delay_nanos = (2 * *dbt + 2) * 1'000'000'000LL;
  if (const char* m = std::getenv("ROWCACHE_TEST_MUTATION"); m && *m) {
#ifdef ROWCACHE_TEST_MUTATIONS
    std::string mut = m;
    if (mut != "insert-guard" && mut != "fill-guard" && mut != "unknown-outcome") {
      return Status::InvalidArgument("ROWCACHE_TEST_MUTATION: expected insert-guard, fill-guard or unknown-outcome");
    }
    c.service.test_mutation = mut;
#else
    return Status::InvalidArgument(
        "ROWCACHE_TEST_MUTATION is set, but this build has no test mutations (cmake -DROWCACHE_TEST_MUTATIONS=ON)");
#endif
  }
  auto dbp = ParseIntFlag("db-pool", f.Get("db-pool", "ROWCACHE_DB_POOL", "16"), 1, 1024);
  if (!dbp.ok()) return dbp.status();
  c.store.max_connections = static_cast<int>(*dbp);
  auto ct = ParseIntFlag("cache-timeout-ms", f.Get("cache-timeout-ms", "ROWCACHE_CACHE_TIMEOUT_MS", "250"), 1,
                         600000);
  if (!ct.ok()) return ct.status();
  c.cache.timeout = std::chrono::milliseconds(*ct);
  auto cp = ParseIntFlag("cache-pool", f.Get("cache-pool", "ROWCACHE_CACHE_POOL", "32"), 1, 1024);
  if (!cp.ok()) return cp.status();
  c.cache.max_connections = static_cast<int>(*cp);
  auto bf = ParseIntFlag("cache-breaker-failures",
                         f.Get("cache-breaker-failures", "ROWCACHE_CACHE_BREAKER_FAILURES", "3"), 0, 1000);
  if (!bf.ok()) return bf.status();
  c.breaker.failures_to_open = static_cast<int>(*bf);
  auto bo = ParseIntFlag("cache-breaker-open-ms",
                         f.Get("cache-breaker-open-ms", "ROWCACHE_CACHE_BREAKER_OPEN_MS", "1000"), 1, 3600000);
  if (!bo.ok()) return bo.status();
  c.breaker.open_for = std::chrono::milliseconds(*bo);
  return c;
}

Result<Backends> OpenBackends(const ServiceConfig& cfg, bool ensure_schema, Metrics* metrics) {
  Backends b;
  auto store = OpenStore(cfg.db_url, cfg.store);
  if (!store.ok()) return store.status();
  b.store = std::move(store.value());
  if (ensure_schema) {
    Status s = b.store->EnsureSchema();
    if (!s.ok()) return s;
  }
  auto cache = OpenCacheParts(cfg.cache_url, cfg.cache);
  if (!cache.ok()) return cache.status();
  b.cache = std::move(cache->cache);
  b.redis = std::move(cache->redis);
  if (b.redis) {
    Status s = b.redis->Start();
    if (!s.ok()) {
      if (s.IsInvalidArgument()) return s;
      std::string cls = b.redis->health().Get(redis::SteadyNanos()).last_error_class;
      if (cls == "auth" || cls == "tls" || cls == "crossslot" || cls == "protocol" || cls == "other") {
        return Status::InvalidArgument("cache " + b.redis->Describe() + " cannot be used: " + s.message());
      }
      b.cache_warning = "cache " + b.redis->Describe() + " unreachable at start (serving from the database until it answers): " + s.message();
    }
  }
  bool remote = cfg.cache_url.rfind("redis", 0) == 0;
  if (b.cache && remote && cfg.breaker.failures_to_open > 0) {
    b.cache = NewCircuitBreakerCache(std::move(b.cache), cfg.breaker, metrics);
  }
  return b;
}

}  // namespace rowcache
