// The Redis client: every path that talks to Redis goes through this module.
//
//   Options        (options.h) one URL's settings: TCP or TLS (verified), AUTH
//                  (password, or user + password), SELECT, timeouts, pool size
//   Command        (command.h) a command with its slot; MGET split by slot
//   Client         blocking calls (the cache backend); pools of connections
//                  per node; detects Redis Cluster from the one address given
//   AsyncClient    (async_client.h) non-blocking lookups on an io_context (the
//                  HTTP server's fast read path), over the same Options, slot
//                  map and health
//
// Cluster mode: at the first call the client sends CLUSTER SLOTS to the seed.
// A standalone server refuses it ("cluster support disabled") and every
// command goes to the seed; a cluster (ElastiCache cluster mode, Serverless,
// redis-server --cluster-enabled) answers with its slot map, and each command
// goes to the master of its key's slot. A batch of commands touching several
// nodes is written to all of them before any reply is read: one round trip
// of wall time. MOVED: the command is retried once at the address given and
// the slot map is refreshed; ASK: retried once with ASKING. A connection
// failure or CLUSTERDOWN fails the call (the caller falls back to the
// database) and the slot map is refreshed before the next call.
//
// Contract: thread-safe. No call blocks longer than the timeout (plus one
// slot-map refresh after a redirect, and 50 us per command beyond the first
// hundred in one call). Failures are Status::Unavailable with
// a message that names the node and the error class, never a password.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/transport.h"
#include "redis/command.h"
#include "redis/health.h"
#include "redis/options.h"
#include "redis/resp.h"
#include "redis/slots.h"
#include "rowcache/clock.h"
#include "rowcache/credentials.h"
#include "rowcache/status.h"
#include "rowcache/url.h"

struct redisReader;

namespace rowcache::redis {

// One connection of a Client, outside its pools, for a long-lived
// conversation (the near cache's invalidation channel): connected,
// authenticated and with its database selected.
class Connection {
 public:
  ~Connection();
  // Writes wire (one or more commands) before the deadline.
  Status Send(std::string_view wire, Deadline deadline);
  // The next reply, waiting for it until the deadline.
  Result<Reply> Read(Deadline deadline);
  // A reply if one is complete in what was already received, else null;
  // never waits. Unavailable if the connection failed.
  Result<Reply> TryRead();
  // For poll(2): the socket, and whether input is buffered above it.
  int fd() const;
  bool Buffered() const;
  // False if the peer closed it (for a connection with nothing to read).
  bool IdleAndOpen() const;

 private:
  friend class Client;
  Connection() = default;
  std::unique_ptr<Transport> t_;
  std::unique_ptr<ReplyReader> reader_;
};

class Client {
 public:
  explicit Client(Options opts);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects to the seed, authenticates and learns the topology now (instead
  // of at the first call). The error says what is wrong: unreachable,
  // certificate, authentication, database index.
  Status Start();

  // Runs the commands, each on the node that serves its slot, pipelined per
  // node; the replies in the order of cmds. Error replies other than
  // redirects and cluster/auth states are returned for the caller to judge.
  // kAllowed: a node that fails (down, CLUSTERDOWN, ...) leaves its
  // commands' replies null instead of failing the call, unless every
  // command failed -- for reads, which can treat those keys as missing
  // while the rest of a cluster still answers (a failover).
  enum class Partial { kNo, kAllowed };
  Result<std::vector<Reply>> Run(std::span<const Command> cmds, Partial partial = Partial::kNo);

  // Values of keys in order (nullopt for a missing key), one round trip;
  // keys on a node that failed read as missing (Partial::kAllowed).
  Result<std::vector<std::optional<std::string>>> MGet(std::span<const std::string> keys);

  // The current slot map (standalone: one node); null before the first
  // successful discovery.
  std::shared_ptr<const Topology> topology() const;
  // The slot map, discovering it first if need be (one timeout at most).
  Result<std::shared_ptr<const Topology>> LearnTopology();
  // Asks for the slot map to be refreshed before the next call (what the
  // asynchronous client does on a redirect or a lost connection).
  void MarkTopologyStale();

  // A new connection to addr, outside the pools (see Connection).
  Result<std::unique_ptr<Connection>> Dial(const NodeAddress& addr, Deadline deadline);

  // Options as given, except user/password: see credentials().
  const Options& options() const { return opts_; }
  // The credentials new connections authenticate with (the URL's, or the
  // latest refresh_credentials returned).
  Credentials credentials() const;
  Health& health() { return health_; }
  std::string Describe() const { return opts_.Describe(); }
  // Connection pools held (one per node connected to; for tests).
  size_t pool_count() const;

 private:
  struct Conn;
  struct Pool;
  // Run's steps (client.cc) and their state (client_internal.h).
  struct Route;
  struct Group;
  struct RunFailures;
  struct Redirects;
  Status RouteBySlot(std::span<const Command> cmds, const Topology& topo, RunFailures& failures,
                     std::vector<Route>* todo);
  std::vector<Group> GroupByNode(const std::vector<Route>& todo);
  void WriteToNodes(std::vector<Group>& groups, std::span<const Command> cmds, Deadline deadline);
  void ReadNodeReplies(Group& g, std::shared_ptr<const Topology>& topo, Deadline deadline,
                       std::vector<Reply>& out, Redirects& redirects);
  Status ReleaseNodes(std::vector<Group>& groups, const Topology& topo, RunFailures& failures);
  Result<std::shared_ptr<const Topology>> EnsureTopology(Deadline deadline);
  Status Discover(Deadline deadline);
  // The pool of addr's connections; a pool stays valid for its holder after
  // a discovery drops it (a node that left the slot map).
  std::shared_ptr<Pool> PoolFor(const NodeAddress& addr);
  // After a discovery: drops the pools (and their idle connections) of nodes
  // that are neither in t nor the seed.
  void DropDepartedPools(const Topology& t);
  Result<std::unique_ptr<Conn>> Acquire(Pool& pool, Deadline deadline);
  void Release(Pool& pool, std::unique_ptr<Conn> c, bool reusable);
  Result<std::unique_ptr<Conn>> Connect(const NodeAddress& addr, Deadline deadline, bool may_refresh = true);
  // After AUTH with `used` was refused: true if there are other credentials
  // to try (refreshed now, or by another thread meanwhile).
  bool RefreshCredentials(const Credentials& used);
  Status Exchange(Conn& c, size_t n, std::vector<Reply>* replies, Deadline deadline);
  Status Fail(ErrorClass cls, const std::string& where, const std::string& what);

  Options opts_;
  Health health_;
  mutable std::mutex creds_mu_;
  Credentials creds_;
  std::chrono::steady_clock::time_point last_refresh_{};
  mutable std::mutex topo_mu_;
  std::shared_ptr<const Topology> topo_;
  bool stale_ = false;
  int64_t last_discovery_ = 0;  // steady ns
  std::mutex discover_mu_;      // one discovery at a time
  mutable std::mutex pools_mu_;
  std::vector<std::shared_ptr<Pool>> pools_;
};

}  // namespace rowcache::redis
