#include "bench/zipf.h"

#include <algorithm>
#include <cmath>

namespace rowcache::bench {

namespace {
uint64_t SplitMix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
__extension__ typedef unsigned __int128 U128;

class Uniform : public KeyGen {
 public:
  explicit Uniform(int64_t n) : n_(n) {}
  int64_t Next(Rng& rng) const override {
    return 1 + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(n_)));
  }

 private:
  int64_t n_;
};
}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = SplitMix(x);
}

uint64_t Rng::Next() {
  uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double Rng::Uniform01() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

uint64_t Rng::Below(uint64_t n) { return static_cast<uint64_t>((static_cast<U128>(Next()) * n) >> 64); }

std::unique_ptr<KeyGen> UniformKeys(int64_t n) { return std::make_unique<Uniform>(std::max<int64_t>(n, 1)); }

ZipfKeys::ZipfKeys(int64_t n, double s) {
  n = std::max<int64_t>(n, 1);
  cdf_.resize(static_cast<size_t>(n));
  double sum = 0;
  for (int64_t k = 1; k <= n; ++k) {
    sum += 1.0 / std::pow(static_cast<double>(k), s);
    cdf_[static_cast<size_t>(k - 1)] = sum;
  }
  for (auto& c : cdf_) c /= sum;
  cdf_.back() = 1.0;
}

int64_t ZipfKeys::Next(Rng& rng) const {
  double u = rng.Uniform01();
  auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
  if (it == cdf_.end()) --it;
  return static_cast<int64_t>(it - cdf_.begin()) + 1;
}

double ZipfKeys::Probability(int64_t k) const {
  if (k < 1 || k > static_cast<int64_t>(cdf_.size())) return 0;
  double prev = k == 1 ? 0.0 : cdf_[static_cast<size_t>(k - 2)];
  return cdf_[static_cast<size_t>(k - 1)] - prev;
}

}  // namespace rowcache::bench
