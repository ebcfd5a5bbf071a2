// The Client's pooled connection and per-node pool, shared by the files that
// implement it: client.cc (Run and its steps), client_pool.cc (connections and
// pools) and client_topology.cc (the slot map). Not for other folders.
#pragma once

#include <condition_variable>
#include <mutex>

#include "redis/client.h"

namespace rowcache::redis {

struct Client::Conn {
  std::unique_ptr<Transport> t;
  std::unique_ptr<ReplyReader> reader = std::make_unique<ReplyReader>();
  std::string out;
  std::chrono::steady_clock::time_point released;
};

struct Client::Pool {
  NodeAddress addr;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Conn>> idle;
  int open = 0;
};

// Run's state: where a command goes (asking: after an ASK redirect, sent
// after ASKING), the commands bound for one node, the failures so far and
// the redirects of one round.
struct Client::Route {
  size_t cmd;
  bool asking;
  NodeAddress addr;
};

struct Client::Group {
  std::shared_ptr<Pool> pool;
  std::vector<const Route*> routes;
  std::unique_ptr<Conn> conn;
  size_t expect = 0;
  bool done = false;  // every reply read: the connection can be reused
  Status failure;     // this node failed (its commands have no reply)
};

struct Client::RunFailures {
  bool allow_partial;
  Status first;         // the first failure, returned if every command failed
  size_t commands = 0;  // commands without a reply
  // Counts n commands failed with s; false if the call must fail with s now
  // (partial answers not allowed).
  bool Tolerate(const Status& s, size_t n) {
    if (!allow_partial) return false;
    if (first.ok()) first = s;
    commands += n;
    return true;
  }
};

struct Client::Redirects {
  std::vector<Route> redo;  // the commands to send again, where they were redirected
  bool moved = false;       // a MOVED among them (the slot map is out of date)
  bool refreshed = false;   // the slot map was refreshed during this call
};

}  // namespace rowcache::redis
