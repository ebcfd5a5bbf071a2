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
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rowcache/credentials.h"
#include "rowcache/status.h"

namespace rowcache {

struct CacheEntry {
  std::string key;
  std::string value;
  int ttl_seconds = 0;  // > 0
};

// A row's entry and its guard. The guard key holds a lease: a token that a
// reader (on a miss) or a writer (before its commit) sets, and that a fill
// must still find there to land. Invalidation deletes both keys, so any fill
// whose lease predates it is refused -- and so is a fill whose lease was lost
// (evicted, flushed, a restart): a fill lands only on positive proof. A fill
// uses its lease up; a reader that does not fill (the id has no row)
// releases its own lease (ReleaseLeases), so a read leaves no key behind.
struct KeyAndGuard {
  std::string key;
  std::string guard_key;
};

// What a lookup that may take a lease found.
struct LeasedLookup {
  std::optional<std::string> value;  // the entry, if present
  bool leased = false;               // missing, and this caller's token now holds the guard
  int64_t ttl_ms = -1;               // the entry's remaining lifetime (-1: unknown)
};

// An entry stored only if guard_key still holds lease (atomically).
struct LeasedEntry {
  std::string key;
  std::string value;
  int ttl_seconds = 0;
  std::string guard_key;
  std::string lease;
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

  // For each pair, atomically: the entry (and its remaining TTL) if present;
  // else SET guard_key token only if guard_key is absent (NX), with a
  // lifetime of lease_ms.
  virtual Result<std::vector<LeasedLookup>> GetOrLease(std::span<const KeyAndGuard> keys,
                                                       std::string_view token, int lease_ms) = 0;

  // SET guard_key token for each guard key, whatever it held (a writer's
  // lease, taken before its commit), with a lifetime of lease_ms.
  virtual Status Lease(std::span<const std::string> guard_keys, std::string_view token, int lease_ms) = 0;

  // For each entry, atomically: if guard_key holds entry.lease, SET key value
  // EX ttl and delete the guard (the lease is used up). Entries whose lease
  // is gone are skipped (that is the point). Returns how many were stored;
  // errors are only failures to talk to the cache.
  virtual Result<size_t> SetIfLeaseHeld(std::span<const LeasedEntry> entries) = 0;

  // For each guard key, atomically: DEL guard_key only if it still holds
  // token -- a lease this caller took (GetOrLease) and did not use up, such
  // as one for an id the database has no row for. A guard holding anything
  // else (a writer's lease, a later reader's) is left alone, so a release
  // never lets a fill land that would not have landed anyway. Returns how
  // many leases were released; errors are only failures to talk to the cache.
  virtual Result<size_t> ReleaseLeases(std::span<const std::string> guard_keys, std::string_view token) = 0;

  // For each pair, atomically: DEL key guard_key. A fill under any earlier
  // lease can then no longer land.
  virtual Status Invalidate(std::span<const KeyAndGuard> keys) = 0;

  // SET key value EX ttl for each entry, pipelined (unconditional: tools and
  // tests only; the service's writes are all conditional).
  virtual Status SetMany(std::span<const CacheEntry> entries) = 0;

  // DEL keys (missing keys are fine).
  virtual Status Del(std::span<const std::string> keys) = 0;

  virtual Status Ping() = 0;

  // "redis://127.0.0.1:6379/0" (no password), "memory://".
  virtual std::string Describe() const = 0;

  // Embedded caches never fail: the default says so.
  virtual CacheHealth Health() const { return {}; }
};

// See CacheOptions::lookups_need_ttl.
inline constexpr size_t kMgetFirstKeys = 64;

struct CacheOptions {
  // Connect and per-command timeout for remote caches. 0 means no timeout
  // (never used by rowcache itself). Default: 250 ms.
  std::chrono::milliseconds timeout{250};
  // Most connections a remote cache keeps open. Default: 32.
  int max_connections = 32;
  // redis:// and rediss://: whether GetOrLease must give each entry's
  // remaining TTL (a near cache in front keeps no entry longer than Redis
  // does). When false, a lookup of more than kMgetFirstKeys keys is one MGET
  // first and the get-or-lease script for the misses only (a script per key
  // costs Redis about ten times an MGET's share), and hits have ttl_ms -1.
  // Default: true.
  bool lookups_need_ttl = true;
  // memory:// only: most entries kept before LRU eviction. Default: 100000.
  size_t memory_max_entries = 100000;
  // redis:// and rediss://: a rotated password. Called when the server
  // refuses AUTH on a new connection; fresh credentials (an empty user keeps
  // the user the cache has) or nullopt (see
  // redis::Options::refresh_credentials: one retry, at most one call a second).
  std::function<std::optional<Credentials>()> refresh_credentials;
};

// "memory://" | "memory://?max_entries=N" | "redis://..." | "rediss://..." | "none".
// For "none" the Result holds a null pointer. InvalidArgument for a bad URL.
Result<std::unique_ptr<Cache>> OpenCache(const std::string& url, const CacheOptions& opts = {});

}  // namespace rowcache
