// Tracker: Redis server-assisted client-side caching (CLIENT TRACKING) for a
// near cache: tells its owner which keys under a prefix changed, and when
// it can no longer know.
//
// Per master (one in a standalone server, each master in a cluster): a
// subscriber connection (CLIENT ID, SUBSCRIBE __redis__:invalidate) and a
// control connection with CLIENT TRACKING ON REDIRECT <subscriber>
// BCAST PREFIX <prefix> (RESP2: hiredis 0.14 speaks no RESP3). In broadcast
// mode the server sends the subscriber the name of every key under the
// prefix that is written, deleted, expired or evicted, whichever client
// changed it; a FLUSHALL or FLUSHDB sends a null (everything changed).
//
// Healthy means every current master has both connections up and
// subscribed. Whenever that stops being true -- a connection lost, a read
// error, the set of masters changed (failover, resharding) -- the owner's
// reset callback runs first (the near cache must flush and stop serving),
// and tracking is set up again, with backoff; ready runs once it is
// healthy again.
//
// No threads of its own: Poll() makes progress, from a thread of the
// owner's (serve) or at the start of each invocation with wait 0 (Lambda).
// Not thread-safe: one caller at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "redis/client.h"

namespace rowcache::redis {

// What one reply read on a subscriber connection says. Redis (RESP2, BCAST)
// sends ["message", "__redis__:invalidate", [key, ...]] for changed keys, the
// same with a nil for a FLUSHALL / FLUSHDB, and ["pong", ""] for our PING.
// Anything else that is on the channel is malformed: in particular any
// client allowed to PUBLISH to __redis__:invalidate can send a message whose
// payload is a string, which Redis itself never sends.
struct TrackingMessage {
  enum class Kind {
    kInvalidate,  // keys changed
    kFlush,       // everything changed
    kPong,        // the answer to a PING
    kOther,       // a (un)subscribe confirmation: nothing to do
    kMalformed,   // none of the above: counted and ignored
  };
  Kind kind = Kind::kMalformed;
  std::vector<std::string_view> keys;  // kInvalidate: views into the reply
};
// Never fails, whatever the reply holds (null included).
TrackingMessage ParseTrackingMessage(const redisReply* r);

class Tracker {
 public:
  struct Callbacks {
    std::function<void(std::string_view key)> invalidate;  // one key changed
    std::function<void()> reset;                           // all may have changed; not healthy
    std::function<void()> ready;                           // healthy again
    // Every invalidation of a change Redis made before t (steady ns) has
    // been delivered to `invalidate`: each master answered a PING sent at t
    // on the channel, behind all earlier messages.
    std::function<void(int64_t t)> coherent_as_of;
    // A malformed message was read and ignored (ParseTrackingMessage): it
    // neither invalidates nor resets anything. For a metrics counter.
    std::function<void()> malformed;
  };
  Tracker(std::shared_ptr<Client> client, std::string prefix, Callbacks callbacks);
  ~Tracker();

  // Reads every invalidation already received (all of it: the socket is
  // drained), waiting up to `wait` for more; sends a PING on each channel
  // every ping_interval and resets if one goes unanswered for dead_after (a
  // silent partition); (re)connects when due. Returns whether tracking is
  // healthy.
  bool Poll(std::chrono::milliseconds wait);
  std::chrono::milliseconds ping_interval{50};
  std::chrono::milliseconds dead_after{1000};
  bool healthy() const { return healthy_; }

  // Counters, for metrics.
  uint64_t invalidations() const { return invalidations_; }
  uint64_t resets() const { return resets_; }
  uint64_t malformed() const { return malformed_; }

 private:
  struct Node;
  Status Establish(Deadline deadline);
  void Reset(const std::string& why);
  void Handle(Node& n, const redisReply* r);
  void CountMalformed(const Node& n, const char* what);

  std::shared_ptr<Client> client_;
  std::string prefix_;
  Callbacks cb_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::shared_ptr<const Topology> tracked_;  // the topology nodes_ were set up for
  bool healthy_ = false;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{50};
  uint64_t invalidations_ = 0, resets_ = 0, malformed_ = 0;
  // Malformed messages are logged once, then at most once a minute.
  std::chrono::steady_clock::time_point next_malformed_log_{};
  uint64_t malformed_logged_ = 0;
  std::string last_error_;
};

}  // namespace rowcache::redis
