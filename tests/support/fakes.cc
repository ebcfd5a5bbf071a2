#include "support/fakes.h"

namespace rowcache::testing {

bool FaultyStore::ShouldFail(const std::string& op) {
  std::lock_guard l(mu_);
  return fail_.count(op) > 0;
}

Result<std::vector<Row>> FaultyStore::Get(std::span<const int64_t> ids) {
  ++get_calls;
  ids_requested += static_cast<int>(ids.size());
  if (before_get) before_get();
  if (ShouldFail("get")) return Status::Unavailable("injected: database down");
  return inner_->Get(ids);
}

Result<std::vector<int64_t>> FaultyStore::Insert(std::span<const Row> rows) {
  ++insert_calls;
  if (ShouldFail("insert")) return Status::Unavailable("injected: database down");
  return inner_->Insert(rows);
}

Status FaultyStore::Update(std::span<const RowUpdate> updates) {
  if (ShouldFail("update")) return Status::Unavailable("injected: database down");
  return inner_->Update(updates);
}

Result<std::vector<int64_t>> FaultyStore::Delete(std::span<const int64_t> ids) {
  if (ShouldFail("delete")) return Status::Unavailable("injected: database down");
  return inner_->Delete(ids);
}

Result<LoadResult> FaultyStore::Load(std::span<const Row> rows, LoadMode mode) {
  if (ShouldFail("load")) return Status::Unavailable("injected: database down");
  return inner_->Load(rows, mode);
}

Status FaultyStore::Ping() {
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

Result<size_t> FaultyCache::SetIfGuardUnchanged(std::span<const GuardedEntry> entries) {
  ++guarded_set_calls;
  if (before_guarded_set) before_guarded_set();
  if (ShouldFail("guarded_set")) return Status::Unavailable("injected: cache down");
  return inner_->SetIfGuardUnchanged(entries);
}

Status FaultyCache::Invalidate(std::span<const std::pair<std::string, std::string>> key_and_guard, int ttl) {
  ++invalidate_calls;
  if (ShouldFail("invalidate")) return Status::Unavailable("injected: cache down");
  return inner_->Invalidate(key_and_guard, ttl);
}

Status FaultyCache::Ping() {
  if (ShouldFail("ping")) return Status::Unavailable("injected: cache down");
  return inner_->Ping();
}

}  // namespace rowcache::testing
