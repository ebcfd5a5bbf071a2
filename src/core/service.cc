// The read path (lazy loading) and the write path (write-through).
#include "rowcache/service.h"

#include <algorithm>

#include <charconv>
#include <chrono>
#include <cmath>
#include <random>
#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "core/request_internal.h"

namespace rowcache {

namespace {

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

}  // namespace

// One in-flight database read of one id, shared by concurrent readers.
struct Service::Flight {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  std::optional<Row> row;
  uint64_t seq = 0;  // write sequence of the id's stripe when the query began
};

class Service::FlightTable {
 public:
  static constexpr size_t kStripes = 64;
  uint64_t Seq(int64_t id) const { return seq_[Stripe(id)].load(std::memory_order_acquire); }
  void Bump(int64_t id) { seq_[Stripe(id)].fetch_add(1, std::memory_order_acq_rel); }

  std::mutex mu;
  std::unordered_map<int64_t, std::shared_ptr<Flight>> inflight;

 private:
  static size_t Stripe(int64_t id) { return static_cast<size_t>(id) % kStripes; }
  std::array<std::atomic<uint64_t>, kStripes> seq_{};
};

// Ids whose cache invalidation failed: retried, and bypassed until it works.
class Service::PendingSet {
 public:
  bool Contains(int64_t id, int64_t now) {
    if (size_.load(std::memory_order_acquire) == 0 && !overflowed_.load(std::memory_order_acquire)) return false;
    std::lock_guard l(mu_);
    if (overflowed_ && now < bypass_all_until_) return true;
    return ids_.count(id) > 0;
  }
  // Past max ids, no id can be tracked any more: the whole cache is bypassed
  // until every entry that could be stale has expired (bypass_nanos).
  void Add(std::span<const int64_t> ids, size_t max, int64_t now, int64_t bypass_nanos) {
    std::lock_guard l(mu_);
    for (int64_t id : ids) {
      if (ids_.size() >= max) {
        overflowed_ = true;
        bypass_all_until_ = now + bypass_nanos;
        break;
      }
      ids_.insert(id);
    }
    size_.store(ids_.size(), std::memory_order_release);
  }
  std::vector<int64_t> Snapshot(size_t max) {
    std::lock_guard l(mu_);
    std::vector<int64_t> out;
    for (int64_t id : ids_) {
      if (out.size() >= max) break;
      out.push_back(id);
    }
    return out;
  }
  void Remove(std::span<const int64_t> ids, int64_t now) {
    std::lock_guard l(mu_);
    for (int64_t id : ids) ids_.erase(id);
    size_.store(ids_.size(), std::memory_order_release);
    if (overflowed_ && now >= bypass_all_until_) overflowed_ = false;
  }
  size_t size() const { return size_.load(std::memory_order_acquire); }

  std::mutex retry_mu;        // one retrier at a time
  int64_t next_retry = 0;     // guarded by retry_mu

 private:
  std::mutex mu_;
  std::unordered_set<int64_t> ids_;
  std::atomic<size_t> size_{0};
  std::atomic<bool> overflowed_{false};
  int64_t bypass_all_until_ = 0;
};

Service::Service(Store* store, Cache* cache, ServiceOptions opts, Metrics* metrics,
                 std::function<int64_t()> now_nanos, std::function<uint64_t()> rand)
    : store_(store),
      cache_(cache),
      opts_(std::move(opts)),
      metrics_(metrics),
      now_nanos_(now_nanos ? std::move(now_nanos) : SteadyNanos),
      rand_(std::move(rand)),
      flights_(std::make_unique<FlightTable>()),
      pending_(std::make_unique<PendingSet>()) {
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

// A guard must outlive every read that saw its old value; reads last seconds,
// guards last at least a minute and twice the longest entry TTL.
int Service::GuardTtl() const {
  return std::max(60, static_cast<int>(std::ceil(2.0 * opts_.ttl_seconds * (1.0 + opts_.ttl_jitter))));
}

void Service::BumpWriteSeq(int64_t id) { flights_->Bump(id); }

Status Service::FetchMisses(std::span<const int64_t> ids, std::vector<std::optional<Row>>* out) {
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
      if (it != flights_->inflight.end() && it->second->seq == seq) {
        metrics_->db_coalesced.fetch_add(1, std::memory_order_relaxed);
        joined.push_back(it->second);
        joined_pos.push_back(i);
        continue;
      }
      auto f = std::make_shared<Flight>();
      f->seq = seq;
      flights_->inflight[ids[i]] = f;
      led.push_back(f);
      led_pos.push_back(i);
      led_ids.push_back(ids[i]);
    }
  }

  Status status;
  if (!led_ids.empty()) {
    metrics_->db_queries.fetch_add(1, std::memory_order_relaxed);
    Result<std::vector<Row>> rows = Status::Internal("database read did not run");
    try {
      rows = store_->Get(led_ids);
    } catch (const std::exception& e) {
      rows = Status::Internal(std::string("database read failed: ") + e.what());
    }
    if (!rows.ok()) {
      metrics_->db_errors.fetch_add(1, std::memory_order_relaxed);
      status = rows.status();
    } else {
      for (Row& r : rows.value()) {
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

}  // namespace

Result<std::vector<std::optional<Row>>> Service::Read(std::span<const int64_t> ids, bool use_cache) {
  auto [distinct, slot] = DistinctIds(ids);

  std::vector<std::optional<Row>> found(distinct.size());
  std::vector<int64_t> misses;        // distinct ids not answered by the cache
  std::vector<size_t> miss_pos;       // their index in distinct
  std::vector<std::optional<std::string>> miss_guard;  // guard value seen with the miss
  std::vector<char> fillable;         // whether the miss may be filled
  bool use = use_cache && cache_ != nullptr && !distinct.empty();
  bool looked_up = false;
  if (use) {
    // One MGET: entry and guard of each id, interleaved.
    std::vector<std::string> keys;
    keys.reserve(2 * distinct.size());
    for (int64_t id : distinct) {
      keys.push_back(CacheKey(id));
      keys.push_back(keys.back() + opts_.guard_suffix);
    }
    auto got = cache_->MGet(keys);
    if (!got.ok()) {
      metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
    } else {
      looked_up = true;
      int64_t now = now_nanos_();
      uint64_t hits = 0;
      for (size_t i = 0; i < distinct.size(); ++i) {
        bool bypass = pending_->Contains(distinct[i], now);
        const auto& v = got.value()[2 * i];
        if (v && !bypass) {
          auto row = RowFromJson(*v);
          if (row && row->id == distinct[i]) {
            found[i] = std::move(*row);
            ++hits;
            continue;
          }
          metrics_->cache_corrupt.fetch_add(1, std::memory_order_relaxed);
        }
        misses.push_back(distinct[i]);
        miss_pos.push_back(i);
        miss_guard.push_back(std::move(got.value()[2 * i + 1]));
        fillable.push_back(!bypass);
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
    Status s = FetchMisses(misses, &rows);
    if (!s.ok()) return s;
    std::vector<GuardedEntry> entries;
    int64_t now = now_nanos_();
    for (size_t k = 0; k < misses.size(); ++k) {
      if (!rows[k]) continue;  // unknown ids are never cached
      if (looked_up && fillable[k] && !pending_->Contains(misses[k], now)) {
        entries.push_back(GuardedEntry{CacheKey(misses[k]), RowToJson(*rows[k]), TtlWithJitter(),
                                       GuardKey(misses[k]), std::move(miss_guard[k])});
      }
      found[miss_pos[k]] = std::move(rows[k]);
    }
    if (!entries.empty()) {
      auto stored = cache_->SetIfGuardUnchanged(entries);
      if (stored.ok()) {
        metrics_->cache_fills.fetch_add(*stored, std::memory_order_relaxed);
        metrics_->cache_fills_refused.fetch_add(entries.size() - *stored, std::memory_order_relaxed);
      } else {
        metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  std::vector<std::optional<Row>> out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) out.push_back(found[slot[i]]);
  metrics_->rows_read.fetch_add(ids.size(), std::memory_order_relaxed);
  return out;
}

void Service::InvalidateOrRemember(std::span<const int64_t> ids) {
  if (cache_ == nullptr || ids.empty()) return;
  std::vector<std::pair<std::string, std::string>> kg;
  kg.reserve(ids.size());
  for (int64_t id : ids) kg.emplace_back(CacheKey(id), GuardKey(id));
  Status s = cache_->Invalidate(kg, GuardTtl());
  if (s.ok()) {
    metrics_->cache_invalidations.fetch_add(ids.size(), std::memory_order_relaxed);
    return;
  }
  metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
  int64_t max_ttl_nanos = static_cast<int64_t>(opts_.ttl_seconds * (1.0 + opts_.ttl_jitter) * 1e9) + 1'000'000'000;
  pending_->Add(ids, opts_.max_pending_invalidations, now_nanos_(), max_ttl_nanos);
  metrics_->pending_invalidations.store(pending_->size(), std::memory_order_relaxed);
}

void Service::RetryPendingInvalidations() {
  if (pending_->size() == 0 || cache_ == nullptr) return;
  std::unique_lock l(pending_->retry_mu, std::try_to_lock);
  if (!l.owns_lock()) return;
  int64_t now = now_nanos_();
  if (now < pending_->next_retry) return;
  std::vector<int64_t> ids = pending_->Snapshot(1000);
  std::vector<std::pair<std::string, std::string>> kg;
  kg.reserve(ids.size());
  for (int64_t id : ids) kg.emplace_back(CacheKey(id), GuardKey(id));
  if (cache_->Invalidate(kg, GuardTtl()).ok()) {
    pending_->Remove(ids, now);
    metrics_->cache_invalidations.fetch_add(ids.size(), std::memory_order_relaxed);
  } else {
    pending_->next_retry = now + opts_.invalidation_retry_nanos;
  }
  metrics_->pending_invalidations.store(pending_->size(), std::memory_order_relaxed);
}

size_t Service::PendingInvalidations() const { return pending_->size(); }

Result<std::vector<int64_t>> Service::Write(std::span<const Row> rows, bool use_cache) {
  if (rows.empty()) return std::vector<int64_t>{};
  auto ids = store_->Insert(rows);
  if (!ids.ok()) {
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

  if (use_cache && cache_ != nullptr) {
    std::vector<CacheEntry> entries;
    entries.reserve(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      Row r = rows[i];
      r.id = (*ids)[i];
      entries.push_back(CacheEntry{CacheKey(r.id), RowToJson(r), TtlWithJitter()});
    }
    Status s = cache_->SetMany(entries);
    if (s.ok()) {
      metrics_->write_through_rows.fetch_add(entries.size(), std::memory_order_relaxed);
    } else {
      // The commit stands and is reported as a success. No entry may contradict
      // it: the ids are new (never reused), unknown ids are never cached, and
      // any SET that did land holds the committed row. Invalidating the keys
      // also clears whatever an earlier incarnation of the table left under
      // them; if even that fails, the ids bypass the cache until it works.
      metrics_->write_through_failures.fetch_add(1, std::memory_order_relaxed);
      metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
      InvalidateOrRemember(*ids);
    }
  }
  return std::move(ids.value());
}

Status Service::Update(std::span<const RowUpdate> updates) {
  if (updates.empty()) return Status::OK();
  Status s = store_->Update(updates);
  if (!s.ok()) {
    if (!s.IsNotFound() && !s.IsInvalidArgument()) metrics_->db_errors.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  std::vector<int64_t> ids;
  ids.reserve(updates.size());
  for (const auto& u : updates) ids.push_back(u.id);
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
    return deleted.status();
  }
  for (int64_t id : *deleted) BumpWriteSeq(id);
  metrics_->db_transactions.fetch_add(1, std::memory_order_relaxed);
  InvalidateOrRemember(*deleted);
  return deleted;
}

Response Service::Execute(const Request& req) {
  Response resp;
  if (req.kind == Request::Kind::kRead) {
    auto rows = Read(req.ids, req.use_cache);
    if (!rows.ok()) return ErrorResponse(rows.status());
    resp.body.reserve(32 + rows->size() * 100);
    resp.body = "{\"statusCode\": 200, \"body\": [";
    bool first = true;
    for (const auto& r : rows.value()) {
      if (!first) resp.body += ", ";
      first = false;
      if (r) {
        AppendRowJson(resp.body, *r);
      } else {
        resp.body += "null";
      }
    }
    resp.body += "]}";
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
    if (!ids.ok()) return ErrorResponse(ids.status());
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
      req.ids.size() > 64 || PendingInvalidations() > 0) {
    return std::nullopt;
  }
  std::vector<std::string> keys;
  for (int64_t id : DistinctIds(req.ids).ids) keys.push_back(CacheKey(id));
  return keys;
}

std::optional<Response> Service::AnswerFromEntries(const Request& req,
                                                   std::span<const std::optional<std::string>> entries,
                                                   int64_t start_nanos) {
  auto [distinct, slot] = DistinctIds(req.ids);
  if (entries.size() != distinct.size() || PendingInvalidations() > 0) return std::nullopt;
  std::vector<Row> rows;
  rows.reserve(distinct.size());
  for (size_t i = 0; i < distinct.size(); ++i) {
    if (!entries[i]) return std::nullopt;
    auto row = RowFromJson(*entries[i]);
    if (!row || row->id != distinct[i]) return std::nullopt;  // the normal path counts and handles it
    rows.push_back(std::move(*row));
  }
  Response resp;
  resp.body.reserve(32 + req.ids.size() * 100);
  resp.body = "{\"statusCode\": 200, \"body\": [";
  for (size_t i = 0; i < req.ids.size(); ++i) {
    if (i) resp.body += ", ";
    AppendRowJson(resp.body, rows[slot[i]]);
  }
  resp.body += "]}";
  metrics_->cache_hits.fetch_add(distinct.size(), std::memory_order_relaxed);
  metrics_->rows_read.fetch_add(req.ids.size(), std::memory_order_relaxed);
  metrics_->CountRequest(RequestKind::kRead, Outcome::kOk, now_nanos_() - start_nanos);
  return resp;
}

Response Service::Handle(std::string_view event_json) {
  RetryPendingInvalidations();
  int64_t start = now_nanos_();
  RequestKind kind;
  auto req = ParseEvent(event_json, opts_, &kind);
  Response resp = req.ok() ? Execute(req.value()) : ErrorResponse(req.status());
  Outcome outcome = resp.status == 200   ? Outcome::kOk
                    : resp.status == 503 ? Outcome::kUnavailable
                    : resp.status < 500  ? Outcome::kClientError
                                         : Outcome::kError;
  metrics_->CountRequest(kind, outcome, now_nanos_() - start);
  return resp;
}

}  // namespace rowcache
