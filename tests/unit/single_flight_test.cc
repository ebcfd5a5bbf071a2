#include "core/single_flight.h"

#include <gtest/gtest.h>

namespace rowcache {
namespace {

TEST(SingleFlight, AWriteBumpsItsStripeOnly) {
  FlightTable t;
  uint64_t before = t.Seq(5);
  t.Bump(5);
  EXPECT_EQ(t.Seq(5), before + 1);
  EXPECT_EQ(t.Seq(5 + FlightTable::kStripes),
            before + 1);  // same stripe: a shared query there is suspect too
  EXPECT_EQ(t.Seq(6), 0u);
}

}  // namespace
}  // namespace rowcache
