#include "cache/memory_cache.h"

#include <list>
#include <mutex>
#include <unordered_map>

namespace rowcache {

namespace {

using Clock = std::chrono::steady_clock;

// One mutex around a hash map + LRU list. Entries past their TTL are dropped
// when looked up; when full, the least recently used entry is evicted.
class MemoryCache final : public Cache {
 public:
  MemoryCache(size_t max_entries, std::function<Clock::time_point()> now)
      : max_entries_(max_entries == 0 ? 1 : max_entries), now_(std::move(now)) {}

  Result<std::vector<std::optional<std::string>>> MGet(std::span<const std::string> keys) override {
    std::vector<std::optional<std::string>> out(keys.size());
    auto now = now_();
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (const std::string* v = GetLocked(keys[i], now)) out[i] = *v;
    }
    return out;
  }

  Status SetMany(std::span<const CacheEntry> entries) override {
    auto now = now_();
    std::lock_guard lock(mu_);
    for (const auto& e : entries) PutLocked(e.key, e.value, now + std::chrono::seconds(e.ttl_seconds));
    return Status::OK();
  }

  Result<std::vector<LeasedLookup>> GetOrLease(std::span<const KeyAndGuard> keys, std::string_view token,
                                               int lease_ms) override {
    std::vector<LeasedLookup> out(keys.size());
    auto now = now_();
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (const std::string* v = GetLocked(keys[i].key, now)) {
        out[i].value = *v;
        out[i].ttl_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(map_.at(keys[i].key)->expires - now)
                .count();
      } else if (!GetLocked(keys[i].guard_key, now)) {
        PutLocked(keys[i].guard_key, std::string(token), now + std::chrono::milliseconds(lease_ms));
        out[i].leased = true;
      }
    }
    return out;
  }

  Status Lease(std::span<const std::string> guard_keys, std::string_view token, int lease_ms) override {
    auto now = now_();
    std::lock_guard lock(mu_);
    for (const auto& g : guard_keys)
      PutLocked(g, std::string(token), now + std::chrono::milliseconds(lease_ms));
    return Status::OK();
  }

  Result<size_t> SetIfLeaseHeld(std::span<const LeasedEntry> entries) override {
    auto now = now_();
    size_t stored = 0;
    std::lock_guard lock(mu_);
    for (const auto& e : entries) {
      const std::string* guard = GetLocked(e.guard_key, now);
      if (!guard || *guard != e.lease) continue;
      EraseLocked(e.guard_key);
      PutLocked(e.key, e.value, now + std::chrono::seconds(e.ttl_seconds));
      ++stored;
    }
    return stored;
  }

  Result<size_t> ReleaseLeases(std::span<const std::string> guard_keys, std::string_view token) override {
    auto now = now_();
    size_t released = 0;
    std::lock_guard lock(mu_);
    for (const auto& g : guard_keys) {
      const std::string* lease = GetLocked(g, now);
      if (!lease || *lease != token) continue;
      EraseLocked(g);
      ++released;
    }
    return released;
  }

  Status Invalidate(std::span<const KeyAndGuard> keys) override {
    std::lock_guard lock(mu_);
    for (const auto& k : keys) {
      EraseLocked(k.key);
      EraseLocked(k.guard_key);
    }
    return Status::OK();
  }

  Status Del(std::span<const std::string> keys) override {
    std::lock_guard lock(mu_);
    for (const auto& k : keys) EraseLocked(k);
    return Status::OK();
  }

  Status Ping() override { return Status::OK(); }
  std::string Describe() const override { return "memory://?max_entries=" + std::to_string(max_entries_); }

 private:
  // The live value at key (refreshing its LRU position), or null.
  const std::string* GetLocked(const std::string& key, Clock::time_point now) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (it->second->expires <= now) {
      lru_.erase(it->second);
      map_.erase(it);
      return nullptr;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    return &it->second->value;
  }

  void PutLocked(const std::string& key, const std::string& value, Clock::time_point expires) {
    auto it = map_.find(key);
    if (it != map_.end()) {
      it->second->value = value;
      it->second->expires = expires;
      lru_.splice(lru_.begin(), lru_, it->second);
      return;
    }
    if (map_.size() >= max_entries_) {
      map_.erase(lru_.back().key);
      lru_.pop_back();
    }
    lru_.push_front(Node{key, value, expires});
    map_.emplace(key, lru_.begin());
  }

  void EraseLocked(const std::string& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return;
    lru_.erase(it->second);
    map_.erase(it);
  }

  struct Node {
    std::string key;
    std::string value;
    Clock::time_point expires;
  };
  const size_t max_entries_;
  std::function<Clock::time_point()> now_;
  std::mutex mu_;
  std::list<Node> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Node>::iterator> map_;
};

}  // namespace

std::unique_ptr<Cache> NewMemoryCache(size_t max_entries, std::function<Clock::time_point()> now) {
  if (!now) now = [] { return Clock::now(); };
  return std::make_unique<MemoryCache>(max_entries, std::move(now));
}

}  // namespace rowcache
