#include "rowcache/metrics.h"

namespace rowcache {

namespace {
constexpr const char* kKindNames[] = {"read", "write", "update", "delete", "invalid"};
constexpr const char* kOutcomeNames[] = {"ok", "client_error", "unavailable", "error"};
}  // namespace

void Histogram::Observe(int64_t nanos) {
  if (nanos < 0) nanos = 0;
  double secs = static_cast<double>(nanos) / 1e9;
  size_t i = 0;
  while (i < kBounds.size() && secs > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<uint64_t>(nanos), std::memory_order_relaxed);
}

void Histogram::Render(PrometheusText& out, const std::string& name, const std::string& labels) const {
  uint64_t cumulative = 0;
  std::string sep = labels.empty() ? "" : ",";
  std::string bucket = name + "_bucket";
  for (size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = i < kBounds.size() ? PrometheusText::FormatDouble(kBounds[i]) : "+Inf";
    out.Sample(bucket, labels + sep + "le=\"" + le + "\"", cumulative);
  }
  out.SampleDouble(name + "_sum", labels,
                   static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9);
  out.Sample(name + "_count", labels, count_.load(std::memory_order_relaxed));
}

void Metrics::CountRequest(RequestKind k, Outcome o, int64_t nanos) {
  requests[static_cast<size_t>(k)][static_cast<size_t>(o)].fetch_add(1, std::memory_order_relaxed);
  latency[static_cast<size_t>(k)].Observe(nanos);
}

uint64_t Metrics::Get(RequestKind k, Outcome o) const {
  return requests[static_cast<size_t>(k)][static_cast<size_t>(o)].load(std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  PrometheusText out;
  out.text().reserve(8192);
  Render(out);
  return std::move(out.text());
}

void Metrics::Render(PrometheusText& out) const {
  out.Family("rowcache_requests_total", "counter", "Requests handled by the core, by kind and outcome.");
  for (size_t k = 0; k < kKinds; ++k) {
    for (size_t o = 0; o < kOutcomes; ++o) {
      out.Sample("rowcache_requests_total",
                 std::string("kind=\"") + kKindNames[k] + "\",outcome=\"" + kOutcomeNames[o] + "\"",
                 requests[k][o].load(std::memory_order_relaxed));
    }
  }
  out.Family("rowcache_request_duration_seconds", "histogram", "Time in the core per request, by kind.");
  for (size_t k = 0; k < kKinds; ++k) {
    latency[k].Render(out, "rowcache_request_duration_seconds",
                      std::string("kind=\"") + kKindNames[k] + "\"");
  }
  auto v = [](const Counter& c) { return c.load(std::memory_order_relaxed); };
  out.Counter("rowcache_cache_hits_total", "Ids answered from the cache.", v(cache_hits));
  out.Counter("rowcache_cache_misses_total", "Ids looked up in the cache and not found.", v(cache_misses));
  out.Counter("rowcache_cache_errors_total", "Cache calls that failed (down, timeout, protocol).",
              v(cache_errors));
  out.Counter("rowcache_cache_corrupt_total", "Cached values that did not decode (treated as misses).",
              v(cache_corrupt));
  out.Counter("rowcache_cache_fills_total", "Rows stored in the cache by lazy loading.", v(cache_fills));
  out.Counter("rowcache_write_through_rows_total", "Rows stored in the cache after a committed write.",
              v(write_through_rows));
  out.Counter("rowcache_write_through_failures_total",
              "Committed writes whose cache step failed (reported as success).", v(write_through_failures));
  out.Counter("rowcache_cache_short_circuits_total",
              "Cache calls refused while the circuit breaker was open.", v(cache_short_circuits));
  out.Counter("rowcache_cache_breaker_opens_total", "Times the cache circuit breaker opened.",
              v(cache_breaker_opens));
  out.Gauge("rowcache_cache_breaker_state", "Cache circuit breaker: 0 closed, 1 open, 2 half-open.",
            cache_breaker_state.load(std::memory_order_relaxed));
  out.Counter("rowcache_cache_invalidations_total", "Keys invalidated after updates and deletes.",
              v(cache_invalidations));
  out.Counter("rowcache_cache_fills_refused_total",
              "Fills and write-throughs not stored because their lease was gone (a write raced them, or "
              "the lease was lost).",
              v(cache_fills_refused));
  out.Counter("rowcache_cache_leases_released_total",
              "Leases a read took and released unused (ids with no row, or not filled), so a read leaves "
              "no key behind.",
              v(cache_leases_released));
  out.Counter(
      "rowcache_tracking_malformed_messages_total",
      "Malformed messages on the near cache's invalidation channel (e.g. PUBLISHed by a client): ignored.",
      v(tracking_malformed));
  out.Counter(
      "rowcache_writes_unknown_outcome_total",
      "Writes whose commit outcome was unknown (lost connection): invalidated at once and again later.",
      v(writes_unknown_outcome));
  out.Gauge("rowcache_pending_invalidations", "Keys whose invalidation failed and is retried.",
            v(pending_invalidations));
  out.Counter("rowcache_db_coalesced_total",
              "Ids answered by joining a concurrent request's database query (single-flight).",
              v(db_coalesced));
  out.Counter("rowcache_db_queries_total", "Database read queries (one per read with misses).",
              v(db_queries));
  out.Counter("rowcache_db_transactions_total", "Write transactions committed.", v(db_transactions));
  out.Counter("rowcache_db_errors_total", "Database calls that failed.", v(db_errors));
  out.Counter("rowcache_rows_read_total", "Row slots answered to readers (nulls included).", v(rows_read));
  out.Counter("rowcache_rows_written_total", "Rows committed by writers.", v(rows_written));
}

}  // namespace rowcache
