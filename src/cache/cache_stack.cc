#include "cache/cache_stack.h"

#include "cache/cache_factory.h"

namespace rowcache {

namespace {

redis::Tracker::Callbacks NearCacheCallbacks(const std::shared_ptr<NearCache>& near_cache, Metrics* metrics) {
  std::weak_ptr<NearCache> near = near_cache;
  redis::Tracker::Callbacks cb;
  cb.invalidate = [near](std::string_view key) {
    if (auto n = near.lock()) n->Invalidate(key);
  };
  cb.reset = [near] {
    if (auto n = near.lock()) n->SetServing(false);
  };
  cb.ready = [near] {
    if (auto n = near.lock()) n->SetServing(true);
  };
  cb.coherent_as_of = [near](int64_t t) {
    if (auto n = near.lock()) n->SetCoherentAsOf(t);
  };
  cb.malformed = [metrics] {
    if (metrics) metrics->tracking_malformed.fetch_add(1, std::memory_order_relaxed);
  };
  return cb;
}

}  // namespace

Result<CacheStack> OpenCacheStack(const CacheStackOptions& opts, Metrics* metrics) {
  CacheStack b;
  auto cache = OpenCacheParts(opts.url, opts.cache);
  if (!cache.ok()) return cache.status();
  b.cache = std::move(cache->cache);
  b.redis = std::move(cache->redis);
  if (b.redis) {
    Status s = b.redis->Start();
    if (!s.ok()) {
      if (s.IsInvalidArgument()) return s;
      std::string cls = b.redis->health().Get(SteadyNanos()).last_error_class;
      if (cls == "auth" || cls == "tls" || cls == "crossslot" || cls == "protocol" || cls == "other") {
        return Status::InvalidArgument("cache " + b.redis->Describe() + " cannot be used: " + s.message());
      }
      b.warning = "cache " + b.redis->Describe() +
                  " unreachable at start (serving from the database until it answers): " + s.message();
    }
  }
  bool remote = opts.url.rfind("redis", 0) == 0;
  if (b.cache && remote && opts.breaker.failures_to_open > 0) {
    b.cache = NewCircuitBreakerCache(std::move(b.cache), opts.breaker, metrics);
  }
  if (opts.near_cache && b.redis) {
    // Outermost, so that this instance's own writes drop near entries even
    // when the breaker refuses the Redis call.
    b.near = std::make_shared<NearCache>(opts.near);
    b.tracker =
        std::make_unique<redis::Tracker>(b.redis, opts.key_prefix, NearCacheCallbacks(b.near, metrics));
    b.cache = NewNearCachedCache(b.near, std::move(b.cache), opts.key_prefix);
  }
  return b;
}

}  // namespace rowcache
