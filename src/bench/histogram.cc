#include "bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace rowcache::bench {

namespace {
constexpr int64_t kSub = int64_t{1} << Histogram::kSubBits;  // 128
constexpr int64_t kLinear = kSub * 2;                        // 256: exact below this
}  // namespace

size_t Histogram::IndexOf(int64_t v) {
  if (v < 0) v = 0;
  if (v > kMaxValue) v = kMaxValue;
  if (v < kLinear) return static_cast<size_t>(v);
  int msb = 63 - std::countl_zero(static_cast<uint64_t>(v));  // >= 8
  int shift = msb - kSubBits;                                 // >= 1
  int64_t sub = v >> shift;                                   // [128, 255]
  return static_cast<size_t>(kLinear + (shift - 1) * kSub + (sub - kSub));
}

int64_t Histogram::LowestEquivalent(size_t index) {
  auto i = static_cast<int64_t>(index);
  if (i < kLinear) return i;
  int64_t shift = (i - kLinear) / kSub + 1;
  int64_t sub = (i - kLinear) % kSub + kSub;
  return sub << shift;
}

int64_t Histogram::HighestEquivalent(size_t index) {
  auto i = static_cast<int64_t>(index);
  if (i < kLinear) return i;
  int64_t shift = (i - kLinear) / kSub + 1;
  return LowestEquivalent(index) + (int64_t{1} << shift) - 1;
}

size_t Histogram::BucketCount() { return IndexOf(kMaxValue) + 1; }

Histogram::Histogram() : counts_(BucketCount(), 0) {}

void Histogram::Record(int64_t nanos) {
  if (nanos < 0) nanos = 0;
  if (nanos > kMaxValue) {
    ++saturated_;
    nanos = kMaxValue;
  }
  ++counts_[IndexOf(nanos)];
  if (count_ == 0 || nanos < min_) min_ = nanos;
  if (count_ == 0 || nanos > max_) max_ = nanos;
  ++count_;
  sum_ += static_cast<double>(nanos);
}

void Histogram::Merge(const Histogram& o) {
  if (o.count_ == 0) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
  if (count_ == 0 || o.min_ < min_) min_ = o.min_;
  if (count_ == 0 || o.max_ > max_) max_ = o.max_;
  count_ += o.count_;
  saturated_ += o.saturated_;
  sum_ += o.sum_;
}

void Histogram::Reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = saturated_ = 0;
  min_ = max_ = 0;
  sum_ = 0;
}

int64_t Histogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 100.0);
  if (q == 0.0) return min_;
  auto rank = static_cast<uint64_t>(std::ceil(q / 100.0 * static_cast<double>(count_)));
  if (rank < 1) rank = 1;
  if (rank > count_) rank = count_;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(std::max(HighestEquivalent(i), min_), max_);
  }
  return max_;
}

std::vector<std::pair<double, int64_t>> Histogram::Distribution() const {
  std::vector<std::pair<double, int64_t>> out;
  if (count_ == 0) return out;
  // Five points per halving of the distance to 100% (0, 12.9, 24.2, ... 50, ...).
  for (int k = 0; k < 5 * 40; ++k) {
    double q = 100.0 - 100.0 * std::pow(2.0, -k / 5.0);
    out.emplace_back(q, Percentile(q));
    // Stop once the remaining tail is at most one recording.
    if ((100.0 - q) / 100.0 * static_cast<double>(count_) <= 1.0) break;
  }
  out.emplace_back(100.0, max_);
  return out;
}

}  // namespace rowcache::bench
