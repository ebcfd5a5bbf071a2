#include "cache/cache_factory.h"

#include <cstdlib>

#include "cache/memory_cache.h"
#include "cache/redis_cache.h"
#include "rowcache/url.h"

namespace rowcache {

Result<OpenedCache> OpenCacheParts(const std::string& url, const CacheOptions& opts) {
  OpenedCache out;
  if (url == "none" || url.empty()) return out;
  auto u = ParseUrl(url);
  if (!u.ok()) return Status::InvalidArgument("cache URL: " + u.status().message());
  if (u->scheme == "memory") {
    size_t max_entries = opts.memory_max_entries;
    if (auto it = u->query.find("max_entries"); it != u->query.end()) {
      char* end = nullptr;
      unsigned long long n = std::strtoull(it->second.c_str(), &end, 10);
      if (it->second.empty() || *end != '\0' || n == 0 || n > (1ULL << 32)) {
        return Status::InvalidArgument("cache URL: max_entries must be a positive whole number");
      }
      max_entries = static_cast<size_t>(n);
    }
    out.cache = NewMemoryCache(max_entries);
    return out;
  }
  if (u->scheme == "redis" || u->scheme == "rediss") {
    auto o = redis::OptionsFromUrl(u.value());
    if (!o.ok()) return o.status();
    o->timeout = opts.timeout;
    o->max_connections = opts.max_connections;
    o->refresh_credentials = opts.refresh_credentials;
    out.redis = std::make_shared<redis::Client>(std::move(o.value()));
    out.cache = NewRedisCache(out.redis, opts.lookups_need_ttl);
    return out;
  }
  return Status::InvalidArgument("cache URL '" + u->Redacted() +
                                 "': unknown scheme (expected redis://, rediss://, memory:// or none)");
}

Result<std::unique_ptr<Cache>> OpenCache(const std::string& url, const CacheOptions& opts) {
  auto parts = OpenCacheParts(url, opts);
  if (!parts.ok()) return parts.status();
  return std::move(parts->cache);
}

}  // namespace rowcache
