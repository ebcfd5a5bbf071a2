#include "core/lease_token.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace rowcache {
namespace {

TEST(LeaseToken, ThirtyTwoHexDigitsFromBothDraws) {
  uint64_t draws[] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  int n = 0;
  std::string t = LeaseToken([&] { return draws[n++ % 2]; });
  EXPECT_EQ(n, 2);
  EXPECT_EQ(t,
            "fedcba9876543210"
            "0123456789abcdef");  // low nibble first, per draw
  std::mt19937_64 gen(1);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(LeaseToken([&] { return gen(); }));
  EXPECT_EQ(seen.size(), 1000u);
  for (const std::string& s : seen) {
    ASSERT_EQ(s.size(), 32u);
    EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos);
  }
}

}  // namespace
}  // namespace rowcache
