#include "redis/client.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <thread>
#include <unordered_map>

namespace rowcache::redis {

std::string Options::Describe() const {
  return std::string(tls.enabled ? "rediss://" : "redis://") + seed.host + ":" + std::to_string(seed.port) +
         "/" + std::to_string(db);
}

Result<Options> OptionsFromUrl(const Url& url) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("cache URL '" + url.Redacted() + "': " + why);
  };
  if (url.scheme != "redis" && url.scheme != "rediss") return bad("scheme must be redis:// or rediss://");
  if (url.host.empty()) return bad("missing host");
  Options o;
  o.seed = NodeAddress{url.host, url.port ? url.port : 6379};
  o.tls.enabled = url.scheme == "rediss";
  o.user = url.user;
  o.password = url.password;
  if (!o.user.empty() && o.password.empty()) return bad("a user needs a password");
  if (!url.path.empty()) {
    if (url.path.size() > 9) return bad("database must be a number");
    for (char ch : url.path) {
      if (ch < '0' || ch > '9') return bad("database must be a number");
    }
    o.db = std::stoi(url.path);
  }
  for (const auto& [k, v] : url.query) {
    if (k == "insecure") {
      if (v != "0" && v != "1") return bad("insecure must be 0 or 1");
      o.tls.verify = v != "1";
    } else if (k == "ca") {
      o.tls.ca_file = v;
    } else if (k == "sni") {
      o.tls.sni = v;
    } else {
      // Named only when it looks like a parameter (name=value, a short
      // lower-case name): anything else may be a misplaced password.
      bool named = !v.empty() && k.size() <= 24;
      for (char ch : k) {
        named = named && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-');
      }
      return bad((named ? "unknown parameter '" + k + "'" : std::string("an unknown parameter")) +
                 " (known: ca, sni, insecure)");
    }
  }
  if (!o.tls.enabled && (!o.tls.ca_file.empty() || !o.tls.sni.empty() || !o.tls.verify)) {
    return bad("ca, sni and insecure need rediss://");
  }
  return o;
}

Command MakeCommand(std::initializer_list<std::string_view> args, std::string_view key) {
  Command c;
  AppendCommand(c.wire, args);
  c.slot = KeySlot(key);
  return c;
}

namespace {
constexpr std::string_view kGetWithTtlScript =
    "local r = {} for i, k in ipairs(KEYS) do r[2 * i - 1] = redis.call('GET', k) "
    "r[2 * i] = redis.call('PTTL', k) end return r";

void AppendGetWithTtl(std::string& out, std::span<const std::string> keys,
                      std::span<const uint32_t> positions) {
  AppendArrayHeader(out, positions.size() + 3);
  AppendBulk(out, "EVAL");
  AppendBulk(out, kGetWithTtlScript);
  AppendBulk(out, std::to_string(positions.size()));
  for (uint32_t pos : positions) AppendBulk(out, keys[pos]);
}
}  // namespace

MGetPlan PlanMGet(std::span<const std::string> keys, bool cluster, bool with_ttl) {
  MGetPlan plan;
  if (keys.empty()) return plan;
  if (!cluster) {
    MGetPlan::Part p;
    p.positions.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) p.positions[i] = static_cast<uint32_t>(i);
    if (with_ttl) {
      AppendGetWithTtl(p.wire, keys, p.positions);
    } else {
      AppendMGet(p.wire, keys);
    }
    plan.parts.push_back(std::move(p));
    return plan;
  }
  // Group by slot, in first-seen order (a handful of keys: linear search).
  for (size_t i = 0; i < keys.size(); ++i) {
    int slot = KeySlot(keys[i]);
    size_t j = 0;
    while (j < plan.parts.size() && plan.parts[j].slot != slot) ++j;
    if (j == plan.parts.size()) plan.parts.push_back(MGetPlan::Part{slot, {}, {}});
    plan.parts[j].positions.push_back(static_cast<uint32_t>(i));
  }
  for (auto& p : plan.parts) {
    if (with_ttl) {
      AppendGetWithTtl(p.wire, keys, p.positions);
      continue;
    }
    AppendArrayHeader(p.wire, p.positions.size() + 1);
    AppendBulk(p.wire, "MGET");
    for (uint32_t pos : p.positions) AppendBulk(p.wire, keys[pos]);
  }
  return plan;
}

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

Connection::~Connection() = default;

Status Connection::Send(std::string_view wire, Deadline deadline) {
  return t_->WriteAll(wire.data(), wire.size(), deadline);
}

Result<Reply> Connection::TryRead() {
  Reply r;
  if (!reader_->Next(&r)) return Status::Unavailable(reader_->error());
  return r;
}

Result<Reply> Connection::Read(Deadline deadline) {
  char buf[16384];
  for (;;) {
    auto r = TryRead();
    if (!r.ok() || *r) return r;
    auto got = t_->ReadSome(buf, sizeof buf, deadline);
    if (!got.ok()) return got.status();
    if (!reader_->Feed(buf, *got)) return Status::Unavailable(reader_->error());
  }
}

int Connection::fd() const { return t_->fd(); }
bool Connection::Buffered() const { return t_->Buffered(); }
bool Connection::IdleAndOpen() const { return t_->IdleAndOpen(); }

Result<std::unique_ptr<Connection>> Client::Dial(const NodeAddress& addr, Deadline deadline) {
  auto c = Connect(addr, deadline);
  if (!c.ok()) return c.status();
  std::unique_ptr<Connection> conn(new Connection());
  conn->t_ = std::move((*c)->t);
  conn->reader_ = std::move((*c)->reader);
  return conn;
}

size_t AppendConnectionSetup(std::string& out, const Credentials& creds, int db) {
  size_t n = 0;
  if (!creds.password.empty()) {
    if (creds.user.empty()) {
      AppendCommand(out, {"AUTH", creds.password});
    } else {
      AppendCommand(out, {"AUTH", creds.user, creds.password});
    }
    ++n;
  }
  if (db != 0) {
    AppendCommand(out, {"SELECT", std::to_string(db)});
    ++n;
  }
  return n;
}

Client::Client(Options opts) : opts_(std::move(opts)), creds_{opts_.user, opts_.password} {}

Credentials Client::credentials() const {
  std::lock_guard l(creds_mu_);
  return creds_;
}

bool Client::RefreshCredentials(const Credentials& used) {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard l(creds_mu_);
    if (creds_.user != used.user || creds_.password != used.password) return true;  // refreshed meanwhile
    if (!opts_.refresh_credentials || now - last_refresh_ < std::chrono::seconds(1)) return false;
    last_refresh_ = now;
  }
  std::optional<Credentials> fresh = opts_.refresh_credentials();
  if (!fresh || fresh->password.empty()) return false;
  std::lock_guard l(creds_mu_);
  if (!fresh->user.empty()) creds_.user = fresh->user;
  creds_.password = fresh->password;
  return creds_.user != used.user || creds_.password != used.password;
}
Client::~Client() = default;

Status Client::Fail(ErrorClass cls, const std::string& where, const std::string& what) {
  health_.Failure(cls, SteadyNanos());
  return Status::Unavailable("redis " + where + ": " + ErrorClassName(cls) + ": " + what);
}

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

std::shared_ptr<Client::Pool> Client::PoolFor(const NodeAddress& addr) {
  std::lock_guard l(pools_mu_);
  for (auto& p : pools_) {
    if (p->addr == addr) return p;
  }
  pools_.push_back(std::make_shared<Pool>());
  pools_.back()->addr = addr;
  return pools_.back();
}

void Client::DropDepartedPools(const Topology& t) {
  std::vector<std::shared_ptr<Pool>> departed;
  {
    std::lock_guard l(pools_mu_);
    auto keep = [&](const std::shared_ptr<Pool>& p) {
      return p->addr == opts_.seed || std::find(t.nodes.begin(), t.nodes.end(), p->addr) != t.nodes.end();
    };
    auto mid = std::stable_partition(pools_.begin(), pools_.end(), keep);
    departed.assign(std::make_move_iterator(mid), std::make_move_iterator(pools_.end()));
    pools_.erase(mid, pools_.end());
  }
  for (auto& p : departed) {
    std::lock_guard l(p->mu);
    p->open -= static_cast<int>(p->idle.size());
    p->idle.clear();  // closed; connections in use close when released
  }
}

size_t Client::pool_count() const {
  std::lock_guard l(pools_mu_);
  return pools_.size();
}

Result<std::unique_ptr<Client::Conn>> Client::Acquire(Pool& pool, Deadline deadline) {
  {
    std::unique_lock l(pool.mu);
    if (!pool.cv.wait_until(l, deadline,
                            [&] { return !pool.idle.empty() || pool.open < opts_.max_connections; })) {
      return Fail(ErrorClass::kTimeout, pool.addr.Id(),
                  "all " + std::to_string(opts_.max_connections) + " connections busy");
    }
    while (!pool.idle.empty()) {
      auto c = std::move(pool.idle.back());
      pool.idle.pop_back();
      // A connection the server closed while it sat idle (server timeout,
      // restart, failover, or a Lambda environment frozen between events) is
      // replaced here rather than failing the call that drew it. Checked
      // only after a pause, so a busy pool pays no extra syscall.
      if (std::chrono::steady_clock::now() - c->released < std::chrono::milliseconds(100) ||
          c->t->IdleAndOpen()) {
        return c;
      }
      --pool.open;
    }
    ++pool.open;
  }
  auto c = Connect(pool.addr, deadline);
  if (!c.ok()) {
    std::lock_guard l(pool.mu);
    --pool.open;
    pool.cv.notify_one();
  }
  return c;
}

void Client::Release(Pool& pool, std::unique_ptr<Conn> c, bool reusable) {
  std::lock_guard l(pool.mu);
  if (reusable) {
    c->released = std::chrono::steady_clock::now();
    pool.idle.push_back(std::move(c));
  } else {
    --pool.open;
    c.reset();
  }
  pool.cv.notify_one();
}

Result<std::unique_ptr<Client::Conn>> Client::Connect(const NodeAddress& addr, Deadline deadline,
                                                      bool may_refresh) {
  auto t = ConnectTransport(addr.host, addr.port, opts_.tls, deadline);
  if (!t.ok()) return Fail(ClassifyTransportError(t.status().message()), addr.Id(), t.status().message());
  auto c = std::make_unique<Conn>();
  c->t = std::move(t.value());
  Credentials creds = credentials();
  size_t n = AppendConnectionSetup(c->out, creds, opts_.db);
  if (n > 0) {
    std::vector<Reply> replies;
    Status s = Exchange(*c, n, &replies, deadline);
    if (!s.ok()) return Fail(ClassifyTransportError(s.message()), addr.Id(), s.message());
    for (size_t i = 0; i < replies.size(); ++i) {
      std::string_view err = ReplyError(replies[i].get());
      if (err.empty()) continue;
      bool auth = !creds.password.empty() && i == 0;
      if (!auth && err.find("not allowed in cluster mode") != std::string_view::npos) {
        return Status::InvalidArgument("cache URL: database " + std::to_string(opts_.db) +
                                       " requested, but a Redis Cluster has only database 0");
      }
      ErrorClass cls = ClassifyReplyError(err);
      if (cls == ErrorClass::kOther) cls = ErrorClass::kAuth;  // AUTH or SELECT refused
      if (auth && cls == ErrorClass::kAuth && may_refresh && RefreshCredentials(creds)) {
        // A rotated password: once more, on a new connection, with a fresh timeout.
        return Connect(addr, std::chrono::steady_clock::now() + opts_.timeout, /*may_refresh=*/false);
      }
      return Fail(cls, addr.Id(), std::string(auth ? "AUTH" : "SELECT") + " refused: " + std::string(err));
    }
  }
  return c;
}

Status Client::Exchange(Conn& c, size_t n, std::vector<Reply>* replies, Deadline deadline) {
  Status s = c.t->WriteAll(c.out.data(), c.out.size(), deadline);
  if (!s.ok()) return s;
  replies->reserve(replies->size() + n);
  size_t want = replies->size() + n;
  char buf[16384];
  while (replies->size() < want) {
    Reply r;
    if (!c.reader->Next(&r)) return Status::Unavailable(c.reader->error());
    if (r) {
      replies->push_back(std::move(r));
      continue;
    }
    auto got = c.t->ReadSome(buf, sizeof buf, deadline);
    if (!got.ok()) return got.status();
    if (!c.reader->Feed(buf, *got)) return Status::Unavailable(c.reader->error());
  }
  return Status::OK();
}

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

Result<std::vector<Reply>> Client::Run(std::span<const Command> cmds, Partial partial) {
  std::vector<Reply> out(cmds.size());
  if (cmds.empty()) return out;
  // The timeout, plus 50 us per command beyond the first hundred: a read of
  // 10,000 ids in a cluster is 10,000 scripts, which no timeout sized for a
  // round trip covers.
  auto extra = std::chrono::microseconds(50) * (cmds.size() > 100 ? cmds.size() - 100 : 0);
  Deadline deadline = std::chrono::steady_clock::now() + opts_.timeout + extra;
  auto topo = EnsureTopology(deadline);
  if (!topo.ok()) return topo.status();
  const bool allow_partial = partial == Partial::kAllowed;

  struct Route {
    size_t cmd;
    bool asking;
    NodeAddress addr;
  };
  std::vector<Route> todo;
  todo.reserve(cmds.size());
  Status first_failure;
  size_t failed_cmds = 0;
  for (size_t i = 0; i < cmds.size(); ++i) {
    const NodeAddress* a = (*topo)->NodeFor(cmds[i].slot);
    if (!a) {
      MarkTopologyStale();
      Status s = Fail(ErrorClass::kClusterDown, opts_.seed.Id(),
                      "no node serves slot " + std::to_string(cmds[i].slot));
      if (!allow_partial) return s;
      if (first_failure.ok()) first_failure = s;
      ++failed_cmds;
      continue;
    }
    todo.push_back(Route{i, false, *a});
  }

  bool refreshed = false;
  for (int attempt = 0; !todo.empty(); ++attempt) {
    // Group by node, keeping each node's commands in order.
    struct Group {
      std::shared_ptr<Pool> pool;
      std::vector<const Route*> routes;
      std::unique_ptr<Conn> conn;
      size_t expect = 0;
      bool done = false;  // every reply read: the connection can be reused
      Status failure;     // this node failed (its commands have no reply)
    };
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
    // Write to every node first, then read: the nodes work in parallel.
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
    std::vector<Route> redo;
    bool moved = false;
    for (auto& g : groups) {
      if (!g.failure.ok()) continue;
      std::vector<Reply> replies;
      g.conn->out.clear();  // Exchange writes out: nothing more to write
      Status s = Exchange(*g.conn, g.expect, &replies, deadline);
      if (!s.ok()) {
        g.failure = Fail(ClassifyTransportError(s.message()), g.pool->addr.Id(), s.message());
        continue;
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
            if (!KnownNode(**topo, *target)) {
              // Only nodes of the slot map learned from the configured
              // endpoint are ever connected to (and sent the password): a
              // redirect elsewhere refreshes the map first.
              MarkTopologyStale();
              refreshed = true;
              if (auto fresh = EnsureTopology(deadline); fresh.ok()) topo = std::move(fresh);
            }
            if (!KnownNode(**topo, *target)) {
              g.failure = Fail(ErrorClass::kRedirect, g.pool->addr.Id(),
                               "redirected to " + target->Id() + ", a node not in the cluster's slot map");
              break;
            }
            bool ask = err.substr(0, 3) == "ASK";
            moved = moved || !ask;
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
      if (!g.failure.ok()) continue;
      for (auto& [cmd, reply] : got) out[cmd] = std::move(reply);
      for (auto& r : node_redo) redo.push_back(std::move(r));
    }
    for (auto& g : groups) {
      if (g.conn) Release(*g.pool, std::move(g.conn), g.done);
      if (g.failure.ok()) continue;
      if ((*topo)->cluster) MarkTopologyStale();
      if (!allow_partial) return g.failure;
      if (first_failure.ok()) first_failure = g.failure;
      failed_cmds += g.routes.size();
    }
    if (redo.empty()) break;
    if (attempt >= 1) {
      MarkTopologyStale();
      Status s = Fail(ErrorClass::kRedirect, opts_.seed.Id(), "still redirected after a retry");
      if (!allow_partial) return s;
      if (first_failure.ok()) first_failure = s;
      failed_cmds += redo.size();
      break;
    }
    if (moved && !refreshed) {
      // Later calls should go to the right node at once.
      MarkTopologyStale();
      refreshed = true;
      (void)EnsureTopology(deadline);
    }
    todo = std::move(redo);
  }
  if (failed_cmds == cmds.size()) return first_failure;
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
