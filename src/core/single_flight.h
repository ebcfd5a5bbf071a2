// Single flight: concurrent misses on one id share one database query.
//
// A reader that misses looks its id up in the FlightTable: if a query for it
// is in flight (and began late enough for this reader: see
// Service::FetchMisses), it waits on that Flight and takes its row;
// otherwise it starts one. Each id's stripe has a write sequence, bumped by
// every acknowledged write to an id of that stripe, so a reader can tell
// whether a shared query began before a write it must see.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "rowcache/row.h"
#include "rowcache/status.h"

namespace rowcache {

// One in-flight database read of one id, shared by concurrent readers.
struct Flight {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  std::optional<Row> row;
  uint64_t seq = 0;     // write sequence of the id's stripe when the query began
  int64_t started = 0;  // when the query began (now_nanos)
};

class FlightTable {
 public:
  static constexpr size_t kStripes = 64;
  uint64_t Seq(int64_t id) const { return seq_[Stripe(id)].load(std::memory_order_acquire); }
  void Bump(int64_t id) { seq_[Stripe(id)].fetch_add(1, std::memory_order_acq_rel); }

  std::mutex mu;
  std::unordered_map<int64_t, std::shared_ptr<Flight>> inflight;

 private:
  static size_t Stripe(int64_t id) { return static_cast<size_t>(id) % kStripes; }
  std::array<std::atomic<uint64_t>, kStripes> seq_{};
};

// Ids whose cache invalidation failed (retried), or whose write had an
// unknown outcome (invalidated again once due); bypassed until done. Each
// entry carries a generation, so a retry that succeeds removes only what it
// sent: an id added again meanwhile (a newer write that also failed to
// invalidate) stays until a later retry covers it.

}  // namespace rowcache
