// RedisCache: Redis 7 / Valkey over RESP2, plain TCP ("redis://") or TLS ("rediss://").
#pragma once

#include <memory>

#include "rowcache/cache.h"
#include "rowcache/url.h"

namespace rowcache {

// url: redis://[user:pass@]host[:port][/db]  (port 6379, db 0 by default)
// Connects lazily; InvalidArgument for a bad URL.
Result<std::unique_ptr<Cache>> NewRedisCache(const Url& url, const CacheOptions& opts);

}  // namespace rowcache
