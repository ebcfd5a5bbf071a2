// Metrics: counters and latency histograms, rendered as Prometheus text
// (through rowcache/prometheus.h).
//
// Declared once here (a fixed list, no registry lookups on the hot path);
// updated with relaxed atomics from any thread. No I/O: the HTTP front door
// serves Render() at GET /metrics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "rowcache/prometheus.h"

namespace rowcache {

enum class RequestKind { kRead = 0, kWrite, kUpdate, kDelete, kInvalid, kCount };
enum class Outcome { kOk = 0, kClientError, kUnavailable, kError, kCount };

class Histogram {
 public:
  // Upper bounds in seconds; the last bucket is +Inf.
  static constexpr std::array<double, 16> kBounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                     0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                                     0.5,     1.0,    2.5,     10.0};
  void Observe(int64_t nanos);
  void Render(PrometheusText& out, const std::string& name, const std::string& labels) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_nanos_{0};
};

struct Metrics {
  using Counter = std::atomic<uint64_t>;
  static constexpr size_t kKinds = static_cast<size_t>(RequestKind::kCount);
  static constexpr size_t kOutcomes = static_cast<size_t>(Outcome::kCount);

  std::array<std::array<Counter, kOutcomes>, kKinds> requests{};
  std::array<Histogram, kKinds> latency;
  Counter cache_hits{0};
  Counter cache_misses{0};
  Counter cache_errors{0};                  // failed cache calls (any operation)
  Counter cache_corrupt{0};                 // cached values that did not decode: treated as misses
  Counter cache_fills{0};                   // rows stored in the cache by lazy loading
  Counter write_through_rows{0};            // rows stored in the cache after a commit
  Counter write_through_failures{0};        // committed writes whose cache step failed
  Counter cache_short_circuits{0};          // cache calls refused by the open circuit breaker
  Counter cache_breaker_opens{0};           // times the breaker opened
  std::atomic<int> cache_breaker_state{0};  // 0 closed, 1 open, 2 half-open
  Counter cache_invalidations{0};           // keys invalidated after updates/deletes
  Counter cache_fills_refused{
      0};  // fills and write-throughs refused: their lease was gone (a write raced them)
  Counter cache_leases_released{0};   // leases a read took and gave back unused (ids with no row)
  Counter tracking_malformed{0};      // malformed messages on the near cache's invalidation channel (ignored)
  Counter writes_unknown_outcome{0};  // writes whose commit outcome was unknown (invalidated twice)
  Counter pending_invalidations{0};   // keys whose invalidation failed and is being retried (gauge)
  Counter db_queries{0};              // SELECT ... WHERE id IN (...)
  Counter db_coalesced{0};            // ids answered by joining another request's query
  Counter db_transactions{0};         // write transactions committed
  Counter db_errors{0};
  Counter rows_read{0};  // rows returned to clients (including nulls)
  Counter rows_written{0};

  void CountRequest(RequestKind k, Outcome o, int64_t nanos);
  uint64_t Get(RequestKind k, Outcome o) const;
  // Prometheus text exposition format, version 0.0.4.
  std::string Render() const;
  void Render(PrometheusText& out) const;
};

}  // namespace rowcache
