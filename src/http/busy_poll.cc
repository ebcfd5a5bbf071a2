#include "http/busy_poll.h"

#include <bit>

namespace rowcache {

BusyPollRule::BusyPollRule(std::chrono::nanoseconds window, std::chrono::nanoseconds redis_window,
                           int64_t now)
    : window_(window.count()), redis_window_(redis_window.count()), last_(now) {}

void BusyPollRule::Activity(int64_t now) {
  if (in_gap_ && classify_) short_gaps_ = ((short_gaps_ << 1) | (now - last_ < window_ ? 1u : 0u)) & 0xFFFF;
  in_gap_ = false;
  last_ = now;
}

bool BusyPollRule::ShouldPoll(int64_t now, int64_t waiting_since, int connections, int on_workers) {
  if (!in_gap_) {
    in_gap_ = true;
    classify_ = waiting_since == 0;
  }
  bool paid = std::popcount(short_gaps_) >= kPaidGaps;
  bool recent =
      paid && (now - last_ < window_ || (waiting_since != 0 && now - waiting_since < redis_window_));
  return recent && connections <= kMaxPollConnections && on_workers == 0;
}

}  // namespace rowcache
