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
      auto it = map_.find(keys[i]);
      if (it == map_.end()) continue;
      if (it->second->expires <= now) {
        lru_.erase(it->second);
        map_.erase(it);
        continue;
      }
      lru_.splice(lru_.begin(), lru_, it->second);
      out[i] = it->second->value;
    }
    return out;
  }

  Status SetMany(std::span<const CacheEntry> entries) override {
    auto now = now_();
    std::lock_guard lock(mu_);
    for (const auto& e : entries) {
      auto expires = now + std::chrono::seconds(e.ttl_seconds);
      auto it = map_.find(e.key);
      if (it != map_.end()) {
        it->second->value = e.value;
        it->second->expires = expires;
        lru_.splice(lru_.begin(), lru_, it->second);
        continue;
      }
      if (map_.size() >= max_entries_) {
        map_.erase(lru_.back().key);
        lru_.pop_back();
      }
      lru_.push_front(Node{e.key, e.value, expires});
      map_.emplace(e.key, lru_.begin());
    }
    return Status::OK();
  }

  Status Del(std::span<const std::string> keys) override {
    std::lock_guard lock(mu_);
    for (const auto& k : keys) {
      auto it = map_.find(k);
      if (it == map_.end()) continue;
      lru_.erase(it->second);
      map_.erase(it);
    }
    return Status::OK();
  }

  Status Ping() override { return Status::OK(); }
  std::string Describe() const override { return "memory://?max_entries=" + std::to_string(max_entries_); }

 private:
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
