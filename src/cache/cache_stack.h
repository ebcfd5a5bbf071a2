// The assembled cache stack a service runs on, built from the cache URL: the
// cache (for redis:// and rediss:// behind a circuit breaker and, with the near
// cache, behind that), the Redis client under it (which the HTTP fast read
// path shares) and the near cache's invalidation tracker.
#pragma once

#include <memory>
#include <string>

#include "cache/circuit_breaker.h"
#include "cache/near_cache.h"
#include "redis/client.h"
#include "redis/tracking.h"
#include "rowcache/cache.h"
#include "rowcache/metrics.h"

namespace rowcache {

struct CacheStackOptions {
  std::string url = "memory://";  // redis://, rediss://, memory:// or none
  CacheOptions cache;
  // A remote cache sits behind a circuit breaker (failures_to_open 0: none).
  BreakerOptions breaker;
  // An in-process near cache in front of Redis, kept coherent by CLIENT
  // TRACKING of the keys under key_prefix (redis:// and rediss:// only).
  bool near_cache = false;
  NearCacheOptions near;
  std::string key_prefix;
};

struct CacheStack {
  std::unique_ptr<Cache> cache;          // the outermost layer; null for "none"
  std::shared_ptr<redis::Client> redis;  // the client under a redis:// or rediss:// cache, else null
  // A remote cache that could not be reached at start (the service runs and
  // uses the database meanwhile); empty if it answered.
  std::string warning;
  // With the near cache: the near cache (also used by the HTTP fast path)
  // and its invalidation tracker, which the caller must Poll.
  std::shared_ptr<NearCache> near;
  std::unique_ptr<redis::Tracker> tracker;
};

// Builds the stack and connects to a remote cache at once: a wrong password,
// a certificate that fails verification, a database index a cluster does not
// have or a cache that refuses our commands is InvalidArgument (a service
// that cannot use its cache must not look healthy); an unreachable cache is
// only a warning, since the service works without it. metrics (may be null)
// receives the circuit breaker's and the tracker's counters.
Result<CacheStack> OpenCacheStack(const CacheStackOptions& opts, Metrics* metrics);

}  // namespace rowcache
