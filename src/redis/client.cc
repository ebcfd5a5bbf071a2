#include "redis/client.h"

#include <algorithm>

#include "redis/client_internal.h"

namespace rowcache::redis {

Client::Client(Options opts) : opts_(std::move(opts)), creds_{opts_.user, opts_.password} {}

Status Client::Fail(ErrorClass cls, const std::string& where, const std::string& what) {
  health_.Failure(cls, SteadyNanos());
  return Status::Unavailable("redis " + where + ": " + ErrorClassName(cls) + ": " + what);
}

Client::~Client() = default;

namespace {

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 host:6381" -> the address.
std::optional<NodeAddress> RedirectTarget(std::string_view err) {
  size_t sp1 = err.find(' ');
  if (sp1 == std::string_view::npos) return std::nullopt;
  size_t sp2 = err.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return std::nullopt;
  std::string_view hp = err.substr(sp2 + 1);
  size_t colon = hp.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= hp.size()) return std::nullopt;
  NodeAddress a;
  a.host = std::string(hp.substr(0, colon));
  try {
    a.port = std::stoi(std::string(hp.substr(colon + 1)));
  } catch (...) {
    return std::nullopt;
  }
  if (a.port <= 0 || a.port > 65535) return std::nullopt;
  return a;
}

bool KnownNode(const Topology& t, const NodeAddress& a) {
  return std::find(t.nodes.begin(), t.nodes.end(), a) != t.nodes.end();
}

// Error replies the caller cannot act on: the call fails (and the cache
// falls back to the database).
bool FatalReplyClass(ErrorClass c) { return c != ErrorClass::kOther && c != ErrorClass::kRedirect; }

}  // namespace

// Run, step 1: each command to the master of its slot.
Status Client::RouteBySlot(std::span<const Command> cmds, const Topology& topo, RunFailures& failures,
                           std::vector<Route>* todo) {
  todo->reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    const NodeAddress* a = topo.NodeFor(cmds[i].slot);
    if (!a) {
      MarkTopologyStale();
      Status s = Fail(ErrorClass::kClusterDown, opts_.seed.Id(),
                      "no node serves slot " + std::to_string(cmds[i].slot));
      if (!failures.Tolerate(s, 1)) return s;
      continue;
    }
    todo->push_back(Route{i, false, *a});
  }
  return Status::OK();
}

// Run, step 2: the routes grouped by node, each node's commands in order.
std::vector<Client::Group> Client::GroupByNode(const std::vector<Route>& todo) {
  std::vector<Group> groups;
  for (const Route& r : todo) {
    Group* g = nullptr;
    for (auto& x : groups) {
      if (x.pool->addr == r.addr) g = &x;
    }
    if (!g) {
      groups.emplace_back();
      g = &groups.back();
      g->pool = PoolFor(r.addr);
    }
    g->routes.push_back(&r);
  }
  return groups;
}

// Run, step 3: every node's commands written before any reply is read, so
// that the nodes work in parallel.
void Client::WriteToNodes(std::vector<Group>& groups, std::span<const Command> cmds, Deadline deadline) {
  for (auto& g : groups) {
    auto c = Acquire(*g.pool, deadline);
    if (!c.ok()) {
      g.failure = c.status();
      continue;
    }
    g.conn = std::move(c.value());
    g.conn->out.clear();
    for (const Route* r : g.routes) {
      if (r->asking) {
        AppendCommand(g.conn->out, {"ASKING"});
        ++g.expect;
      }
      g.conn->out += cmds[r->cmd].wire;
      ++g.expect;
    }
    Status s = g.conn->t->WriteAll(g.conn->out.data(), g.conn->out.size(), deadline);
    if (!s.ok()) g.failure = Fail(ClassifyTransportError(s.message()), g.pool->addr.Id(), s.message());
  }
}

// Run, step 4: one node's replies. Its answers go into out only if the
// whole node answered usably; redirected commands go into redirects (a
// redirect to a node not in the slot map refreshes the map first).
void Client::ReadNodeReplies(Group& g, std::shared_ptr<const Topology>& topo, Deadline deadline,
                             std::vector<Reply>& out, Redirects& redirects) {
  std::vector<Reply> replies;
  g.conn->out.clear();  // Exchange writes out: nothing more to write
  Status s = Exchange(*g.conn, g.expect, &replies, deadline);
  if (!s.ok()) {
    g.failure = Fail(ClassifyTransportError(s.message()), g.pool->addr.Id(), s.message());
    return;
  }
  g.done = true;
  size_t k = 0;
  std::vector<std::pair<size_t, Reply>> got;  // kept only if the whole node answered usably
  std::vector<Route> node_redo;
  for (const Route* r : g.routes) {
    if (r->asking) ++k;  // ASKING's +OK (an error shows in the next reply)
    Reply& reply = replies[k++];
    std::string_view err = ReplyError(reply.get());
    if (!err.empty()) {
      ErrorClass cls = ClassifyReplyError(err);
      if (err.substr(0, 5) == "MOVED" || err.substr(0, 4) == "ASK ") {
        auto target = RedirectTarget(err);
        if (!target) {
          g.failure = Fail(ErrorClass::kProtocol, g.pool->addr.Id(), "bad redirect: " + std::string(err));
          break;
        }
        if (target->host.empty()) target->host = g.pool->addr.host;
        if (!KnownNode(*topo, *target)) {
          // Only nodes of the slot map learned from the configured
          // endpoint are ever connected to (and sent the password): a
          // redirect elsewhere refreshes the map first.
          MarkTopologyStale();
          redirects.refreshed = true;
          if (auto fresh = EnsureTopology(deadline); fresh.ok()) topo = std::move(fresh.value());
        }
        if (!KnownNode(*topo, *target)) {
          g.failure = Fail(ErrorClass::kRedirect, g.pool->addr.Id(),
                           "redirected to " + target->Id() + ", a node not in the cluster's slot map");
          break;
        }
        bool ask = err.substr(0, 3) == "ASK";
        redirects.moved = redirects.moved || !ask;
        node_redo.push_back(Route{r->cmd, ask, *target});
        continue;
      }
      if (FatalReplyClass(cls)) {
        if (cls == ErrorClass::kClusterDown || cls == ErrorClass::kReadOnly) MarkTopologyStale();
        g.failure = Fail(cls, g.pool->addr.Id(), std::string(err));
        break;
      }
    }
    got.emplace_back(r->cmd, std::move(reply));
  }
  if (!g.failure.ok()) return;
  for (auto& [cmd, reply] : got) out[cmd] = std::move(reply);
  for (auto& r : node_redo) redirects.redo.push_back(std::move(r));
}

// Run, step 5: the connections back to their pools (reusable if every reply
// was read); a node that failed fails the call, or (partial) its commands.
Status Client::ReleaseNodes(std::vector<Group>& groups, const Topology& topo, RunFailures& failures) {
  for (auto& g : groups) {
    if (g.conn) Release(*g.pool, std::move(g.conn), g.done);
    if (g.failure.ok()) continue;
    if (topo.cluster) MarkTopologyStale();
    if (!failures.Tolerate(g.failure, g.routes.size())) return g.failure;
  }
  return Status::OK();
}

Result<std::vector<Reply>> Client::Run(std::span<const Command> cmds, Partial partial) {
  std::vector<Reply> out(cmds.size());
  if (cmds.empty()) return out;
  // The timeout, plus 50 us per command beyond the first hundred: a read of
  // 10,000 ids in a cluster is 10,000 scripts, which no timeout sized for a
  // round trip covers.
  auto extra = std::chrono::microseconds(50) * (cmds.size() > 100 ? cmds.size() - 100 : 0);
  Deadline deadline = std::chrono::steady_clock::now() + opts_.timeout + extra;
  auto learned = EnsureTopology(deadline);
  if (!learned.ok()) return learned.status();
  std::shared_ptr<const Topology> topo = std::move(learned.value());
  RunFailures failures{partial == Partial::kAllowed};

  std::vector<Route> todo;
  if (Status s = RouteBySlot(cmds, *topo, failures, &todo); !s.ok()) return s;
  bool refreshed = false;
  for (int attempt = 0; !todo.empty(); ++attempt) {
    std::vector<Group> groups = GroupByNode(todo);
    WriteToNodes(groups, cmds, deadline);
    Redirects redirects;
    redirects.refreshed = refreshed;
    for (auto& g : groups) {
      if (g.failure.ok()) ReadNodeReplies(g, topo, deadline, out, redirects);
    }
    refreshed = redirects.refreshed;
    if (Status s = ReleaseNodes(groups, *topo, failures); !s.ok()) return s;
    if (redirects.redo.empty()) break;
    if (attempt >= 1) {
      MarkTopologyStale();
      Status s = Fail(ErrorClass::kRedirect, opts_.seed.Id(), "still redirected after a retry");
      if (!failures.Tolerate(s, redirects.redo.size())) return s;
      break;
    }
    if (redirects.moved && !refreshed) {
      // Later calls should go to the right node at once.
      MarkTopologyStale();
      refreshed = true;
      (void)EnsureTopology(deadline);
    }
    todo = std::move(redirects.redo);
  }
  if (failures.commands == cmds.size()) return failures.first;
  health_.Success(SteadyNanos());
  return out;
}

Result<std::vector<std::optional<std::string>>> Client::MGet(std::span<const std::string> keys) {
  std::vector<std::optional<std::string>> values(keys.size());
  if (keys.empty()) return values;
  auto topo = LearnTopology();
  if (!topo.ok()) return topo.status();
  MGetPlan plan = PlanMGet(keys, (*topo)->cluster);
  std::vector<Command> cmds;
  cmds.reserve(plan.parts.size());
  for (auto& p : plan.parts) cmds.push_back(Command{std::move(p.wire), p.slot});
  auto replies = Run(cmds, Partial::kAllowed);
  if (!replies.ok()) return replies.status();
  std::vector<std::optional<std::string>> part;
  for (size_t i = 0; i < plan.parts.size(); ++i) {
    const auto& positions = plan.parts[i].positions;
    if (!(*replies)[i]) continue;  // that node failed: its keys read as missing
    if (!MGetValues((*replies)[i].get(), positions.size(), &part)) {
      std::string_view err = ReplyError((*replies)[i].get());
      return Fail(err.empty() ? ErrorClass::kProtocol : ClassifyReplyError(err), opts_.seed.Id(),
                  err.empty() ? "unexpected reply to MGET" : "MGET: " + std::string(err));
    }
    for (size_t k = 0; k < positions.size(); ++k) values[positions[k]] = std::move(part[k]);
  }
  return values;
}

}  // namespace rowcache::redis
