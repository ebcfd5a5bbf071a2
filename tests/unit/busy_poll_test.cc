// The adaptive busy-polling rule (src/http/busy_poll.h) as a plain object:
// the windows, the "paid lately" record of idle gaps, and the eligibility
// limits, on a clock the test moves by hand.
#include "http/busy_poll.h"

#include <gtest/gtest.h>

namespace rowcache {
namespace {

using std::chrono::microseconds;
constexpr int64_t kUs = 1000;  // ns

TEST(BusyPollRule, OffWithoutWindows) {
  EXPECT_FALSE(BusyPollRule(microseconds(0), microseconds(0), 0).enabled());
  EXPECT_TRUE(BusyPollRule(microseconds(50), microseconds(0), 0).enabled());
  EXPECT_TRUE(BusyPollRule(microseconds(0), microseconds(50), 0).enabled());
}

TEST(BusyPollRule, PollsWithinTheWindowAfterActivity) {
  BusyPollRule r(microseconds(100), microseconds(0), 0);
  r.Activity(1000 * kUs);
  EXPECT_TRUE(r.ShouldPoll(1050 * kUs, 0, 1, 0));
  EXPECT_TRUE(r.ShouldPoll(1099 * kUs, 0, 1, 0));
  EXPECT_FALSE(r.ShouldPoll(1100 * kUs, 0, 1, 0));  // the window has passed
  r.Activity(2000 * kUs);
  EXPECT_TRUE(r.ShouldPoll(2010 * kUs, 0, 1, 0));
}

TEST(BusyPollRule, PollsWhileARecentRedisLookupIsOutstanding) {
  BusyPollRule r(microseconds(100), microseconds(300), 0);
  r.Activity(1000 * kUs);
  // Past the handler window, but the thread's own Redis lookup began 100 us ago.
  EXPECT_TRUE(r.ShouldPoll(1200 * kUs, 1100 * kUs, 1, 0));
  EXPECT_FALSE(r.ShouldPoll(1500 * kUs, 1100 * kUs, 1, 0));  // that wait is too old now
  EXPECT_FALSE(r.ShouldPoll(1200 * kUs, 0, 1, 0));           // and without one: the window alone
}

TEST(BusyPollRule, OnlyWithFewConnectionsAndNoneOnAWorker) {
  BusyPollRule r(microseconds(100), microseconds(0), 0);
  r.Activity(1000 * kUs);
  EXPECT_TRUE(r.ShouldPoll(1010 * kUs, 0, BusyPollRule::kMaxPollConnections, 0));
  EXPECT_FALSE(r.ShouldPoll(1010 * kUs, 0, BusyPollRule::kMaxPollConnections + 1, 0));
  EXPECT_FALSE(r.ShouldPoll(1010 * kUs, 0, 1, 1));
}

TEST(BusyPollRule, StopsWhenGapsStopEndingWithinTheWindowAndResumesWhenTheyDo) {
  BusyPollRule r(microseconds(100), microseconds(0), 0);
  int64_t t = 1000 * kUs;
  r.Activity(t);
  // Long gaps (open-loop, light traffic): each idle gap is seen, then ends
  // after 1 ms. 16 - 4 = 12 short ones are still enough; the fifth long gap
  // leaves 11 of 16 and polling no longer pays.
  for (int i = 0; i < 4; ++i) {
    r.ShouldPoll(t + 10 * kUs, 0, 1, 0);
    t += 1000 * kUs;
    r.Activity(t);
  }
  EXPECT_TRUE(r.ShouldPoll(t + 10 * kUs, 0, 1, 0));
  t += 1000 * kUs;
  r.Activity(t);
  EXPECT_FALSE(r.ShouldPoll(t + 10 * kUs, 0, 1, 0));  // within the window, but polling has not paid
  t += 1000 * kUs;
  r.Activity(t);
  // Closed-loop traffic again: gaps of 20 us. After enough of them polling pays again.
  int polled_after = -1;
  for (int i = 0; i < 16 && polled_after < 0; ++i) {
    if (r.ShouldPoll(t + 10 * kUs, 0, 1, 0)) polled_after = i;
    t += 20 * kUs;
    r.Activity(t);
  }
  // The six long gaps age out of the last 16 one by one: after 12 short
  // gaps, 12 of the last 16 are short.
  EXPECT_EQ(polled_after, 12);
}

TEST(BusyPollRule, GapsThatBeginWaitingForRedisAreNotCounted) {
  BusyPollRule r(microseconds(100), microseconds(0), 0);
  int64_t t = 1000 * kUs;
  r.Activity(t);
  // Twenty long gaps that each began with a Redis lookup outstanding: not
  // classified, so the record of short gaps stays as it was.
  for (int i = 0; i < 20; ++i) {
    r.ShouldPoll(t + 10 * kUs, t, 1, 0);
    t += 1000 * kUs;
    r.Activity(t);
  }
  EXPECT_TRUE(r.ShouldPoll(t + 10 * kUs, 0, 1, 0));
}

}  // namespace
}  // namespace rowcache
