// The read path (lazy loading) and the write path (write-through).
#include "rowcache/service.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "core/lease_token.h"
#include "core/pending_invalidations.h"
#include "core/request_internal.h"
#include "core/single_flight.h"
#include "rowcache/clock.h"
#include "rowcache/row_codec.h"

namespace rowcache {

namespace {

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

}  // namespace

std::optional<TestMutation> TestMutationNamed(std::string_view name) {
  if (name.empty()) return TestMutation::kNone;
  if (name == "insert-guard") return TestMutation::kInsertGuard;
  if (name == "fill-guard") return TestMutation::kFillGuard;
  if (name == "unknown-outcome") return TestMutation::kUnknownOutcome;
  if (name == "lease-release") return TestMutation::kLeaseRelease;
  return std::nullopt;
}

Service::Service(Store* store, Cache* cache, ServiceOptions opts, Metrics* metrics,
                 std::function<int64_t()> now_nanos, std::function<uint64_t()> rand)
    : store_(store),
      cache_(cache),
      opts_(std::move(opts)),
      metrics_(metrics),
      now_nanos_(now_nanos ? std::move(now_nanos) : SteadyNanos),
      rand_(std::move(rand)),
      flights_(std::make_unique<FlightTable>()),
      pending_(std::make_unique<PendingInvalidationSet>()) {
  if (!rand_) {
    rand_ = [] {
      thread_local std::mt19937_64 gen{std::random_device{}()};
      return gen();
    };
  }
}

Service::~Service() = default;

std::string CacheKeyFor(std::string_view prefix, int64_t id) {
  std::string k;
  k.reserve(prefix.size() + 13);
  k += prefix;
  k += '{';
  AppendInt(k, id);
  k += '}';
  return k;
}

namespace {

// The codec of the one table the service serves today (heroes).
const RowCodec& HeroesCodec() {
  static const TableSchema* schema = new TableSchema(HeroesSchema());
  static const RowCodec* codec = new RowCodec(*schema);
  return *codec;
}

// Whether value is the canonical row JSON of the row whose key JSON is id_text.
bool IsRowOf(std::string_view id_text, std::string_view value) {
  std::string_view key_json[] = {id_text};
  return HeroesCodec().MatchesRowJson(value, key_json);
}

struct IdText {
  char buf[24];
  size_t n;
  explicit IdText(int64_t id) {
    auto r = std::to_chars(buf, buf + sizeof buf, id);
    n = static_cast<size_t>(r.ptr - buf);
  }
  std::string_view view() const { return {buf, n}; }
};

}  // namespace

bool IsCanonicalEntry(std::string_view prefix, std::string_view key, std::string_view value) {
  // key is prefix + "{" + id + "}": the row's id is between the braces.
  if (key.size() < prefix.size() + 3 || key.substr(0, prefix.size()) != prefix || key[prefix.size()] != '{' ||
      key.back() != '}') {
    return false;
  }
  return IsRowOf(key.substr(prefix.size() + 1, key.size() - prefix.size() - 2), value);
}

std::string Service::CacheKey(int64_t id) const { return CacheKeyFor(opts_.key_prefix, id); }

std::string Service::GuardKey(int64_t id) const { return CacheKey(id) + opts_.guard_suffix; }

int Service::TtlWithJitter() {
  double j = opts_.ttl_jitter;
  if (j <= 0) return opts_.ttl_seconds;
  // u uniform in [0, 1): TTL uniform in [ttl*(1-j), ttl*(1+j)].
  double u = static_cast<double>(rand_() >> 11) * 0x1.0p-53;
  double ttl = opts_.ttl_seconds * (1.0 + j * (2.0 * u - 1.0));
  return std::max(1, static_cast<int>(std::lround(ttl)));
}

std::string Service::NewLeaseToken() { return LeaseToken(rand_); }

std::vector<KeyAndGuard> Service::KeysOf(std::span<const int64_t> ids) const {
  std::vector<KeyAndGuard> kg;
  kg.reserve(ids.size());
  for (int64_t id : ids) {
    std::string k = CacheKey(id);
    std::string g = k + opts_.guard_suffix;
    kg.push_back(KeyAndGuard{std::move(k), std::move(g)});
  }
  return kg;
}

void Service::BumpWriteSeq(int64_t id) { flights_->Bump(id); }

Status Service::FetchMisses(std::span<const int64_t> ids, std::vector<std::optional<Row>>* out,
                            std::vector<char>* led_by_us, int64_t read_started) {
  led_by_us->assign(ids.size(), 0);
  std::vector<std::shared_ptr<Flight>> led, joined;
  std::vector<size_t> led_pos, joined_pos;
  std::vector<int64_t> led_ids;
  {
    std::lock_guard l(flights_->mu);
    for (size_t i = 0; i < ids.size(); ++i) {
      uint64_t seq = flights_->Seq(ids[i]);
      auto it = flights_->inflight.find(ids[i]);
      // Join only a query that began after the last write to this id's stripe
      // was acknowledged; otherwise it might predate a write this read must see.
      // ... and only one that began after this read did: a query begun
      // before may predate a write another process acknowledged before this
      // read was invoked, which this process cannot know of.
      if (it != flights_->inflight.end() && it->second->seq == seq && it->second->started >= read_started) {
        metrics_->db_coalesced.fetch_add(1, std::memory_order_relaxed);
        joined.push_back(it->second);
        joined_pos.push_back(i);
        continue;
      }
      auto f = std::make_shared<Flight>();
      f->seq = seq;
      f->started = now_nanos_();
      flights_->inflight[ids[i]] = f;
      led.push_back(f);
      led_pos.push_back(i);
      led_ids.push_back(ids[i]);
      (*led_by_us)[i] = 1;
    }
  }

  Status status;
  if (!led_ids.empty()) {
    metrics_->db_queries.fetch_add(1, std::memory_order_relaxed);
    Result<std::vector<Row>> rows = Status::Internal("database read did not run");
    try {
      // In queries of at most the store's limit (its placeholders per statement).
      size_t chunk = std::max<size_t>(1, store_->MaxIdsPerQuery());
      std::vector<Row> all;
      Status failed;
      for (size_t off = 0; off < led_ids.size() && failed.ok(); off += chunk) {
        if (off > 0) metrics_->db_queries.fetch_add(1, std::memory_order_relaxed);
        auto part = store_->Get(
            std::span<const int64_t>(led_ids).subspan(off, std::min(chunk, led_ids.size() - off)));
        if (!part.ok()) {
          failed = part.status();
        } else {
          for (Row& r : part.value()) all.push_back(std::move(r));
        }
      }
      rows = failed.ok() ? Result<std::vector<Row>>(std::move(all)) : Result<std::vector<Row>>(failed);
    } catch (const std::exception& e) {
      rows = Status::Internal(std::string("database read failed: ") + e.what());
    }
    if (!rows.ok()) {
      metrics_->db_errors.fetch_add(1, std::memory_order_relaxed);
      status = rows.status();
    } else {
      // led_ids are distinct; a large read looks them up by hash, not by scan.
      std::unordered_map<int64_t, size_t> where;
      if (led_ids.size() > 16) {
        where.reserve(led_ids.size());
        for (size_t k = 0; k < led_ids.size(); ++k) where.emplace(led_ids[k], k);
      }
      for (Row& r : rows.value()) {
        if (!where.empty()) {
          if (auto it = where.find(r.id); it != where.end()) (*out)[led_pos[it->second]] = std::move(r);
          continue;
        }
        for (size_t k = 0; k < led_ids.size(); ++k) {
          if (led_ids[k] != r.id) continue;
          (*out)[led_pos[k]] = r;
          break;
        }
      }
    }
    std::lock_guard l(flights_->mu);
    for (size_t k = 0; k < led.size(); ++k) {
      {
        std::lock_guard fl(led[k]->mu);
        led[k]->status = status;
        led[k]->row = (*out)[led_pos[k]];
        led[k]->done = true;
      }
      led[k]->cv.notify_all();
      auto it = flights_->inflight.find(led_ids[k]);
      if (it != flights_->inflight.end() && it->second == led[k]) flights_->inflight.erase(it);
    }
  }
  for (size_t k = 0; k < joined.size(); ++k) {
    std::unique_lock fl(joined[k]->mu);
    joined[k]->cv.wait(fl, [&] { return joined[k]->done; });
    if (!joined[k]->status.ok()) {
      status = joined[k]->status;
    } else {
      (*out)[joined_pos[k]] = joined[k]->row;
    }
  }
  return status;
}

namespace {

// Distinct ids in first-seen order; slot[i] is the index of ids[i] among them.
struct Distinct {
  std::vector<int64_t> ids;
  std::vector<size_t> slot;
};
Distinct DistinctIds(std::span<const int64_t> ids) {
  Distinct d;
  d.slot.resize(ids.size());
  d.ids.reserve(ids.size());
  if (ids.size() <= 16) {
    for (size_t i = 0; i < ids.size(); ++i) {
      size_t j = 0;
      while (j < d.ids.size() && d.ids[j] != ids[i]) ++j;
      if (j == d.ids.size()) d.ids.push_back(ids[i]);
      d.slot[i] = j;
    }
  } else {
    std::unordered_map<int64_t, size_t> index;
    index.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      auto [it, inserted] = index.try_emplace(ids[i], d.ids.size());
      if (inserted) d.ids.push_back(ids[i]);
      d.slot[i] = it->second;
    }
  }
  return d;
}

// The read answer, {"statusCode": 200, "body": [row, null, ...]}: each asked
// id's row (rows[slot[i]], canonical row JSON) spliced in as it is.
std::string ReadAnswer(std::span<const std::optional<std::string>> rows, std::span<const size_t> slot) {
  size_t bytes = kReadEnvelopeBytes;
  for (size_t k : slot) bytes += (rows[k] ? rows[k]->size() : 4) + 2;
  std::string out;
  out.reserve(bytes);
  out = "{\"statusCode\": 200, \"body\": [";
  for (size_t i = 0; i < slot.size(); ++i) {
    if (i) out += ", ";
    const auto& r = rows[slot[i]];
    out += r ? std::string_view(*r) : std::string_view("null");
  }
  out += "]}";
  return out;
}

}  // namespace

Result<Service::ReadRows> Service::ReadJson(std::span<const int64_t> ids, bool use_cache) {
  const int64_t read_started = now_nanos_();
  auto [distinct, slot] = DistinctIds(ids);

  // Each distinct id's row as its canonical JSON: what the cache holds and
  // the answer splices.
  std::vector<std::optional<std::string>> found(distinct.size());
  std::vector<int64_t> misses;   // distinct ids not answered by the cache
  std::vector<size_t> miss_pos;  // their index in distinct
  std::vector<char> fillable;    // whether this read may fill the miss
  std::vector<char> leased;      // whether this read took the miss's lease
  bool use = use_cache && cache_ != nullptr && !distinct.empty();
  bool looked_up = false;
  std::string token;
  if (use) {
    // One round trip: each id's entry, or (on a miss) a lease on its guard
    // for this read's token, which the fill below must still find there.
    token = NewLeaseToken();
    // Ids with an invalidation pending when the lookup is sent bypass the
    // cache even if the retry clears them before the reply is handled: the
    // reply may predate the retry's DEL.
    std::vector<char> pending_before(distinct.size(), 0);
    if (pending_->Active()) {
      int64_t before = now_nanos_();
      for (size_t i = 0; i < distinct.size(); ++i)
        pending_before[i] = pending_->Contains(distinct[i], before);
    }
    auto got = cache_->GetOrLease(KeysOf(distinct), token, opts_.lease_ms);
    if (!got.ok()) {
      metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
    } else {
      looked_up = true;
      int64_t now = now_nanos_();
      uint64_t hits = 0;
      bool ignore_leases = opts_.test_mutation == TestMutation::kFillGuard;
      for (size_t i = 0; i < distinct.size(); ++i) {
        bool bypass = pending_before[i] || pending_->Contains(distinct[i], now);
        LeasedLookup& v = got.value()[i];
        if (v.value && !bypass) {
          if (IsRowOf(IdText(distinct[i]).view(), *v.value)) {
            found[i] = std::move(v.value);
            ++hits;
            continue;
          }
          metrics_->cache_corrupt.fetch_add(1, std::memory_order_relaxed);
        }
        misses.push_back(distinct[i]);
        miss_pos.push_back(i);
        fillable.push_back(!bypass && (v.leased || ignore_leases));
        leased.push_back(v.leased);
      }
      metrics_->cache_hits.fetch_add(hits, std::memory_order_relaxed);
      metrics_->cache_misses.fetch_add(misses.size(), std::memory_order_relaxed);
    }
  }
  if (!looked_up) {
    // No cache, USE_CACHE false, or the cache failed: the database answers all,
    // and nothing is filled.
    misses = distinct;
    miss_pos.resize(distinct.size());
    for (size_t i = 0; i < distinct.size(); ++i) miss_pos[i] = i;
  }

  if (!misses.empty()) {
    std::vector<std::optional<Row>> rows(misses.size());
    std::vector<char> led;
    Status s = FetchMisses(misses, &rows, &led, read_started);
    std::vector<LeasedEntry> entries;
    std::vector<std::string> unused;  // guards of leases this read took and will not use
    int64_t now = now_nanos_();
    for (size_t k = 0; k < misses.size(); ++k) {
      // Only a query this read led began after its lease was taken; a shared
      // one may have begun before, so its rows are answered, not filled.
      // Unknown ids are never cached (no negative entries).
      std::optional<std::string> json;
      if (s.ok() && rows[k]) json = RowToJson(*rows[k]);
      if (json && looked_up && fillable[k] && led[k] && !pending_->Contains(misses[k], now)) {
        entries.push_back(
            LeasedEntry{CacheKey(misses[k]), *json, TtlWithJitter(), GuardKey(misses[k]), token});
      } else if (looked_up && leased[k]) {
        unused.push_back(GuardKey(misses[k]));
      }
      if (s.ok()) found[miss_pos[k]] = std::move(json);
    }
    if (!unused.empty()) ReleaseLeases(unused, token);
    if (!s.ok()) return s;
    if (!entries.empty()) {
      Result<size_t> stored = Status::Internal("not run");
      if (opts_.test_mutation == TestMutation::kFillGuard) {
        std::vector<CacheEntry> plain;
        for (auto& e : entries) plain.push_back(CacheEntry{e.key, e.value, e.ttl_seconds});
        Status ps = cache_->SetMany(plain);
        stored = ps.ok() ? Result<size_t>(plain.size()) : Result<size_t>(ps);
      } else {
        stored = cache_->SetIfLeaseHeld(entries);
      }
      if (stored.ok()) {
        metrics_->cache_fills.fetch_add(*stored, std::memory_order_relaxed);
        metrics_->cache_fills_refused.fetch_add(entries.size() - *stored, std::memory_order_relaxed);
      } else {
        metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  metrics_->rows_read.fetch_add(ids.size(), std::memory_order_relaxed);
  return ReadRows{std::move(found), std::move(slot)};
}

Result<std::vector<std::optional<Row>>> Service::Read(std::span<const int64_t> ids, bool use_cache) {
  auto rows = ReadJson(ids, use_cache);
  if (!rows.ok()) return rows.status();
  std::vector<std::optional<Row>> out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& json = rows->rows[rows->slot[i]];
    out.push_back(json ? RowFromJson(*json) : std::nullopt);
  }
  return out;
}

// A lease left in place would keep its guard key for lease_ms: a client
// reading ids that have no row could then fill the cache with guards
// (evicting real entries). Only this read's token is deleted, so a writer's
// lease, or another reader's, stays.
void Service::ReleaseLeases(std::span<const std::string> guard_keys, std::string_view token) {
  if (opts_.test_mutation == TestMutation::kLeaseRelease) return;
  auto released = cache_->ReleaseLeases(guard_keys, token);
  if (released.ok()) {
    metrics_->cache_leases_released.fetch_add(*released, std::memory_order_relaxed);
  } else {
    metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

int64_t Service::MaxEntryLifeNanos() const {
  return static_cast<int64_t>(opts_.ttl_seconds * (1.0 + opts_.ttl_jitter) * 1e9) + 1'000'000'000;
}

void Service::InvalidateOrRemember(std::span<const int64_t> ids) {
  if (cache_ == nullptr || ids.empty()) return;
  Status s = cache_->Invalidate(KeysOf(ids));
  if (s.ok()) {
    metrics_->cache_invalidations.fetch_add(ids.size(), std::memory_order_relaxed);
    return;
  }
  metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
  int64_t now = now_nanos_();
  pending_->Add(ids, opts_.max_pending_invalidations, now, MaxEntryLifeNanos(), now);
  metrics_->pending_invalidations.store(pending_->size(), std::memory_order_relaxed);
}

void Service::InvalidateUnknownOutcome(std::span<const int64_t> ids) {
  if (cache_ == nullptr || ids.empty() || opts_.test_mutation == TestMutation::kUnknownOutcome) return;
  metrics_->writes_unknown_outcome.fetch_add(1, std::memory_order_relaxed);
  // The commit may have happened, or may still happen while the database
  // finishes with the lost connection: invalidate now, and again once it
  // surely has; until then the ids bypass the cache here.
  int64_t now = now_nanos_();
  pending_->Add(ids, opts_.max_pending_invalidations, now, MaxEntryLifeNanos(),
                now + opts_.unknown_outcome_delay_nanos);
  metrics_->pending_invalidations.store(pending_->size(), std::memory_order_relaxed);
  if (cache_->Invalidate(KeysOf(ids)).ok()) {
    metrics_->cache_invalidations.fetch_add(ids.size(), std::memory_order_relaxed);
  } else {
    metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

bool Service::CacheBypassActive() const { return pending_->Active(); }

void Service::RetryPendingInvalidations() {
  if (!pending_->Active() || cache_ == nullptr) return;
  std::unique_lock l(pending_->retry_mu, std::try_to_lock);
  if (!l.owns_lock()) return;
  int64_t now = now_nanos_();
  if (now < pending_->next_retry) return;
  auto due = pending_->Due(now, 1000);
  if (due.empty()) {
    pending_->Remove(due, now);  // ends an overflow whose time is up
    pending_->next_retry = now + opts_.invalidation_retry_nanos;
    return;
  }
  std::vector<int64_t> ids;
  ids.reserve(due.size());
  for (const auto& d : due) ids.push_back(d.first);
  if (cache_->Invalidate(KeysOf(ids)).ok()) {
    pending_->Remove(due, now);
    metrics_->cache_invalidations.fetch_add(ids.size(), std::memory_order_relaxed);
  } else {
    pending_->next_retry = now + opts_.invalidation_retry_nanos;
  }
  metrics_->pending_invalidations.store(pending_->size(), std::memory_order_relaxed);
}

size_t Service::PendingInvalidations() const { return pending_->size(); }

Service::Unflushed Service::InvalidateAllPending() {
  Unflushed left;
  if (cache_ == nullptr) return left;
  std::lock_guard l(pending_->retry_mu);
  left.overflowed = pending_->overflowed();
  for (;;) {
    auto all = pending_->Due(std::numeric_limits<int64_t>::max(), 1000);
    if (all.empty()) break;
    std::vector<int64_t> ids;
    ids.reserve(all.size());
    for (const auto& d : all) ids.push_back(d.first);
    if (!cache_->Invalidate(KeysOf(ids)).ok()) break;
    pending_->Remove(all, now_nanos_());
    metrics_->cache_invalidations.fetch_add(ids.size(), std::memory_order_relaxed);
  }
  for (const auto& d :
       pending_->Due(std::numeric_limits<int64_t>::max(), std::numeric_limits<size_t>::max())) {
    left.ids.push_back(d.first);
  }
  std::sort(left.ids.begin(), left.ids.end());
  metrics_->pending_invalidations.store(pending_->size(), std::memory_order_relaxed);
  return left;
}

Result<std::vector<int64_t>> Service::Write(std::span<const Row> rows, bool use_cache) {
  if (rows.empty()) return std::vector<int64_t>{};
  bool cached = use_cache && cache_ != nullptr;
  bool unconditional = opts_.test_mutation == TestMutation::kInsertGuard;
  std::string token = cached ? NewLeaseToken() : std::string();
  bool leased = false;
  // The writer's lease is taken before COMMIT, while no one else can see or
  // change the new rows: any write to them after the commit is after the
  // lease, and its invalidation removes it.
  auto before_commit = [&](std::span<const int64_t> new_ids) {
    if (!cached || unconditional) return;
    std::vector<std::string> guards;
    guards.reserve(new_ids.size());
    for (int64_t id : new_ids) guards.push_back(GuardKey(id));
    leased = cache_->Lease(guards, token, opts_.lease_ms).ok();
  };
  auto ids = store_->Insert(rows, before_commit);
  if (!ids.ok()) {
    // Even with an unknown outcome nothing needs invalidating: no entry was
    // written, and a lease lets only this writer fill.
    metrics_->db_errors.fetch_add(1, std::memory_order_relaxed);
    return ids.status();
  }
  if (ids->size() != rows.size()) {
    return Status::Internal("database returned " + std::to_string(ids->size()) + " ids for " +
                            std::to_string(rows.size()) + " rows");
  }
  for (int64_t id : *ids) BumpWriteSeq(id);
  metrics_->db_transactions.fetch_add(1, std::memory_order_relaxed);
  metrics_->rows_written.fetch_add(rows.size(), std::memory_order_relaxed);

  if (cached) {
    std::vector<LeasedEntry> entries;
    entries.reserve(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      Row r = rows[i];
      r.id = (*ids)[i];
      entries.push_back(LeasedEntry{CacheKey(r.id), RowToJson(r), TtlWithJitter(), GuardKey(r.id), token});
    }
    Result<size_t> stored = Status::Unavailable("the lease could not be taken");
    if (unconditional) {
      std::vector<CacheEntry> plain;
      for (auto& e : entries) plain.push_back(CacheEntry{e.key, e.value, e.ttl_seconds});
      Status ps = cache_->SetMany(plain);
      stored = ps.ok() ? Result<size_t>(plain.size()) : Result<size_t>(ps);
    } else if (leased) {
      stored = cache_->SetIfLeaseHeld(entries);
    }
    if (stored.ok()) {
      metrics_->write_through_rows.fetch_add(*stored, std::memory_order_relaxed);
      // Refused: a write to the row after our commit got there first.
      metrics_->cache_fills_refused.fetch_add(entries.size() - *stored, std::memory_order_relaxed);
    } else {
      // The commit stands and is reported as a success. No entry may
      // contradict it: nothing was written under our lease, and
      // invalidating the keys also clears whatever an earlier incarnation of
      // the table left under them; if even that fails, the ids bypass the
      // cache here until it works.
      metrics_->write_through_failures.fetch_add(1, std::memory_order_relaxed);
      metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
      InvalidateOrRemember(*ids);
    }
  }
  return std::move(ids.value());
}

Status Service::Update(std::span<const RowUpdate> updates) {
  if (updates.empty()) return Status::OK();
  std::vector<int64_t> ids;
  ids.reserve(updates.size());
  for (const auto& u : updates) ids.push_back(u.id);
  Status s = store_->Update(updates);
  if (!s.ok()) {
    if (!s.IsNotFound() && !s.IsInvalidArgument()) {
      metrics_->db_errors.fetch_add(1, std::memory_order_relaxed);
      InvalidateUnknownOutcome(ids);  // it may have committed
    }
    return s;
  }
  for (int64_t id : ids) BumpWriteSeq(id);
  metrics_->db_transactions.fetch_add(1, std::memory_order_relaxed);
  metrics_->rows_written.fetch_add(updates.size(), std::memory_order_relaxed);
  InvalidateOrRemember(ids);
  return Status::OK();
}

Result<std::vector<int64_t>> Service::Delete(std::span<const int64_t> ids) {
  if (ids.empty()) return std::vector<int64_t>{};
  auto deleted = store_->Delete(ids);
  if (!deleted.ok()) {
    metrics_->db_errors.fetch_add(1, std::memory_order_relaxed);
    if (!deleted.status().IsInvalidArgument()) InvalidateUnknownOutcome(ids);  // it may have committed
    return deleted.status();
  }
  for (int64_t id : *deleted) BumpWriteSeq(id);
  metrics_->db_transactions.fetch_add(1, std::memory_order_relaxed);
  InvalidateOrRemember(*deleted);
  return deleted;
}

Response Service::Execute(const Request& req, std::string_view request_id) {
  Response resp;
  if (req.kind == Request::Kind::kRead) {
    auto rows = ReadJson(req.ids, req.use_cache);
    if (!rows.ok()) return ErrorResponse(rows.status(), request_id);
    resp.body = ReadAnswer(rows->rows, rows->slot);
  } else {
    Result<std::vector<int64_t>> ids = std::vector<int64_t>{};
    const char* body = "write success";
    if (req.kind == Request::Kind::kWrite) {
      ids = Write(req.rows, req.use_cache);
    } else if (req.kind == Request::Kind::kUpdate) {
      body = "update success";
      Status s = Update(req.updates);
      if (!s.ok()) {
        ids = s.IsNotFound() ? Status::NotFound("SQLS: " + s.message()) : s;
      } else {
        for (const auto& u : req.updates) ids->push_back(u.id);
      }
    } else {
      body = "delete success";
      ids = Delete(req.ids);
    }
    if (!ids.ok()) return ErrorResponse(ids.status(), request_id);
    resp.body = "{\"statusCode\": 200, \"body\": \"";
    resp.body += body;
    resp.body += "\", \"ids\": [";
    for (size_t i = 0; i < ids->size(); ++i) {
      if (i) resp.body += ", ";
      AppendInt(resp.body, (*ids)[i]);
    }
    resp.body += "]}";
  }
  return resp;
}

std::optional<std::vector<std::string>> Service::CacheOnlyKeys(const Request& req) const {
  if (req.kind != Request::Kind::kRead || !req.use_cache || cache_ == nullptr || req.ids.empty() ||
      req.ids.size() > 64 || CacheBypassActive()) {
    return std::nullopt;
  }
  std::vector<std::string> keys;
  for (int64_t id : DistinctIds(req.ids).ids) keys.push_back(CacheKey(id));
  return keys;
}

// A read answered entirely from cache entries, counted as Handle would count it.
void Service::CountCacheAnswer(size_t distinct_ids, size_t ids, int64_t start_nanos) {
  metrics_->cache_hits.fetch_add(distinct_ids, std::memory_order_relaxed);
  metrics_->rows_read.fetch_add(ids, std::memory_order_relaxed);
  metrics_->CountRequest(RequestKind::kRead, Outcome::kOk, now_nanos_() - start_nanos);
}

std::optional<Response> Service::AnswerFromEntries(const Request& req,
                                                   std::span<const std::optional<std::string>> entries,
                                                   int64_t start_nanos) {
  auto [distinct, slot] = DistinctIds(req.ids);
  if (entries.size() != distinct.size() || CacheBypassActive()) return std::nullopt;
  for (size_t i = 0; i < distinct.size(); ++i) {
    // The normal path counts and handles a missing or foreign entry.
    if (!entries[i] || !IsRowOf(IdText(distinct[i]).view(), *entries[i])) return std::nullopt;
  }
  Response resp;
  resp.body = ReadAnswer(entries, slot);
  CountCacheAnswer(distinct.size(), req.ids.size(), start_nanos);
  return resp;
}

std::optional<Response> Service::AnswerFromTrustedEntries(const Request& req,
                                                          std::span<const std::optional<std::string>> entries,
                                                          int64_t start_nanos) {
  auto [distinct, slot] = DistinctIds(req.ids);
  if (entries.size() != distinct.size() || CacheBypassActive()) return std::nullopt;
  for (const auto& e : entries) {
    if (!e) return std::nullopt;
  }
  Response resp;
  resp.body = ReadAnswer(entries, slot);
  CountCacheAnswer(distinct.size(), req.ids.size(), start_nanos);
  return resp;
}

namespace {

RequestKind KindOf(const Request& req) {
  switch (req.kind) {
    case Request::Kind::kRead:
      return RequestKind::kRead;
    case Request::Kind::kWrite:
      return RequestKind::kWrite;
    case Request::Kind::kUpdate:
      return RequestKind::kUpdate;
    case Request::Kind::kDelete:
      return RequestKind::kDelete;
  }
  return RequestKind::kInvalid;
}

Outcome OutcomeOf(const Response& resp) {
  return resp.status == 200   ? Outcome::kOk
         : resp.status == 503 ? Outcome::kUnavailable
         : resp.status < 500  ? Outcome::kClientError
                              : Outcome::kError;
}

}  // namespace

Response Service::Handle(std::string_view event_json, std::string_view request_id) {
  RetryPendingInvalidations();
  int64_t start = now_nanos_();
  RequestKind kind;
  auto req = ParseEvent(event_json, opts_, &kind);
  Response resp = req.ok() ? Execute(req.value(), request_id) : ErrorResponse(req.status(), request_id);
  metrics_->CountRequest(kind, OutcomeOf(resp), now_nanos_() - start);
  return resp;
}

Response Service::Handle(const Request& req, std::string_view request_id) {
  RetryPendingInvalidations();
  int64_t start = now_nanos_();
  Response resp = Execute(req, request_id);
  metrics_->CountRequest(KindOf(req), OutcomeOf(resp), now_nanos_() - start);
  return resp;
}

}  // namespace rowcache
