#include "core/pending_invalidations.h"

#include <gtest/gtest.h>

namespace rowcache {
namespace {

TEST(PendingInvalidations, DueIdsAndGenerations) {
  PendingInvalidationSet p;
  EXPECT_FALSE(p.Active());
  EXPECT_FALSE(p.Contains(1, 0));
  int64_t ids[] = {1, 2};
  p.Add(ids, 10, /*now=*/0, /*bypass_nanos=*/100, /*due=*/50);
  EXPECT_TRUE(p.Active());
  EXPECT_TRUE(p.Contains(1, 0));
  EXPECT_FALSE(p.Contains(3, 0));
  EXPECT_TRUE(p.Due(49, 10).empty());  // not due yet
  auto due = p.Due(50, 10);
  ASSERT_EQ(due.size(), 2u);
  // Id 1 is added again (a newer failed invalidation) before the retry of the first ends:
  int64_t one[] = {1};
  p.Add(one, 10, 0, 100, 50);
  p.Remove(due, 60);
  EXPECT_TRUE(p.Contains(1, 60));  // its newer generation stays
  EXPECT_FALSE(p.Contains(2, 60));
  EXPECT_EQ(p.size(), 1u);
  p.Remove(p.Due(60, 10), 60);
  EXPECT_FALSE(p.Active());
}

TEST(PendingInvalidations, OverflowBypassesEveryIdUntilEntriesExpire) {
  PendingInvalidationSet p;
  int64_t ids[] = {1, 2, 3};
  p.Add(ids, /*max=*/2, /*now=*/1000, /*bypass_nanos=*/500, /*due=*/1000);
  EXPECT_TRUE(p.overflowed());
  EXPECT_TRUE(p.Contains(99, 1200));  // an id never recorded
  p.Remove(p.Due(1200, 10), 1200);
  EXPECT_TRUE(p.Contains(99, 1400));  // still within bypass_nanos of the overflow
  p.Remove(p.Due(1500, 10), 1500);
  EXPECT_FALSE(p.overflowed());
  EXPECT_FALSE(p.Contains(99, 1500));
}

TEST(PendingInvalidations, DueGivesAtMostMax) {
  PendingInvalidationSet p;
  std::vector<int64_t> ids;
  for (int64_t i = 1; i <= 50; ++i) ids.push_back(i);
  p.Add(ids, 100, 0, 100, 0);
  EXPECT_EQ(p.Due(0, 7).size(), 7u);
}

}  // namespace
}  // namespace rowcache
