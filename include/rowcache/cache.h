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
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "rowcache/status.h"

namespace rowcache {

struct CacheEntry {
  std::string key;
  std::string value;
  int ttl_seconds = 0;  // > 0
};

// An entry stored only if the value at guard_key still equals expected_guard
// (nullopt: the guard key must be absent) -- checked and set atomically.
struct GuardedEntry {
  std::string key;
  std::string value;
  int ttl_seconds = 0;
  std::string guard_key;
  std::optional<std::string> expected_guard;
};

// What a cache reports of its own health (remote caches; see /healthz).
struct CacheHealth {
  // A call failed within the recent window (10 s for Redis).
  bool degraded = false;
  std::string last_error_class;  // e.g. "timeout", "crossslot", "auth"; "" if none ever
  uint64_t window_calls = 0, window_failures = 0;
  std::vector<std::pair<std::string, uint64_t>> errors_by_class;  // totals since start
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

  // For each entry, atomically: SET key value EX ttl only if GET guard_key
  // equals expected_guard. Entries whose guard changed are skipped (that is
  // the point). Returns how many were stored; errors are only failures to
  // talk to the cache.
  virtual Result<size_t> SetIfGuardUnchanged(std::span<const GuardedEntry> entries) = 0;

  // For each (key, guard_key) pair, atomically: DEL key, INCR guard_key,
  // EXPIRE guard_key guard_ttl_seconds. A fill guarded by the old guard value
  // can then no longer land.
  virtual Status Invalidate(std::span<const std::pair<std::string, std::string>> key_and_guard,
                            int guard_ttl_seconds) = 0;

  virtual Status Ping() = 0;

  // "redis://127.0.0.1:6379/0" (no password), "memory://".
  virtual std::string Describe() const = 0;

  // Embedded caches never fail: the default says so.
  virtual CacheHealth Health() const { return {}; }
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
