// The Client's connections: the pools per node (acquire, release, dropping
// the pools of departed nodes), connecting with AUTH and SELECT (and a
// credentials refresh after a refused AUTH), one exchange of commands and
// replies, and the long-lived Connection outside the pools.
#include <algorithm>

#include "redis/client_internal.h"

namespace rowcache::redis {

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

}  // namespace rowcache::redis
