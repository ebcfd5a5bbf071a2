// The adaptive rule of busy polling (ServerOptions::busy_poll): whether an
// I/O thread that found nothing to run polls its sockets again (epoll_wait
// with a zero timeout) or blocks until the next handler. It polls while
//   - polling has paid lately (below);
//   - a handler ran less than `window` ago, or it waits for its own Redis
//     replies and the oldest lookup is younger than `redis_window` (a short
//     wait whose end is near);
//   - it has at most kMaxPollConnections connections (with more it rarely
//     sleeps anyway, and polling would take the CPU from Redis and the
//     clients), and none of its requests is on a worker (which needs the CPU
//     more than this thread does).
// (The server also needs a free polling slot: at most half the cores poll.)
//
// "Paid lately": of the last 16 idle gaps that began with no Redis lookup
// outstanding (measured whether the thread polled or slept through them), at
// least kPaidGaps ended within `window`. A client that sends its next request
// as soon as it has an answer keeps that true; requests spaced wider than the
// window (light, open-loop traffic) make it false, and the thread then sleeps
// as without polling (it cost 2.4x the CPU per request there, for no better
// median and a worse p99: docs/benchmarks.md).
//
// Times are steady-clock nanoseconds given by the caller; no clock, no I/O.
// One per I/O thread (not thread-safe).
#pragma once

#include <chrono>
#include <cstdint>

namespace rowcache {

class BusyPollRule {
 public:
  static constexpr int kMaxPollConnections = 4;
  static constexpr int kPaidGaps = 12;  // of the last 16

  // now: the thread's start (counts as its last activity).
  BusyPollRule(std::chrono::nanoseconds window, std::chrono::nanoseconds redis_window, int64_t now);

  // False when both windows are 0: the thread always blocks.
  bool enabled() const { return window_ > 0 || redis_window_ > 0; }

  // A handler ran at `now`: ends the idle gap in progress (classified as
  // short or long if it began with no Redis lookup outstanding).
  void Activity(int64_t now);

  // The thread found nothing to run at `now` (the first such call after an
  // activity begins an idle gap). waiting_since: when its oldest outstanding
  // Redis lookup began, 0 for none; connections: open on the thread;
  // on_workers: its requests handed to workers. Whether to poll.
  bool ShouldPoll(int64_t now, int64_t waiting_since, int connections, int on_workers);

 private:
  int64_t window_, redis_window_;
  int64_t last_;                  // the last activity
  uint32_t short_gaps_ = 0xFFFF;  // bit i: the i-th last classified gap ended within the window
  bool in_gap_ = false, classify_ = false;
};

}  // namespace rowcache
