// Pending invalidations: ids whose cache invalidation failed (retried until
// it succeeds) or whose write had an unknown outcome (invalidated again once
// due). The service bypasses the cache for them until they are done.
//
// Contract: thread-safe. Each entry carries a generation, so a retry that
// succeeds removes only what it sent (Remove with the generations Due gave):
// an id added again meanwhile stays until a later retry covers it. Past max
// ids the set overflows: Contains answers true for every id until the whole
// cache could hold nothing stale (bypass_nanos after the overflow).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rowcache {

class PendingInvalidationSet {
 public:
  bool Contains(int64_t id, int64_t now) {
    if (!Active()) return false;
    std::lock_guard l(mu_);
    if (overflowed_ && now < bypass_all_until_) return true;
    return ids_.count(id) > 0;
  }
  bool Active() const {
    return size_.load(std::memory_order_acquire) != 0 || overflowed_.load(std::memory_order_acquire);
  }
  // Past max ids, no id can be tracked any more: the whole cache is bypassed
  // until every entry that could be stale has expired (bypass_nanos).
  void Add(std::span<const int64_t> ids, size_t max, int64_t now, int64_t bypass_nanos, int64_t due) {
    std::lock_guard l(mu_);
    for (int64_t id : ids) {
      auto it = ids_.find(id);
      if (it == ids_.end() && ids_.size() >= max) {
        overflowed_ = true;
        bypass_all_until_ = std::max(bypass_all_until_, std::max(now + bypass_nanos, due));
        continue;
      }
      Item& item = ids_[id];
      item.gen = ++next_gen_;
      item.due = std::max(item.due, due);
    }
    size_.store(ids_.size(), std::memory_order_release);
  }
  // Up to max ids whose invalidation is due, with their generations.
  std::vector<std::pair<int64_t, uint64_t>> Due(int64_t now, size_t max) {
    std::lock_guard l(mu_);
    std::vector<std::pair<int64_t, uint64_t>> out;
    for (const auto& [id, item] : ids_) {
      if (out.size() >= max) break;
      if (item.due <= now) out.emplace_back(id, item.gen);
    }
    return out;
  }
  void Remove(std::span<const std::pair<int64_t, uint64_t>> done, int64_t now) {
    std::lock_guard l(mu_);
    for (const auto& [id, gen] : done) {
      auto it = ids_.find(id);
      if (it != ids_.end() && it->second.gen == gen) ids_.erase(it);
    }
    size_.store(ids_.size(), std::memory_order_release);
    if (overflowed_ && now >= bypass_all_until_) overflowed_ = false;
  }
  size_t size() const { return size_.load(std::memory_order_acquire); }
  bool overflowed() const { return overflowed_.load(std::memory_order_acquire); }

  std::mutex retry_mu;     // one retrier at a time
  int64_t next_retry = 0;  // guarded by retry_mu

 private:
  struct Item {
    uint64_t gen = 0;
    int64_t due = 0;  // steady ns: invalidate at or after
  };
  std::mutex mu_;
  std::unordered_map<int64_t, Item> ids_;
  uint64_t next_gen_ = 0;
  std::atomic<size_t> size_{0};
  std::atomic<bool> overflowed_{false};
  int64_t bypass_all_until_ = 0;
};

}  // namespace rowcache
