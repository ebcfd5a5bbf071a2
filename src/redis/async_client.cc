#include "redis/async_client.h"

#include <hiredis/hiredis.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>

#include <deque>

namespace rowcache::redis {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// One lookup, possibly split over several nodes; completes once.
struct AsyncClient::Lookup {
  Found found;
  bool with_ttl = false;
  size_t remaining = 0;  // parts not yet answered
  bool finished = false;
  std::unique_ptr<Done> done;

  void Finish(Result<Found> r) {
    if (finished) return;
    finished = true;
    (*done)(std::move(r));
  }
};

// One node's connection on this io_context.
class AsyncClient::Conn {
 public:
  Conn(AsyncClient& owner, NodeAddress addr)
      : owner_(owner), addr_(std::move(addr)), resolver_(owner.ioc_), sock_(owner.ioc_), timer_(owner.ioc_),
        in_(16384), reader_(redisReaderCreate()) {}
  ~Conn() { redisReaderFree(reader_); }

  const NodeAddress& addr() const { return addr_; }

  int64_t OldestSentNanos() const {
    for (const auto& p : pending_) {
      if (p.lookup) return p.sent;
    }
    return 0;
  }

  // Queues an MGET part for lookup; positions index lookup->values.
  void Send(std::string_view wire, std::shared_ptr<Lookup> lookup, std::vector<uint32_t> positions) {
    out_ += wire;
    int64_t now = SteadyNanos();
    pending_.push_back(Pending{std::move(lookup), std::move(positions), now,
                               now + std::chrono::duration_cast<std::chrono::nanoseconds>(Timeout()).count()});
    ArmTimer();
    if (state_ == State::kClosed) {
      Connect();
    } else if (state_ == State::kOpen) {
      // With nothing else in the pipeline, write at once (the latency of a
      // lone lookup). Otherwise write after the handlers that are ready now
      // have run, so that their lookups share this write.
      if (!writing_ && pending_.size() == 1) {
        Flush();
      } else if (!writing_ && !flush_posted_) {
        flush_posted_ = true;
        asio::post(owner_.ioc_, [this, g = generation_] {
          if (g != generation_) return;
          flush_posted_ = false;
          Flush();
        });
      }
    }
  }

 private:
  struct Pending {
    std::shared_ptr<Lookup> lookup;  // null: a setup command (AUTH, SELECT)
    std::vector<uint32_t> positions;
    int64_t sent = 0, deadline = 0;
  };
  enum class State { kClosed, kConnecting, kOpen };
  using TlsStream = asio::ssl::stream<tcp::socket&>;

  std::chrono::milliseconds Timeout() const { return owner_.client_->options().timeout; }

  template <class F>
  void WithStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(sock_);
    }
  }

  void Connect() {
    state_ = State::kConnecting;
    uint64_t g = ++generation_;
    // Resolved on every connect: a failover may move a name to a new address.
    resolver_.async_resolve(addr_.host, std::to_string(addr_.port),
                            [this, g](const boost::system::error_code& ec, tcp::resolver::results_type results) {
                              if (g != generation_) return;
                              if (ec || results.empty()) {
                                Fail(ErrorClass::kConnection, "cannot resolve " + addr_.host);
                                return;
                              }
                              asio::async_connect(sock_, results,
                                                  [this, g](const boost::system::error_code& ec, const tcp::endpoint&) {
                                                    if (g != generation_) return;
                                                    if (ec) {
                                                      Fail(ErrorClass::kConnection, "connect: " + ec.message());
                                                      return;
                                                    }
                                                    Connected(g);
                                                  });
                            });
  }

  void Connected(uint64_t g) {
    boost::system::error_code ignored;
    sock_.set_option(tcp::no_delay(true), ignored);
    if (!owner_.tls_) {
      Open();
      return;
    }
    tls_ = std::make_unique<TlsStream>(sock_, *owner_.tls_);
    ConfigureTlsPeer(tls_->native_handle(), addr_.host, owner_.client_->options().tls);
    tls_->async_handshake(asio::ssl::stream_base::client, [this, g](const boost::system::error_code& ec) {
      if (g != generation_) return;
      if (ec) {
        long v = SSL_get_verify_result(tls_->native_handle());
        Fail(ErrorClass::kTls, v != X509_V_OK ? std::string("certificate verification failed: ") +
                                                     X509_verify_cert_error_string(v)
                                               : "TLS handshake: " + ec.message());
        return;
      }
      Open();
    });
  }

  // AUTH and SELECT go ahead of whatever was queued while connecting.
  void Open() {
    const Options& o = owner_.client_->options();
    std::string setup;
    size_t n = 0;
    if (!o.password.empty()) {
      if (o.user.empty()) {
        AppendCommand(setup, {"AUTH", o.password});
      } else {
        AppendCommand(setup, {"AUTH", o.user, o.password});
      }
      ++n;
    }
    if (o.db != 0) {
      AppendCommand(setup, {"SELECT", std::to_string(o.db)});
      ++n;
    }
    out_.insert(0, setup);
    int64_t now = SteadyNanos();
    int64_t deadline = now + std::chrono::duration_cast<std::chrono::nanoseconds>(Timeout()).count();
    for (size_t i = 0; i < n; ++i) pending_.push_front(Pending{nullptr, {}, 0, deadline});
    state_ = State::kOpen;
    ReadMore();
    Flush();
  }

  void Flush() {
    if (state_ != State::kOpen || writing_ || out_.empty()) return;
    writing_ = true;
    writing_buf_.swap(out_);
    out_.clear();
    WithStream([&](auto& s) {
      asio::async_write(s, asio::buffer(writing_buf_), [this, g = generation_](const boost::system::error_code& ec, size_t) {
        if (g != generation_) return;
        writing_ = false;
        writing_buf_.clear();
        if (ec) {
          Fail(ErrorClass::kConnection, "write: " + ec.message());
          return;
        }
        Flush();
      });
    });
  }

  void ReadMore() {
    WithStream([&](auto& s) {
      s.async_read_some(asio::buffer(in_), [this, g = generation_](const boost::system::error_code& ec, size_t n) {
        if (g != generation_) return;
        if (ec) {
          Fail(ErrorClass::kConnection, "read: " + ec.message());
          return;
        }
        if (redisReaderFeed(reader_, in_.data(), n) != REDIS_OK) {
          Fail(ErrorClass::kProtocol, "unparsable reply");
          return;
        }
        if (!Drain(g)) return;
        ReadMore();
      });
    });
  }

  // Hands every complete reply to its lookup. False if the connection was
  // failed (or replaced) meanwhile.
  bool Drain(uint64_t g) {
    for (;;) {
      void* r = nullptr;
      if (redisReaderGetReply(reader_, &r) != REDIS_OK) {
        Fail(ErrorClass::kProtocol, "unparsable reply");
        return false;
      }
      if (!r) return true;
      Reply reply(static_cast<redisReply*>(r));
      if (pending_.empty()) {
        Fail(ErrorClass::kProtocol, "unexpected reply");
        return false;
      }
      Pending p = std::move(pending_.front());
      pending_.pop_front();
      std::string_view err = ReplyError(reply.get());
      if (!p.lookup) {  // AUTH / SELECT
        if (!err.empty()) {
          ErrorClass cls = ClassifyReplyError(err);
          Fail(cls == ErrorClass::kOther ? ErrorClass::kAuth : cls, "setup refused: " + std::string(err));
          return false;
        }
        continue;
      }
      Lookup& l = *p.lookup;
      if (l.finished) continue;
      if (!err.empty()) {
        ErrorClass cls = ClassifyReplyError(err);
        owner_.client_->health().Failure(cls, SteadyNanos());
        if (cls == ErrorClass::kRedirect || cls == ErrorClass::kClusterDown || cls == ErrorClass::kReadOnly) {
          owner_.client_->MarkTopologyStale();
        }
        l.Finish(Status::Unavailable("redis " + addr_.Id() + ": " + std::string(err)));
      } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != p.positions.size() * (l.with_ttl ? 2 : 1)) {
        owner_.client_->health().Failure(ErrorClass::kProtocol, SteadyNanos());
        l.Finish(Status::Unavailable("redis " + addr_.Id() + ": unexpected reply to MGET"));
      } else {
        size_t step = l.with_ttl ? 2 : 1;
        for (size_t i = 0; i < p.positions.size(); ++i) {
          const redisReply* e = reply->element[step * i];
          if (e->type == REDIS_REPLY_STRING) l.found.values[p.positions[i]].emplace(e->str, e->len);
          if (l.with_ttl && reply->element[2 * i + 1]->type == REDIS_REPLY_INTEGER) {
            l.found.ttl_ms[p.positions[i]] = reply->element[2 * i + 1]->integer;
          }
        }
        if (--l.remaining == 0) {
          owner_.client_->health().Success(SteadyNanos());
          l.Finish(std::move(l.found));
        }
      }
      if (g != generation_) return false;  // a handler failed or reset this connection
    }
  }

  // One timer for the oldest lookup: when it fires, either that lookup is
  // overdue (the connection is failed) or it was answered, and the timer is
  // set for the new oldest. No timer syscall per lookup.
  void ArmTimer() {
    if (pending_.empty() || waits_ > 0) return;
    ++waits_;
    timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(pending_.front().deadline)));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      --waits_;
      if (!ec && !pending_.empty() && pending_.front().deadline <= SteadyNanos()) {
        Fail(ErrorClass::kTimeout, "no reply within " + std::to_string(Timeout().count()) + " ms");
        return;
      }
      ArmTimer();
    });
  }

  void Fail(ErrorClass cls, const std::string& why) {
    ++generation_;
    boost::system::error_code ignored;
    resolver_.cancel();
    tls_.reset();
    sock_.close(ignored);
    timer_.cancel();
    state_ = State::kClosed;
    writing_ = false;
    flush_posted_ = false;
    out_.clear();
    writing_buf_.clear();
    redisReaderFree(reader_);
    reader_ = redisReaderCreate();
    owner_.client_->health().Failure(cls, SteadyNanos());
    owner_.ConnectionFailed();
    std::deque<Pending> failed;
    failed.swap(pending_);
    Status s = Status::Unavailable("redis " + addr_.Id() + ": " + ErrorClassName(cls) + ": " + why);
    for (auto& p : failed) {
      if (p.lookup) p.lookup->Finish(s);
    }
  }

  AsyncClient& owner_;
  NodeAddress addr_;
  tcp::resolver resolver_;
  tcp::socket sock_;
  std::unique_ptr<TlsStream> tls_;
  asio::steady_timer timer_;
  State state_ = State::kClosed;
  bool writing_ = false;
  bool flush_posted_ = false;
  int waits_ = 0;
  std::string out_, writing_buf_;
  std::vector<char> in_;
  redisReader* reader_;
  std::deque<Pending> pending_;
  uint64_t generation_ = 0;  // bumped on every (re)connect: completions of an old socket are ignored
};

AsyncClient::AsyncClient(asio::io_context& ioc, std::shared_ptr<Client> client)
    : ioc_(ioc), client_(std::move(client)) {
  const TlsOptions& t = client_->options().tls;
  if (t.enabled) {
    std::string err;
    SSL_CTX* ctx = NewTlsClientContext(t, &err);
    if (ctx) {
      tls_ = std::make_unique<asio::ssl::context>(ctx);  // takes our reference
    } else {
      off_until_ = std::chrono::steady_clock::time_point::max();  // the blocking path reports err
    }
  }
}

AsyncClient::~AsyncClient() = default;

bool AsyncClient::Usable() const {
  return std::chrono::steady_clock::now() >= off_until_ && client_->topology() != nullptr;
}

int64_t AsyncClient::OldestLookupNanos() const {
  int64_t oldest = 0;
  for (const auto& c : conns_) {
    int64_t t = c->OldestSentNanos();
    if (t != 0 && (oldest == 0 || t < oldest)) oldest = t;
  }
  return oldest;
}

void AsyncClient::ConnectionFailed() { off_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(1); }

AsyncClient::Conn& AsyncClient::ConnFor(const NodeAddress& addr) {
  for (auto& c : conns_) {
    if (c->addr() == addr) return *c;
  }
  conns_.push_back(std::make_unique<Conn>(*this, addr));
  return *conns_.back();
}

void AsyncClient::Enqueue(std::vector<std::string> keys, bool with_ttl, std::unique_ptr<Done> done) {
  auto lookup = std::make_shared<Lookup>();
  lookup->done = std::move(done);
  lookup->with_ttl = with_ttl;
  auto topo = client_->topology();
  if (!Usable() || !topo) {
    asio::post(ioc_, [lookup] { lookup->Finish(Status::Unavailable("redis fast path: not usable now")); });
    return;
  }
  lookup->found.values.resize(keys.size());
  if (with_ttl) lookup->found.ttl_ms.assign(keys.size(), -2);
  if (keys.empty()) {
    asio::post(ioc_, [lookup] { lookup->Finish(Found{}); });
    return;
  }
  MGetPlan plan = PlanMGet(keys, topo->cluster, with_ttl);
  std::vector<Conn*> targets;
  for (const auto& part : plan.parts) {
    const NodeAddress* a = topo->NodeFor(part.slot);
    if (!a) {
      client_->MarkTopologyStale();
      asio::post(ioc_, [lookup] { lookup->Finish(Status::Unavailable("redis fast path: a slot has no node")); });
      return;
    }
    targets.push_back(&ConnFor(*a));
  }
  lookup->remaining = plan.parts.size();
  for (size_t i = 0; i < plan.parts.size(); ++i) {
    targets[i]->Send(plan.parts[i].wire, lookup, std::move(plan.parts[i].positions));
    if (lookup->finished) return;  // a send failed at once
  }
}

}  // namespace rowcache::redis
