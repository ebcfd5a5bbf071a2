// The cache factory's parts, for the wiring in src/exe: the cache, and (for
// redis:// and rediss://) the Redis client under it, which the HTTP server's
// fast read path shares.
#pragma once

#include <memory>
#include <string>

#include "redis/client.h"
#include "rowcache/cache.h"

namespace rowcache {

struct OpenedCache {
  std::unique_ptr<Cache> cache;          // null for "none"
  std::shared_ptr<redis::Client> redis;  // null unless redis:// or rediss://
};

Result<OpenedCache> OpenCacheParts(const std::string& url, const CacheOptions& opts);

}  // namespace rowcache
