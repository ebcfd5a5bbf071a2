// The read path (lazy loading) and the write path (write-through).
#include "rowcache/service.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <random>
#include <unordered_map>

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

Service::Service(Store* store, Cache* cache, ServiceOptions opts, Metrics* metrics,
                 std::function<int64_t()> now_nanos, std::function<uint64_t()> rand)
    : store_(store),
      cache_(cache),
      opts_(std::move(opts)),
      metrics_(metrics),
      now_nanos_(now_nanos ? std::move(now_nanos) : SteadyNanos),
      rand_(std::move(rand)) {
  if (!rand_) {
    rand_ = [] {
      thread_local std::mt19937_64 gen{std::random_device{}()};
      return gen();
    };
  }
}

std::string Service::CacheKey(int64_t id) const {
  std::string k;
  k.reserve(opts_.key_prefix.size() + 11);
  k += opts_.key_prefix;
  AppendInt(k, id);
  return k;
}

int Service::TtlWithJitter() {
  double j = opts_.ttl_jitter;
  if (j <= 0) return opts_.ttl_seconds;
  // u uniform in [0, 1): TTL uniform in [ttl*(1-j), ttl*(1+j)].
  double u = static_cast<double>(rand_() >> 11) * 0x1.0p-53;
  double ttl = opts_.ttl_seconds * (1.0 + j * (2.0 * u - 1.0));
  return std::max(1, static_cast<int>(std::lround(ttl)));
}

Result<std::vector<std::optional<Row>>> Service::Read(std::span<const int64_t> ids, bool use_cache) {
  // Distinct ids in first-seen order; slot[i] is the index of ids[i] among them.
  std::vector<int64_t> distinct;
  std::vector<size_t> slot(ids.size());
  distinct.reserve(ids.size());
  if (ids.size() <= 16) {
    for (size_t i = 0; i < ids.size(); ++i) {
      size_t j = 0;
      while (j < distinct.size() && distinct[j] != ids[i]) ++j;
      if (j == distinct.size()) distinct.push_back(ids[i]);
      slot[i] = j;
    }
  } else {
    std::unordered_map<int64_t, size_t> index;
    index.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      auto [it, inserted] = index.try_emplace(ids[i], distinct.size());
      if (inserted) distinct.push_back(ids[i]);
      slot[i] = it->second;
    }
  }

  std::vector<std::optional<Row>> found(distinct.size());
  std::vector<int64_t> misses;
  bool fill = use_cache && cache_ != nullptr;
  std::vector<std::string> keys;
  if (fill && !distinct.empty()) {
    keys.reserve(distinct.size());
    for (int64_t id : distinct) keys.push_back(CacheKey(id));
    auto got = cache_->MGet(keys);
    if (!got.ok()) {
      // Cache down: answer from the database, and do not try to fill.
      metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
      fill = false;
      misses = distinct;
    } else {
      uint64_t hits = 0;
      for (size_t i = 0; i < distinct.size(); ++i) {
        const auto& v = got.value()[i];
        if (v) {
          auto row = RowFromJson(*v);
          if (row && row->id == distinct[i]) {
            found[i] = std::move(*row);
            ++hits;
            continue;
          }
          metrics_->cache_corrupt.fetch_add(1, std::memory_order_relaxed);
        }
        misses.push_back(distinct[i]);
      }
      metrics_->cache_hits.fetch_add(hits, std::memory_order_relaxed);
      metrics_->cache_misses.fetch_add(misses.size(), std::memory_order_relaxed);
    }
  } else {
    misses = distinct;
  }

  if (!misses.empty()) {
    metrics_->db_queries.fetch_add(1, std::memory_order_relaxed);
    auto rows = store_->Get(misses);
    if (!rows.ok()) {
      metrics_->db_errors.fetch_add(1, std::memory_order_relaxed);
      return rows.status();
    }
    std::vector<CacheEntry> entries;
    if (fill) entries.reserve(rows->size());
    // Place each row in its slot; misses are few, so a map only for big reads.
    std::unordered_map<int64_t, size_t> where;
    if (distinct.size() > 16) {
      where.reserve(distinct.size());
      for (size_t i = 0; i < distinct.size(); ++i) where.emplace(distinct[i], i);
    }
    for (Row& r : rows.value()) {
      size_t i = 0;
      if (distinct.size() > 16) {
        auto it = where.find(r.id);
        if (it == where.end()) continue;  // a row we did not ask for: ignore
        i = it->second;
      } else {
        while (i < distinct.size() && distinct[i] != r.id) ++i;
        if (i == distinct.size()) continue;
      }
      if (fill) entries.push_back(CacheEntry{keys[i], RowToJson(r), TtlWithJitter()});
      found[i] = std::move(r);
    }
    // Unknown ids are not cached (no negative entries), so a later insert of
    // that id can never be hidden by the cache.
    if (!entries.empty()) {
      Status s = cache_->SetMany(entries);
      if (s.ok()) {
        metrics_->cache_fills.fetch_add(entries.size(), std::memory_order_relaxed);
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
      // any SET that did land holds the committed row. Deleting the keys also
      // clears whatever an earlier incarnation of the table left under them.
      metrics_->write_through_failures.fetch_add(1, std::memory_order_relaxed);
      metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
      std::vector<std::string> keys;
      keys.reserve(entries.size());
      for (auto& e : entries) keys.push_back(std::move(e.key));
      if (!cache_->Del(keys).ok()) metrics_->cache_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return std::move(ids.value());
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
    auto ids = Write(req.rows, req.use_cache);
    if (!ids.ok()) return ErrorResponse(ids.status());
    resp.body = "{\"statusCode\": 200, \"body\": \"write success\", \"ids\": [";
    for (size_t i = 0; i < ids->size(); ++i) {
      if (i) resp.body += ", ";
      AppendInt(resp.body, (*ids)[i]);
    }
    resp.body += "]}";
  }
  return resp;
}

Response Service::Handle(std::string_view event_json) {
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
