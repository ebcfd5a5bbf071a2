// The Client's topology discovery: CLUSTER SLOTS asked of the seed (then of
// the masters known), a standalone server recognized by its refusal, at most
// one discovery at a time and one per 100 ms; and Start, which also reaches
// every master once.
#include <thread>

#include "redis/client_internal.h"

namespace rowcache::redis {

std::shared_ptr<const Topology> Client::topology() const {
  std::lock_guard l(topo_mu_);
  return topo_;
}

void Client::MarkTopologyStale() {
  std::lock_guard l(topo_mu_);
  stale_ = true;
}

Result<std::shared_ptr<const Topology>> Client::LearnTopology() {
  return EnsureTopology(std::chrono::steady_clock::now() + opts_.timeout);
}

Status Client::Start() {
  Deadline deadline = std::chrono::steady_clock::now() + opts_.timeout;
  MarkTopologyStale();
  {
    std::lock_guard l(topo_mu_);
    last_discovery_ = 0;
  }
  auto t = EnsureTopology(deadline);
  if (!t.ok()) return t.status();
  // In a cluster, also reach (and authenticate to) every master.
  for (const NodeAddress& n : (*t)->nodes) {
    auto p = PoolFor(n);
    auto c = Acquire(*p, deadline);
    if (!c.ok()) return c.status();
    Release(*p, std::move(c.value()), true);
  }
  return Status::OK();
}

Result<std::shared_ptr<const Topology>> Client::EnsureTopology(Deadline deadline) {
  {
    std::lock_guard l(topo_mu_);
    // Refresh at most every 100 ms: a burst of failures during a failover
    // must not turn into a burst of CLUSTER SLOTS.
    bool due = !topo_ || (stale_ && SteadyNanos() - last_discovery_ > 100'000'000);
    if (!due) return topo_;
  }
  // One discovery at a time; the others wait for it, within their deadline
  // (try_lock and a short sleep: timed_mutex's clocklock is invisible to
  // ThreadSanitizer).
  std::unique_lock d(discover_mu_, std::defer_lock);
  while (!d.try_lock()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      auto t = topology();
      if (t) return t;
      return Fail(ErrorClass::kTimeout, opts_.seed.Id(), "waiting for the slot map");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  {
    std::lock_guard l(topo_mu_);
    bool due = !topo_ || (stale_ && SteadyNanos() - last_discovery_ > 100'000'000);
    if (!due) return topo_;
  }
  Status s = Discover(deadline);
  auto t = topology();
  if (!s.ok() && !t) return s;
  return t;  // a failed refresh keeps the map we had: most of it is still right
}

Status Client::Discover(Deadline deadline) {
  {
    std::lock_guard l(topo_mu_);
    last_discovery_ = SteadyNanos();
  }
  // The seed first (a configuration endpoint resolves to a live node), then
  // the masters we know of.
  std::vector<NodeAddress> candidates{opts_.seed};
  if (auto t = topology()) {
    for (const auto& n : t->nodes) {
      if (!(n == opts_.seed)) candidates.push_back(n);
    }
  }
  Status last;
  for (const NodeAddress& addr : candidates) {
    auto pool_ref = PoolFor(addr);
    Pool& pool = *pool_ref;
    auto c = Acquire(pool, deadline);
    if (!c.ok()) {
      if (c.status().IsInvalidArgument()) return c.status();
      last = c.status();
      if (std::chrono::steady_clock::now() >= deadline) break;
      continue;
    }
    Conn& conn = **c;
    conn.out.clear();
    AppendCommand(conn.out, {"CLUSTER", "SLOTS"});
    std::vector<Reply> replies;
    Status s = Exchange(conn, 1, &replies, deadline);
    Release(pool, std::move(c.value()), s.ok());
    if (!s.ok()) {
      last = Fail(ClassifyTransportError(s.message()), addr.Id(), s.message());
      continue;
    }
    std::string_view err = ReplyError(replies[0].get());
    Topology topo;
    if (!err.empty()) {
      if (err.find("cluster support disabled") == std::string_view::npos) {
        last = Fail(ClassifyReplyError(err), addr.Id(), "CLUSTER SLOTS: " + std::string(err));
        continue;
      }
      topo = StandaloneTopology(addr);
    } else {
      auto parsed = TopologyFromClusterSlots(replies[0].get(), addr);
      if (!parsed.ok()) {
        last = Fail(ErrorClass::kProtocol, addr.Id(), parsed.status().message());
        continue;
      }
      topo = std::move(parsed.value());
      if (opts_.db != 0) {
        return Status::InvalidArgument("cache URL: database " + std::to_string(opts_.db) +
                                       " requested, but a Redis Cluster has only database 0");
      }
    }
    auto fresh = std::make_shared<const Topology>(std::move(topo));
    {
      std::lock_guard l(topo_mu_);
      topo_ = fresh;
      stale_ = false;
    }
    DropDepartedPools(*fresh);
    return Status::OK();
  }
  return last.ok() ? Status::Unavailable("redis: no node to ask for the slot map") : last;
}

}  // namespace rowcache::redis
