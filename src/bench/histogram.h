// A log-linear latency histogram in the style of HdrHistogram: values in
// nanoseconds, exact below 256 ns, then 128 buckets per power of two, so every
// recorded value is represented within 1/128 (< 0.8%) of itself. The range is
// 1 ns to 60 s (larger values are clamped to 60 s and counted as saturated).
// About 4,000 counters; recording is an index computation and an increment.
// Not thread-safe: each load thread keeps its own and they are merged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace rowcache::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 7;                    // 128 sub-buckets per power of two
  static constexpr int64_t kMaxValue = 60'000'000'000;  // 60 s in ns

  Histogram();

  void Record(int64_t nanos);
  void Merge(const Histogram& other);
  void Reset();

  uint64_t count() const { return count_; }
  uint64_t saturated() const { return saturated_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return count_ ? max_ : 0; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  // The value at percentile q (0..100): the highest value equivalent to the
  // bucket holding the ceil(q/100 * count)-th smallest recording, capped at
  // max(); min() for q = 0. 0 when empty.
  int64_t Percentile(double q) const;
  // (percentile, value) points for a percentile-distribution plot: five steps per
  // halving of the distance to 100%, down to the last recording, then 100 (max).
  std::vector<std::pair<double, int64_t>> Distribution() const;

  // Bucket arithmetic, public for tests.
  static size_t IndexOf(int64_t v);
  static int64_t LowestEquivalent(size_t index);
  static int64_t HighestEquivalent(size_t index);
  static size_t BucketCount();

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t saturated_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace rowcache::bench
