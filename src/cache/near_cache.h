// NearCache: an in-process copy of Redis entries, kept coherent by Redis's
// invalidation messages (redis::Tracker), in front of the Redis cache.
//
// Rules (docs/reliability.md, "Near cache"):
// - An entry is served only while invalidation tracking is healthy: on any
//   loss of the channel the near cache is flushed and bypassed until
//   tracking is back (SetServing).
// - An entry is stored only if nothing invalidated its shard, and no flush
//   happened, since the caller took a Ticket -- taken before the Redis read
//   that produced the value. So a value read before a change, whose
//   invalidation overtook it, cannot land.
// - This instance's own writes drop the entries before the write is
//   answered (NearCachedCache::Invalidate, which the service calls).
// - An entry never outlives its Redis entry: it expires when the Redis TTL
//   read with it runs out.
// - Memory is bounded: LRU by bytes (and entries), per shard.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rowcache/cache.h"

namespace rowcache {

struct NearCacheOptions {
  // Most entries and bytes (keys + values + overhead) held. Default:
  // 100,000 and 64 MiB.
  size_t max_entries = 100000;
  size_t max_bytes = 64u << 20;
  // Entries are served only while the invalidation channel has proven,
  // within this many ms, that everything up to then was delivered (a PING
  // answered: SetCoherentAsOf). The bound on how stale a near hit can be.
  // Default: 300 ms.
  int64_t max_lag_ms = 300;
};

class NearCache {
 public:
  explicit NearCache(NearCacheOptions opts, std::function<int64_t()> now_nanos = {});

  struct Ticket {
    uint64_t generation = 0;
    uint64_t shard_version = 0;
  };
  Ticket TicketFor(std::string_view key) const;

  // The value if present, unexpired, and the near cache is serving.
  std::optional<std::string> Get(std::string_view key);
  // Values of every key (in order) if all are present; else false.
  bool GetAll(std::span<const std::string> keys, std::vector<std::optional<std::string>>* out);
  // Stores value for ttl_ms (its Redis entry's remaining TTL) unless the
  // key's shard changed since ticket, or not serving.
  void Put(std::string_view key, std::string_view value, int64_t ttl_ms, Ticket ticket);

  void Invalidate(std::string_view key);  // drops key; refuses fills under older tickets of its shard
  void Flush();                           // drops everything; refuses fills under any older ticket
  // Tracking established (true: flushed, then serving) or lost (false:
  // flushed, bypassed).
  void SetServing(bool serving);
  // Every invalidation of a change made before t (steady ns) has been
  // applied: the channel answered a PING sent at t.
  void SetCoherentAsOf(int64_t t);
  // Serving, and coherent as of less than max_lag_ms ago.
  bool serving() const;

  struct Stats {
    uint64_t hits = 0, misses = 0, stored = 0, refused = 0, invalidated = 0, flushes = 0, evicted = 0;
    size_t entries = 0, bytes = 0;
  };
  Stats stats() const;

 private:
  static constexpr size_t kShards = 64;
  struct Node {
    std::string key, value;
    int64_t expires = 0;
    size_t bytes = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Node> lru;  // most recent first
    std::unordered_map<std::string_view, std::list<Node>::iterator> map;
    size_t bytes = 0;
    std::atomic<uint64_t> version{0};
  };
  Shard& ShardOf(std::string_view key) const;
  void EraseLocked(Shard& s, std::unordered_map<std::string_view, std::list<Node>::iterator>::iterator it);

  NearCacheOptions opts_;
  std::function<int64_t()> now_;
  mutable std::unique_ptr<Shard[]> shards_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> serving_{false};
  std::atomic<int64_t> coherent_as_of_{0};
  std::atomic<int64_t> total_entries_{0}, total_bytes_{0};
  mutable std::atomic<uint64_t> hits_{0}, misses_{0};
  std::atomic<uint64_t> stored_{0}, refused_{0}, invalidated_{0}, flushes_{0}, evicted_{0};
};

// The Cache interface with a NearCache in front of `inner` (the Redis cache,
// usually behind its circuit breaker): GetOrLease answers from the near
// cache when it can and fills it from what Redis returns (only entries that
// are canonical rows of their key, IsCanonicalEntry with key_prefix);
// Invalidate, Del, SetMany and SetIfLeaseHeld drop near entries first,
// whatever happens to the inner call.
std::unique_ptr<Cache> NewNearCachedCache(std::shared_ptr<NearCache> near, std::unique_ptr<Cache> inner,
                                          std::string key_prefix);

}  // namespace rowcache
