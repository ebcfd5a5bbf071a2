// Fault-injecting wrappers for unit tests: a Store and a Cache that delegate
// to a real implementation, count calls, and fail on demand.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "rowcache/cache.h"
#include "rowcache/store.h"

namespace rowcache::testing {

// Fails an operation when its name is in the failing set ("get", "insert",
// "update", "delete", "load", "describe", "ping"). before_get runs inside Get, before the
// inner store is asked (to block a query or interleave a write with it).
// Ops: "get", "insert", "update", "delete", "load", "describe", "ping" fail before the
// database is touched; "commit_unknown" makes insert/update/delete run and
// then fail as if the connection was lost after COMMIT (outcome unknown).
class FaultyStore : public Store {
 public:
  explicit FaultyStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  Status EnsureSchema() override { return inner_->EnsureSchema(); }
  Result<std::vector<Row>> Get(std::span<const int64_t> ids) override;
  Result<std::vector<int64_t>> Insert(std::span<const Row> rows,
                                      const BeforeCommit& before_commit = {}) override;
  Status Update(std::span<const RowUpdate> updates) override;
  Result<std::vector<int64_t>> Delete(std::span<const int64_t> ids) override;
  Result<LoadResult> Load(std::span<const Row> rows, LoadMode mode) override;
  // HeroesSchema(table), whatever the inner store holds; fails on "describe".
  Result<TableSchema> DescribeTable(std::string_view table) override;
  Status Ping() override;
  std::string Describe() const override { return "faulty(" + inner_->Describe() + ")"; }
  std::string TableName() const override { return inner_->TableName(); }
  size_t MaxIdsPerQuery() const override {
    return max_ids_per_query ? max_ids_per_query : inner_->MaxIdsPerQuery();
  }
  size_t MaxBatch() const override { return max_batch ? max_batch : inner_->MaxBatch(); }

  void FailOn(const std::string& op) {
    std::lock_guard l(mu_);
    fail_.insert(op);
  }
  void Heal() {
    std::lock_guard l(mu_);
    fail_.clear();
  }
  // Limits to report instead of the inner store's (0: the inner store's).
  size_t max_ids_per_query = 0;
  size_t max_batch = 0;
  // The size of each Get, in order.
  std::vector<size_t> get_sizes;
  std::function<void()> before_get;
  std::atomic<int> get_calls{0};
  std::atomic<int> insert_calls{0};
  std::atomic<int> ping_calls{0};
  std::atomic<int> ids_requested{0};  // total ids passed to Get

 private:
  bool ShouldFail(const std::string& op);
  std::unique_ptr<Store> inner_;
  std::mutex mu_;
  std::set<std::string> fail_;
};

// Ops: "mget" (MGet and GetOrLease), "set" (SetMany and Lease), "del",
// "guarded_set" (SetIfLeaseHeld), "release" (ReleaseLeases), "invalidate", "ping".
class FaultyCache : public Cache {
 public:
  explicit FaultyCache(std::unique_ptr<Cache> inner) : inner_(std::move(inner)) {}

  Result<std::vector<std::optional<std::string>>> MGet(std::span<const std::string> keys) override;
  Status SetMany(std::span<const CacheEntry> entries) override;
  Status Del(std::span<const std::string> keys) override;
  Result<std::vector<LeasedLookup>> GetOrLease(std::span<const KeyAndGuard> keys, std::string_view token,
                                               int lease_ms) override;
  Status Lease(std::span<const std::string> guard_keys, std::string_view token, int lease_ms) override;
  Result<size_t> SetIfLeaseHeld(std::span<const LeasedEntry> entries) override;
  Result<size_t> ReleaseLeases(std::span<const std::string> guard_keys, std::string_view token) override;
  Status Invalidate(std::span<const KeyAndGuard> keys) override;
  Status Ping() override;
  std::string Describe() const override { return "faulty(" + inner_->Describe() + ")"; }

  void FailOn(const std::string& op) {
    std::lock_guard l(mu_);
    fail_.insert(op);
  }
  void Heal() {
    std::lock_guard l(mu_);
    fail_.clear();
  }
  // Runs before each leased fill is passed on (to interleave a write with a fill).
  std::function<void()> before_guarded_set;
  // Runs after each successful invalidation (to interleave a write with a retry).
  std::function<void()> after_invalidate;
  // Runs after each GetOrLease got its answer, before it is returned (to
  // interleave a retry of invalidations with a lookup's reply).
  std::function<void()> after_get_or_lease;
  std::atomic<int> guarded_set_calls{0};
  std::atomic<int> invalidate_calls{0};
  std::atomic<int> lease_calls{0};
  std::atomic<int> release_calls{0};
  // Runs before each release of leases is passed on (to interleave a write).
  std::function<void()> before_release;
  Cache& inner() { return *inner_; }
  std::atomic<int> mget_calls{0};
  std::atomic<int> set_calls{0};
  std::atomic<int> del_calls{0};
  std::atomic<int> last_ttl{0};

 private:
  bool ShouldFail(const std::string& op);
  std::unique_ptr<Cache> inner_;
  std::mutex mu_;
  std::set<std::string> fail_;
};

}  // namespace rowcache::testing
