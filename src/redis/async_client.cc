#include "redis/async_client.h"

#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

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
      : owner_(owner),
        addr_(std::move(addr)),
        resolver_(owner.ioc_),
        sock_(owner.ioc_),
        timer_(owner.ioc_),
        in_(16384),
        reader_(std::make_unique<ReplyReader>()) {}

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
    pending_.push_back(
        Pending{std::move(lookup), std::move(positions), now,
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
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };

  std::chrono::milliseconds Timeout() const { return owner_.client_->options().timeout; }

  void Connect() {
    state_ = State::kConnecting;
    uint64_t g = ++generation_;
    // Resolved on every connect: a failover may move a name to a new address.
    resolver_.async_resolve(
        addr_.host, std::to_string(addr_.port),
        [this, g](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
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
    if (owner_.tls_) {
      // TLS over memory BIOs: the socket's bytes go through asio as in plain
      // TCP, and OpenSSL only encrypts and decrypts. (asio::ssl::stream costs
      // a BIO pair, its own buffers and a composed operation per read and
      // write, with OpenSSL freeing and reallocating its record buffers
      // between them.)
      ssl_.reset(SSL_new(owner_.tls_.get()));
      BIO* rbio = BIO_new(BIO_s_mem());
      BIO* wbio = BIO_new(BIO_s_mem());
      if (!ssl_ || !rbio || !wbio) {
        BIO_free(rbio);
        BIO_free(wbio);
        Fail(ErrorClass::kTls, TlsError("TLS setup"));
        return;
      }
      BIO_set_mem_eof_return(rbio, -1);  // empty: "retry" (want more input), not end of stream
      SSL_set_bio(ssl_.get(), rbio, wbio);
      ConfigureTlsPeer(ssl_.get(), addr_.host, owner_.client_->options().tls);
      SSL_set_connect_state(ssl_.get());
    }
    ReadMore();
    if (ssl_) {
      Handshake(g);
    } else {
      Open();
    }
  }

  // Advances the TLS handshake with what has arrived; Open() once done.
  void Handshake(uint64_t g) {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl_.get());
    int e = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), rc);
    if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ) {
      long v = SSL_get_verify_result(ssl_.get());
      Fail(ErrorClass::kTls, v != X509_V_OK ? std::string("certificate verification failed: ") +
                                                  X509_verify_cert_error_string(v)
                                            : TlsError("TLS handshake"));
      return;
    }
    TakeTlsOutput();
    StartWrite();
    if (g == generation_ && rc == 1) Open();
  }

  // "what: " and OpenSSL's first queued error (cleared).
  static std::string TlsError(const char* what) {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return std::string(what) + ": " + (e ? buf : "TLS error");
  }

  // Moves what OpenSSL has encrypted (records, handshake messages, alerts)
  // to the bytes due on the socket, in order.
  void TakeTlsOutput() {
    BIO* wbio = SSL_get_wbio(ssl_.get());
    size_t n = BIO_ctrl_pending(wbio);
    if (n == 0) return;
    size_t at = wire_.size();
    wire_.resize(at + n);
    int got = BIO_read(wbio, wire_.data() + at, static_cast<int>(n));
    wire_.resize(at + static_cast<size_t>(std::max(got, 0)));
  }

  // AUTH and SELECT go ahead of whatever was queued while connecting.
  void Open() {
    std::string setup;
    size_t n = AppendConnectionSetup(setup, owner_.client_->credentials(), owner_.client_->options().db);
    out_.insert(0, setup);
    int64_t now = SteadyNanos();
    int64_t deadline = now + std::chrono::duration_cast<std::chrono::nanoseconds>(Timeout()).count();
    for (size_t i = 0; i < n; ++i) pending_.push_front(Pending{nullptr, {}, 0, deadline});
    state_ = State::kOpen;
    Flush();
  }

  // Everything queued goes out in one write (with TLS: one SSL_write, so one
  // record for up to 16 kB of commands) unless a write is in flight, in
  // which case it waits for that write to complete and joins the next.
  void Flush() {
    if (state_ != State::kOpen || writing_ || out_.empty()) return;
    if (ssl_) {
      ERR_clear_error();
      size_t written = 0;
      if (SSL_write_ex(ssl_.get(), out_.data(), out_.size(), &written) != 1 || written != out_.size()) {
        Fail(ErrorClass::kConnection, TlsError("write"));
        return;
      }
      out_.clear();
      TakeTlsOutput();
    } else if (wire_.empty()) {
      wire_.swap(out_);
    } else {
      wire_ += out_;
      out_.clear();
    }
    StartWrite();
  }

  void StartWrite() {
    if (writing_ || wire_.empty()) return;
    writing_ = true;
    writing_buf_.swap(wire_);
    wire_.clear();
    auto done = [this, g = generation_](const boost::system::error_code& ec, size_t) {
      if (g != generation_) return;
      writing_ = false;
      writing_buf_.clear();
      if (ec) {
        IoFailed("write: ", ec);
        return;
      }
      Flush();
      StartWrite();
    };
    asio::async_write(sock_, asio::buffer(writing_buf_), std::move(done));
  }

  // Reads from the socket for as long as the connection lives (with TLS,
  // from before the handshake).
  void ReadMore() {
    sock_.async_read_some(asio::buffer(in_),
                          [this, g = generation_](const boost::system::error_code& ec, size_t n) {
                            if (g != generation_) return;
                            if (ec) {
                              IoFailed("read: ", ec);
                              return;
                            }
                            if (ssl_ ? !Decrypt(g, n) : !reader_->Feed(in_.data(), n)) {
                              if (g == generation_) FailUnparsable();
                              return;
                            }
                            if (!Drain(g)) return;
                            ReadMore();
                          });
  }

  // A socket error: a TLS failure while the handshake is under way, else a
  // connection failure.
  void IoFailed(const char* what, const boost::system::error_code& ec) {
    if (ssl_ && state_ != State::kOpen) {
      Fail(ErrorClass::kTls, "TLS handshake: " + ec.message());
    } else {
      Fail(ErrorClass::kConnection, what + ec.message());
    }
  }

  // Hands n bytes read from the socket (in in_) to OpenSSL, and what they
  // decrypt to — every complete record — to the reply parser. False on
  // failure: a TLS error (the connection failed) or an unparsable reply.
  bool Decrypt(uint64_t g, size_t n) {
    if (BIO_write(SSL_get_rbio(ssl_.get()), in_.data(), static_cast<int>(n)) != static_cast<int>(n)) {
      Fail(ErrorClass::kTls, "TLS: cannot buffer input");
      return false;
    }
    if (state_ != State::kOpen) {
      Handshake(g);
      if (g != generation_) return false;
      if (state_ != State::kOpen) return true;  // more handshake to come
    }
    for (;;) {
      ERR_clear_error();
      size_t got = 0;
      int rc = SSL_read_ex(ssl_.get(), in_.data(), in_.size(), &got);
      if (rc == 1) {
        if (!reader_->Feed(in_.data(), got)) return false;
        continue;
      }
      int e = SSL_get_error(ssl_.get(), rc);
      if (e == SSL_ERROR_WANT_READ) break;
      Fail(ErrorClass::kConnection, e == SSL_ERROR_ZERO_RETURN
                                        ? std::string("read: the server closed the TLS session")
                                        : TlsError("read"));
      return false;
    }
    TakeTlsOutput();  // anything a read made OpenSSL send (a key update)
    StartWrite();
    return true;
  }

  // Hands every complete reply to its lookup. False if the connection was
  // failed (or replaced) meanwhile.
  bool Drain(uint64_t g) {
    for (;;) {
      Reply reply;
      if (!reader_->Next(&reply)) {
        FailUnparsable();
        return false;
      }
      if (!reply) return true;
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
      } else if (reply->type != REDIS_REPLY_ARRAY ||
                 reply->elements != p.positions.size() * (l.with_ttl ? 2 : 1)) {
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
    timer_.expires_at(
        std::chrono::steady_clock::time_point(std::chrono::nanoseconds(pending_.front().deadline)));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      --waits_;
      if (!ec && !pending_.empty() && pending_.front().deadline <= SteadyNanos()) {
        Fail(ErrorClass::kTimeout, "no reply within " + std::to_string(Timeout().count()) + " ms");
        return;
      }
      ArmTimer();
    });
  }

  // The reply parser failed: a reply past its bounds (resp.h), or not RESP.
  void FailUnparsable() {
    std::string why = reader_->error();  // Fail replaces the reader
    Fail(ClassifyTransportError(why), why);
  }

  void Fail(ErrorClass cls, const std::string& why) {
    ++generation_;
    boost::system::error_code ignored;
    resolver_.cancel();
    sock_.close(ignored);
    ssl_.reset();
    timer_.cancel();
    state_ = State::kClosed;
    writing_ = false;
    flush_posted_ = false;
    out_.clear();
    wire_.clear();
    writing_buf_.clear();
    reader_ = std::make_unique<ReplyReader>();
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
  std::unique_ptr<SSL, SslFree> ssl_;  // null without TLS
  asio::steady_timer timer_;
  State state_ = State::kClosed;
  bool writing_ = false;
  bool flush_posted_ = false;
  int waits_ = 0;
  std::string out_;          // commands not yet written (plain text)
  std::string wire_;         // bytes due on the socket (TLS: encrypted), after writing_buf_
  std::string writing_buf_;  // bytes being written
  std::vector<char> in_;
  std::unique_ptr<ReplyReader> reader_;
  std::deque<Pending> pending_;
  uint64_t generation_ = 0;  // bumped on every (re)connect: completions of an old socket are ignored
};

AsyncClient::AsyncClient(asio::io_context& ioc, std::shared_ptr<Client> client)
    : ioc_(ioc), client_(std::move(client)) {
  const TlsOptions& t = client_->options().tls;
  if (t.enabled) {
    std::string err;
    tls_.reset(NewTlsClientContext(t, &err));  // takes our reference
    if (!tls_) {
      off_until_ = std::chrono::steady_clock::time_point::max();  // the blocking path reports err
    }
  }
}

AsyncClient::~AsyncClient() = default;

void AsyncClient::SslCtxFree::operator()(ssl_ctx_st* ctx) const { SSL_CTX_free(ctx); }

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

void AsyncClient::ConnectionFailed() {
  off_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
}

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
      asio::post(ioc_,
                 [lookup] { lookup->Finish(Status::Unavailable("redis fast path: a slot has no node")); });
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
