#include "rowcache/metrics.h"

#include <cstdio>

namespace rowcache {

namespace {
constexpr const char* kKindNames[] = {"read", "write", "update", "delete", "invalid"};
constexpr const char* kOutcomeNames[] = {"ok", "client_error", "unavailable", "error"};

void AppendDouble(std::string& out, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  out += buf;
}

void RenderCounter(std::string& out, const char* name, const char* help, uint64_t v) {
  out += "# HELP ";
  out += name;
  out += " ";
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += " counter\n";
  out += name;
  out += " ";
  out += std::to_string(v);
  out += "\n";
}
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

void Histogram::Render(std::string& out, const std::string& name, const std::string& labels) const {
  uint64_t cumulative = 0;
  std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += name + "_bucket{" + labels + sep + "le=\"";
    if (i < kBounds.size()) {
      AppendDouble(out, kBounds[i]);
    } else {
      out += "+Inf";
    }
    out += "\"} " + std::to_string(cumulative) + "\n";
  }
  std::string l = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + l + " ";
  AppendDouble(out, static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9);
  out += "\n" + name + "_count" + l + " " + std::to_string(count_.load(std::memory_order_relaxed)) + "\n";
}

void Metrics::CountRequest(RequestKind k, Outcome o, int64_t nanos) {
  requests[static_cast<size_t>(k)][static_cast<size_t>(o)].fetch_add(1, std::memory_order_relaxed);
  latency[static_cast<size_t>(k)].Observe(nanos);
}

uint64_t Metrics::Get(RequestKind k, Outcome o) const {
  return requests[static_cast<size_t>(k)][static_cast<size_t>(o)].load(std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  std::string out;
  out.reserve(8192);
  out += "# HELP rowcache_requests_total Requests handled by the core, by kind and outcome.\n";
  out += "# TYPE rowcache_requests_total counter\n";
  for (size_t k = 0; k < kKinds; ++k) {
    for (size_t o = 0; o < kOutcomes; ++o) {
      out += "rowcache_requests_total{kind=\"";
      out += kKindNames[k];
      out += "\",outcome=\"";
      out += kOutcomeNames[o];
      out += "\"} " + std::to_string(requests[k][o].load(std::memory_order_relaxed)) + "\n";
    }
  }
  out += "# HELP rowcache_request_duration_seconds Time in the core per request, by kind.\n";
  out += "# TYPE rowcache_request_duration_seconds histogram\n";
  for (size_t k = 0; k < kKinds; ++k) {
    latency[k].Render(out, "rowcache_request_duration_seconds",
                      std::string("kind=\"") + kKindNames[k] + "\"");
  }
  auto v = [](const Counter& c) { return c.load(std::memory_order_relaxed); };
  RenderCounter(out, "rowcache_cache_hits_total", "Ids answered from the cache.", v(cache_hits));
  RenderCounter(out, "rowcache_cache_misses_total", "Ids looked up in the cache and not found.",
                v(cache_misses));
  RenderCounter(out, "rowcache_cache_errors_total", "Cache calls that failed (down, timeout, protocol).",
                v(cache_errors));
  RenderCounter(out, "rowcache_cache_corrupt_total", "Cached values that did not decode (treated as misses).",
                v(cache_corrupt));
  RenderCounter(out, "rowcache_cache_fills_total", "Rows stored in the cache by lazy loading.",
                v(cache_fills));
  RenderCounter(out, "rowcache_write_through_rows_total", "Rows stored in the cache after a committed write.",
                v(write_through_rows));
  RenderCounter(out, "rowcache_write_through_failures_total",
                "Committed writes whose cache step failed (reported as success).", v(write_through_failures));
  RenderCounter(out, "rowcache_cache_short_circuits_total",
                "Cache calls refused while the circuit breaker was open.", v(cache_short_circuits));
  RenderCounter(out, "rowcache_cache_breaker_opens_total", "Times the cache circuit breaker opened.",
                v(cache_breaker_opens));
  out +=
      "# HELP rowcache_cache_breaker_state Cache circuit breaker: 0 closed, 1 open, 2 half-open.\n"
      "# TYPE rowcache_cache_breaker_state gauge\nrowcache_cache_breaker_state " +
      std::to_string(cache_breaker_state.load(std::memory_order_relaxed)) + "\n";
  RenderCounter(out, "rowcache_cache_invalidations_total", "Keys invalidated after updates and deletes.",
                v(cache_invalidations));
  RenderCounter(out, "rowcache_cache_fills_refused_total",
                "Fills and write-throughs not stored because their lease was gone (a write raced them, or "
                "the lease was lost).",
                v(cache_fills_refused));
  RenderCounter(out, "rowcache_cache_leases_released_total",
                "Leases a read took and released unused (ids with no row, or not filled), so a read leaves "
                "no key behind.",
                v(cache_leases_released));
  RenderCounter(
      out, "rowcache_tracking_malformed_messages_total",
      "Malformed messages on the near cache's invalidation channel (e.g. PUBLISHed by a client): ignored.",
      v(tracking_malformed));
  RenderCounter(
      out, "rowcache_writes_unknown_outcome_total",
      "Writes whose commit outcome was unknown (lost connection): invalidated at once and again later.",
      v(writes_unknown_outcome));
  out +=
      "# HELP rowcache_pending_invalidations Keys whose invalidation failed and is retried.\n"
      "# TYPE rowcache_pending_invalidations gauge\nrowcache_pending_invalidations " +
      std::to_string(pending_invalidations.load(std::memory_order_relaxed)) + "\n";
  RenderCounter(out, "rowcache_db_coalesced_total",
                "Ids answered by joining a concurrent request's database query (single-flight).",
                v(db_coalesced));
  RenderCounter(out, "rowcache_db_queries_total", "Database read queries (one per read with misses).",
                v(db_queries));
  RenderCounter(out, "rowcache_db_transactions_total", "Write transactions committed.", v(db_transactions));
  RenderCounter(out, "rowcache_db_errors_total", "Database calls that failed.", v(db_errors));
  RenderCounter(out, "rowcache_rows_read_total", "Row slots answered to readers (nulls included).",
                v(rows_read));
  RenderCounter(out, "rowcache_rows_written_total", "Rows committed by writers.", v(rows_written));
  return out;
}

}  // namespace rowcache
