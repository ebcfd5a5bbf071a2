#include "cache/near_cache.h"

#include <chrono>
#include <limits>

#include "rowcache/clock.h"
#include "rowcache/service.h"

namespace rowcache {

namespace {
// t + ms milliseconds in ns, saturating at the ends of int64: a TTL from
// Redis (or a lag from the configuration) too large for nanoseconds means
// "as late as can be", never a wrap into the past (or undefined behaviour).
int64_t PlusMillis(int64_t t, int64_t ms) {
  int64_t ns = 0, out = 0;
  if (__builtin_mul_overflow(ms, int64_t{1'000'000}, &ns)) {
    return ms > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  if (__builtin_add_overflow(t, ns, &out)) {
    return ns > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return out;
}
}  // namespace

NearCache::NearCache(NearCacheOptions opts, std::function<int64_t()> now_nanos)
    : opts_(opts), now_(now_nanos ? std::move(now_nanos) : SteadyNanos), shards_(new Shard[kShards]) {}

bool NearCache::serving() const {
  return serving_.load(std::memory_order_acquire) &&
         now_() <= PlusMillis(coherent_as_of_.load(std::memory_order_acquire), opts_.max_lag_ms);
}

void NearCache::SetCoherentAsOf(int64_t t) {
  int64_t cur = coherent_as_of_.load(std::memory_order_relaxed);
  while (t > cur && !coherent_as_of_.compare_exchange_weak(cur, t, std::memory_order_acq_rel)) {
  }
}

NearCache::Shard& NearCache::ShardOf(std::string_view key) const {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

NearCache::Ticket NearCache::TicketFor(std::string_view key) const {
  // The generation first: a flush between the two reads makes the ticket
  // older than the flush, never newer.
  Ticket t;
  t.generation = generation_.load(std::memory_order_acquire);
  t.shard_version = ShardOf(key).version.load(std::memory_order_acquire);
  return t;
}

std::optional<std::string> NearCache::Get(std::string_view key) {
  if (!serving()) return std::nullopt;
  Shard& s = ShardOf(key);
  int64_t now = now_();
  std::lock_guard l(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (it->second->expires <= now) {
    EraseLocked(s, it);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second->value;
}

bool NearCache::GetAll(std::span<const std::string> keys, std::vector<std::optional<std::string>>* out) {
  out->clear();
  if (!serving()) return false;
  for (const auto& k : keys) {
    auto v = Get(k);
    if (!v) return false;
    out->push_back(std::move(v));
  }
  return true;
}

void NearCache::Put(std::string_view key, std::string_view value, int64_t ttl_ms, Ticket ticket) {
  if (!serving() || ttl_ms <= 0) return;
  Shard& s = ShardOf(key);
  size_t bytes = key.size() + value.size() + sizeof(Node) + 64;
  size_t shard_bytes = opts_.max_bytes / kShards,
         shard_entries = std::max<size_t>(1, opts_.max_entries / kShards);
  if (bytes > shard_bytes) return;
  int64_t expires = PlusMillis(now_(), ttl_ms);
  std::lock_guard l(s.mu);
  // Checked under the shard's lock, which Invalidate also takes: an
  // invalidation is either before this check (refused) or after the store
  // (it drops the entry).
  if (generation_.load(std::memory_order_acquire) != ticket.generation ||
      s.version.load(std::memory_order_acquire) != ticket.shard_version || !serving()) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (auto it = s.map.find(key); it != s.map.end()) EraseLocked(s, it);
  // Per shard and in total: the totals never exceed the limits.
  auto over = [&] {
    return s.bytes + bytes > shard_bytes || s.map.size() >= shard_entries ||
           total_entries_.load(std::memory_order_relaxed) + 1 > static_cast<int64_t>(opts_.max_entries) ||
           total_bytes_.load(std::memory_order_relaxed) + static_cast<int64_t>(bytes) >
               static_cast<int64_t>(opts_.max_bytes);
  };
  while (!s.lru.empty() && over()) {
    auto last = s.map.find(s.lru.back().key);
    EraseLocked(s, last);
    evicted_.fetch_add(1, std::memory_order_relaxed);
  }
  if (over()) {  // full, and this shard has nothing left to give
    refused_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  s.lru.push_front(Node{std::string(key), std::string(value), expires, bytes});
  s.map.emplace(s.lru.front().key, s.lru.begin());
  s.bytes += bytes;
  total_entries_.fetch_add(1, std::memory_order_relaxed);
  total_bytes_.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
  stored_.fetch_add(1, std::memory_order_relaxed);
}

void NearCache::EraseLocked(Shard& s,
                            std::unordered_map<std::string_view, std::list<Node>::iterator>::iterator it) {
  auto node = it->second;
  s.bytes -= node->bytes;
  total_entries_.fetch_sub(1, std::memory_order_relaxed);
  total_bytes_.fetch_sub(static_cast<int64_t>(node->bytes), std::memory_order_relaxed);
  s.map.erase(it);
  s.lru.erase(node);
}

void NearCache::Invalidate(std::string_view key) {
  Shard& s = ShardOf(key);
  std::lock_guard l(s.mu);
  s.version.fetch_add(1, std::memory_order_acq_rel);
  if (auto it = s.map.find(key); it != s.map.end()) {
    EraseLocked(s, it);
    invalidated_.fetch_add(1, std::memory_order_relaxed);
  }
}

void NearCache::Flush() {
  generation_.fetch_add(1, std::memory_order_acq_rel);
  flushes_.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < kShards; ++i) {
    Shard& s = shards_[i];
    std::lock_guard l(s.mu);
    s.version.fetch_add(1, std::memory_order_acq_rel);
    total_entries_.fetch_sub(static_cast<int64_t>(s.map.size()), std::memory_order_relaxed);
    total_bytes_.fetch_sub(static_cast<int64_t>(s.bytes), std::memory_order_relaxed);
    s.map.clear();
    s.lru.clear();
    s.bytes = 0;
  }
}

void NearCache::SetServing(bool serving) {
  if (!serving) {
    serving_.store(false, std::memory_order_release);
    Flush();
  } else {
    Flush();  // nothing from before tracking was (re)established survives
    SetCoherentAsOf(now_());
    serving_.store(true, std::memory_order_release);
  }
}

NearCache::Stats NearCache::stats() const {
  Stats st;
  st.hits = hits_.load(std::memory_order_relaxed);
  st.misses = misses_.load(std::memory_order_relaxed);
  st.stored = stored_.load(std::memory_order_relaxed);
  st.refused = refused_.load(std::memory_order_relaxed);
  st.invalidated = invalidated_.load(std::memory_order_relaxed);
  st.flushes = flushes_.load(std::memory_order_relaxed);
  st.evicted = evicted_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard l(shards_[i].mu);
    st.entries += shards_[i].map.size();
    st.bytes += shards_[i].bytes;
  }
  return st;
}

namespace {

class NearCachedCache final : public Cache {
 public:
  NearCachedCache(std::shared_ptr<NearCache> near, std::unique_ptr<Cache> inner, std::string prefix)
      : near_(std::move(near)), inner_(std::move(inner)), prefix_(std::move(prefix)) {}

  Result<std::vector<std::optional<std::string>>> MGet(std::span<const std::string> keys) override {
    return inner_->MGet(keys);
  }

  Result<std::vector<LeasedLookup>> GetOrLease(std::span<const KeyAndGuard> keys, std::string_view token,
                                               int lease_ms) override {
    std::vector<LeasedLookup> out(keys.size());
    std::vector<KeyAndGuard> rest;
    std::vector<size_t> rest_pos;
    std::vector<NearCache::Ticket> tickets;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (auto v = near_->Get(keys[i].key)) {
        out[i].value = std::move(v);
        continue;
      }
      tickets.push_back(near_->TicketFor(keys[i].key));
      rest.push_back(keys[i]);
      rest_pos.push_back(i);
    }
    if (rest.empty()) return out;
    auto got = inner_->GetOrLease(rest, token, lease_ms);
    if (!got.ok()) return got.status();
    for (size_t k = 0; k < rest.size(); ++k) {
      LeasedLookup& l = (*got)[k];
      if (l.value && IsCanonicalEntry(prefix_, rest[k].key, *l.value)) {
        near_->Put(rest[k].key, *l.value, l.ttl_ms, tickets[k]);
      }
      out[rest_pos[k]] = std::move(l);
    }
    return out;
  }

  Status Lease(std::span<const std::string> guard_keys, std::string_view token, int lease_ms) override {
    return inner_->Lease(guard_keys, token, lease_ms);
  }
  // Guards are never held near: only the inner cache has them.
  Result<size_t> ReleaseLeases(std::span<const std::string> guard_keys, std::string_view token) override {
    return inner_->ReleaseLeases(guard_keys, token);
  }
  // Writes drop the near entries before the Redis call (so this instance
  // never serves them again) and after it: a reader that took its ticket in
  // between may have read Redis before the change, and its fill must be
  // refused.
  Result<size_t> SetIfLeaseHeld(std::span<const LeasedEntry> entries) override {
    for (const auto& e : entries) near_->Invalidate(e.key);
    auto r = inner_->SetIfLeaseHeld(entries);
    for (const auto& e : entries) near_->Invalidate(e.key);
    return r;
  }
  Status Invalidate(std::span<const KeyAndGuard> keys) override {
    for (const auto& k : keys) near_->Invalidate(k.key);
    Status s = inner_->Invalidate(keys);
    for (const auto& k : keys) near_->Invalidate(k.key);
    return s;
  }
  Status SetMany(std::span<const CacheEntry> entries) override {
    for (const auto& e : entries) near_->Invalidate(e.key);
    Status s = inner_->SetMany(entries);
    for (const auto& e : entries) near_->Invalidate(e.key);
    return s;
  }
  Status Del(std::span<const std::string> keys) override {
    for (const auto& k : keys) near_->Invalidate(k);
    Status s = inner_->Del(keys);
    for (const auto& k : keys) near_->Invalidate(k);
    return s;
  }
  Status Ping() override { return inner_->Ping(); }
  std::string Describe() const override { return inner_->Describe() + " + near cache"; }
  CacheHealth Health() const override { return inner_->Health(); }

 private:
  std::shared_ptr<NearCache> near_;
  std::unique_ptr<Cache> inner_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<Cache> NewNearCachedCache(std::shared_ptr<NearCache> near, std::unique_ptr<Cache> inner,
                                          std::string key_prefix) {
  return std::make_unique<NearCachedCache>(std::move(near), std::move(inner), std::move(key_prefix));
}

}  // namespace rowcache
