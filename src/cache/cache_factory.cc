#include <cstdlib>

#include "cache/memory_cache.h"
#include "cache/redis_cache.h"
#include "rowcache/cache.h"
#include "rowcache/url.h"

namespace rowcache {

Result<std::unique_ptr<Cache>> OpenCache(const std::string& url, const CacheOptions& opts) {
  if (url == "none" || url.empty()) return std::unique_ptr<Cache>();
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
    return NewMemoryCache(max_entries);
  }
  if (u->scheme == "redis" || u->scheme == "rediss") return NewRedisCache(u.value(), opts);
  return Status::InvalidArgument("cache URL '" + u->Redacted() +
                                 "': unknown scheme (expected redis://, rediss://, memory:// or none)");
}

}  // namespace rowcache
