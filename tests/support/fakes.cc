#include "support/fakes.h"

namespace rowcache::testing {

bool FaultyStore::ShouldFail(const std::string& op) {
  std::lock_guard l(mu_);
  return fail_.count(op) > 0;
}

Result<std::vector<Row>> FaultyStore::Get(std::span<const int64_t> ids) {
  ++get_calls;
  ids_requested += static_cast<int>(ids.size());
  {
    std::lock_guard l(mu_);
    get_sizes.push_back(ids.size());
  }
  if (before_get) before_get();
  if (ShouldFail("get")) return Status::Unavailable("injected: database down");
  return inner_->Get(ids);
}

Result<std::vector<int64_t>> FaultyStore::Insert(std::span<const Row> rows,
                                                 const BeforeCommit& before_commit) {
  ++insert_calls;
  if (ShouldFail("insert")) return Status::Unavailable("injected: database down");
  auto r = inner_->Insert(rows, before_commit);
  if (r.ok() && ShouldFail("commit_unknown"))
    return Status::Unavailable("injected: connection lost after COMMIT");
  return r;
}

Status FaultyStore::Update(std::span<const RowUpdate> updates) {
  if (ShouldFail("update")) return Status::Unavailable("injected: database down");
  Status s = inner_->Update(updates);
  if (s.ok() && ShouldFail("commit_unknown"))
    return Status::Unavailable("injected: connection lost after COMMIT");
  return s;
}

Result<std::vector<int64_t>> FaultyStore::Delete(std::span<const int64_t> ids) {
  if (ShouldFail("delete")) return Status::Unavailable("injected: database down");
  auto r = inner_->Delete(ids);
  if (r.ok() && ShouldFail("commit_unknown"))
    return Status::Unavailable("injected: connection lost after COMMIT");
  return r;
}

Result<LoadResult> FaultyStore::Load(std::span<const Row> rows, LoadMode mode) {
  if (ShouldFail("load")) return Status::Unavailable("injected: database down");
  return inner_->Load(rows, mode);
}

Result<TableSchema> FaultyStore::DescribeTable(std::string_view table) {
  if (ShouldFail("describe")) return Status::Unavailable("injected: database down");
  return HeroesSchema(table);
}

Status FaultyStore::Ping() {
  ping_calls.fetch_add(1);
  if (ShouldFail("ping")) return Status::Unavailable("injected: database down");
  return inner_->Ping();
}

bool FaultyCache::ShouldFail(const std::string& op) {
  std::lock_guard l(mu_);
  return fail_.count(op) > 0;
}

Result<std::vector<std::optional<std::string>>> FaultyCache::MGet(std::span<const std::string> keys) {
  ++mget_calls;
  if (ShouldFail("mget")) return Status::Unavailable("injected: cache down");
  return inner_->MGet(keys);
}

Status FaultyCache::SetMany(std::span<const CacheEntry> entries) {
  ++set_calls;
  if (!entries.empty()) last_ttl = entries.back().ttl_seconds;
  if (ShouldFail("set")) return Status::Unavailable("injected: cache down");
  return inner_->SetMany(entries);
}

Status FaultyCache::Del(std::span<const std::string> keys) {
  ++del_calls;
  if (ShouldFail("del")) return Status::Unavailable("injected: cache down");
  return inner_->Del(keys);
}

Result<std::vector<LeasedLookup>> FaultyCache::GetOrLease(std::span<const KeyAndGuard> keys,
                                                          std::string_view token, int lease_ms) {
  ++mget_calls;
  if (ShouldFail("mget")) return Status::Unavailable("injected: cache down");
  auto r = inner_->GetOrLease(keys, token, lease_ms);
  if (after_get_or_lease) after_get_or_lease();
  return r;
}

Status FaultyCache::Lease(std::span<const std::string> guard_keys, std::string_view token, int lease_ms) {
  ++lease_calls;
  if (ShouldFail("set")) return Status::Unavailable("injected: cache down");
  return inner_->Lease(guard_keys, token, lease_ms);
}

Result<size_t> FaultyCache::SetIfLeaseHeld(std::span<const LeasedEntry> entries) {
  ++guarded_set_calls;
  if (!entries.empty()) last_ttl = entries.back().ttl_seconds;
  if (before_guarded_set) before_guarded_set();
  if (ShouldFail("guarded_set")) return Status::Unavailable("injected: cache down");
  return inner_->SetIfLeaseHeld(entries);
}

Result<size_t> FaultyCache::ReleaseLeases(std::span<const std::string> guard_keys, std::string_view token) {
  ++release_calls;
  if (before_release) before_release();
  if (ShouldFail("release")) return Status::Unavailable("injected: cache down");
  return inner_->ReleaseLeases(guard_keys, token);
}

Status FaultyCache::Invalidate(std::span<const KeyAndGuard> keys) {
  ++invalidate_calls;
  if (ShouldFail("invalidate")) return Status::Unavailable("injected: cache down");
  Status s = inner_->Invalidate(keys);
  if (s.ok() && after_invalidate) after_invalidate();
  return s;
}

Status FaultyCache::Ping() {
  if (ShouldFail("ping")) return Status::Unavailable("injected: cache down");
  return inner_->Ping();
}

}  // namespace rowcache::testing
