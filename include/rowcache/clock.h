// SteadyNanos: the steady (monotonic) clock as nanoseconds since an
// unspecified start -- the one helper every folder reads it through (times
// kept in atomics, deadlines, health windows, the benchmark's own timing).
// Code that must be testable takes a `now` function instead and defaults to
// this.
#pragma once

#include <chrono>
#include <cstdint>

namespace rowcache {

inline int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace rowcache
