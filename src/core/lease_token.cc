#include "core/lease_token.h"

namespace rowcache {

std::string LeaseToken(const std::function<uint64_t()>& rand) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string t(32, '0');
  for (int half = 0; half < 2; ++half) {
    uint64_t r = rand();
    for (int i = 0; i < 16; ++i)
      t[static_cast<size_t>(half) * 16 + static_cast<size_t>(i)] = kHex[(r >> (4 * i)) & 0xF];
  }
  return t;
}

}  // namespace rowcache
