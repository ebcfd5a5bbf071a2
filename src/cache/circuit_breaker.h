// A circuit breaker around a Cache.
//
// After `failures_to_open` consecutive failed calls the breaker opens: calls
// fail at once with Unavailable("cache circuit open ...") instead of each
// paying the cache timeout -- except invalidations, which are always
// attempted (a refused one would leave other processes serving old rows). After `open_for` one call is let
// through (half-open); its success closes the breaker, its failure opens it again. Thread-safe; no threads or
// timers of its own (time comes from `now_nanos`).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "rowcache/cache.h"
#include "rowcache/metrics.h"

namespace rowcache {

struct BreakerOptions {
  // Consecutive failures that open the breaker. Default: 3.
  int failures_to_open = 3;
  // How long it stays open before one probe call is let through. Default: 1 s.
  std::chrono::milliseconds open_for{1000};
};

// metrics may be null. now_nanos defaults to steady_clock.
std::unique_ptr<Cache> NewCircuitBreakerCache(std::unique_ptr<Cache> inner, BreakerOptions opts,
                                              Metrics* metrics, std::function<int64_t()> now_nanos = {});

}  // namespace rowcache
