// RedisCache: the Cache interface over the Redis client (src/redis): Redis 7 /
// Valkey / ElastiCache, standalone or cluster, plain TCP ("redis://") or TLS
// ("rediss://").
#pragma once

#include <memory>

#include "redis/client.h"
#include "rowcache/cache.h"

namespace rowcache {

// The cache over client (shared with other users of the same client, such
// as the HTTP server's fast read path). Keys that must change together (an
// entry and its guard) must share a hash tag; every operation is one call
// of the client (one round trip per node involved).
// lookups_need_ttl: see CacheOptions.
std::unique_ptr<Cache> NewRedisCache(std::shared_ptr<redis::Client> client, bool lookups_need_ttl = true);

}  // namespace rowcache
