// Key generators for the bench tool: uniform and Zipf over ids 1..n.
// Zipf: P(k) proportional to 1 / k^s, rank k = id k (id 1 is the hottest).
// Sampling inverts a precomputed cumulative table (8 bytes per id) with a
// binary search; deterministic for a given seed.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace rowcache::bench {

// splitmix64-seeded xoshiro256**: fast, good enough, reproducible.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  double Uniform01();          // [0, 1)
  uint64_t Below(uint64_t n);  // [0, n)

 private:
  uint64_t s_[4];
};

class KeyGen {
 public:
  virtual ~KeyGen() = default;
  virtual int64_t Next(Rng& rng) const = 0;  // in [1, n]
};

std::unique_ptr<KeyGen> UniformKeys(int64_t n);

class ZipfKeys : public KeyGen {
 public:
  ZipfKeys(int64_t n, double s);
  int64_t Next(Rng& rng) const override;
  // P(id = k) for the distribution, for tests.
  double Probability(int64_t k) const;

 private:
  std::vector<double> cdf_;  // cdf_[k-1] = P(id <= k)
};

}  // namespace rowcache::bench
