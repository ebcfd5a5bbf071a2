// Cache: a key/value store with per-key TTL in front of the Store.
//
// Implementations: MemoryCache ("memory://", in-process LRU with TTL, the
// default), RedisCache ("redis://[user:pass@]host:port[/db]", Redis 7 /
// Valkey; "rediss://" for TLS), and "none" (no cache: OpenCache returns null).
//
// Contract:
// - Safe to call from many threads at once.
// - Each call is ONE round trip to a remote cache (MGET, or a pipeline).
// - A missing key is std::nullopt, not an error. Errors (down, timeout,
//   protocol) are Status::Unavailable, and never leave the caller blocked for
//   longer than the configured timeout.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rowcache/status.h"

namespace rowcache {

struct CacheEntry {
  std::string key;
  std::string value;
  int ttl_seconds = 0;  // > 0
};

class Cache {
 public:
  virtual ~Cache() = default;

  // Values for keys, in the same order; nullopt for a missing/expired key.
  virtual Result<std::vector<std::optional<std::string>>> MGet(std::span<const std::string> keys) = 0;

  // SET key value EX ttl for each entry, pipelined.
  virtual Status SetMany(std::span<const CacheEntry> entries) = 0;

  // DEL keys (missing keys are fine).
  virtual Status Del(std::span<const std::string> keys) = 0;

  virtual Status Ping() = 0;

  // "redis://127.0.0.1:6379/0" (no password), "memory://".
  virtual std::string Describe() const = 0;
};

struct CacheOptions {
  // Connect and per-command timeout for remote caches. 0 means no timeout
  // (never used by rowcache itself). Default: 250 ms.
  std::chrono::milliseconds timeout{250};
  // Most connections a remote cache keeps open. Default: 32.
  int max_connections = 32;
  // memory:// only: most entries kept before LRU eviction. Default: 100000.
  size_t memory_max_entries = 100000;
};

// "memory://" | "memory://?max_entries=N" | "redis://..." | "rediss://..." | "none".
// For "none" the Result holds a null pointer. InvalidArgument for a bad URL.
Result<std::unique_ptr<Cache>> OpenCache(const std::string& url, const CacheOptions& opts = {});

}  // namespace rowcache
