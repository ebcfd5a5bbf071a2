// MemoryCache: in-process LRU with per-entry TTL ("memory://", the default).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "rowcache/cache.h"

namespace rowcache {

// now: a monotonic clock, injectable for tests (default steady_clock).
std::unique_ptr<Cache> NewMemoryCache(size_t max_entries,
                                      std::function<std::chrono::steady_clock::time_point()> now = {});

}  // namespace rowcache
