// RedisCache: RESP2 over a Transport (TCP or TLS), replies parsed by hiredis's
// redisReader, a pool of connections. Every operation is one round trip: one
// command, or a pipeline written at once and read back in order.
#include "cache/redis_cache.h"

#include <hiredis/hiredis.h>

#include <condition_variable>
#include <mutex>

#include "cache/resp.h"
#include "cache/transport.h"

namespace rowcache {

namespace {

// Stores the entry only if the guard holds the expected value (ARGV[4] = '1')
// or is absent (ARGV[4] = '0').
constexpr std::string_view kFillScript =
    "local g = redis.call('GET', KEYS[2]) "
    "if ARGV[4] == '0' then if g then return 0 end elseif g ~= ARGV[3] then return 0 end "
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1";

// Deletes the entry and bumps its guard, atomically.
constexpr std::string_view kInvalidateScript =
    "redis.call('DEL', KEYS[1]) redis.call('INCR', KEYS[2]) redis.call('EXPIRE', KEYS[2], ARGV[1]) return 1";

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct Conn {
  std::unique_ptr<Transport> t;
  redisReader* reader = redisReaderCreate();
  std::string out;
  std::chrono::steady_clock::time_point released;  // when it last went back to the pool
  ~Conn() { redisReaderFree(reader); }
};

class RedisCache final : public Cache {
 public:
  RedisCache(Url url, CacheOptions opts) : url_(std::move(url)), opts_(opts) {
    tls_.enabled = url_.scheme == "rediss";
    if (!url_.port) url_.port = 6379;
    if (auto it = url_.query.find("insecure"); it != url_.query.end()) tls_.verify = it->second != "1";
    if (auto it = url_.query.find("ca"); it != url_.query.end()) tls_.ca_file = it->second;
    if (auto it = url_.query.find("sni"); it != url_.query.end()) tls_.sni = it->second;
    db_ = url_.path.empty() ? "0" : url_.path;
    describe_ = url_.scheme + "://" + url_.host + ":" + std::to_string(url_.port) + "/" + db_;
  }

  Result<std::vector<std::optional<std::string>>> MGet(std::span<const std::string> keys) override {
    std::vector<std::optional<std::string>> out(keys.size());
    if (keys.empty()) return out;
    Status s = RoundTrip(
        [&](std::string& buf) {
          AppendMGet(buf, keys);
          return size_t{1};
        },
        [&](std::vector<Reply>& replies) -> Status {
          if (!MGetValues(replies[0].get(), keys.size(), &out)) return Unexpected("MGET", replies[0].get());
          return Status::OK();
        });
    if (!s.ok()) return s;
    return out;
  }

  Status SetMany(std::span<const CacheEntry> entries) override {
    if (entries.empty()) return Status::OK();
    return RoundTrip(
        [&](std::string& buf) {
          for (const auto& e : entries) {
            AppendCommand(buf, {"SET", e.key, e.value, "EX", std::to_string(e.ttl_seconds)});
          }
          return entries.size();
        },
        [&](std::vector<Reply>& replies) { return AllOk(replies, "SET"); });
  }

  Status Del(std::span<const std::string> keys) override {
    if (keys.empty()) return Status::OK();
    return RoundTrip(
        [&](std::string& buf) {
          AppendArrayHeader(buf, keys.size() + 1);
          AppendBulk(buf, "DEL");
          for (const auto& k : keys) AppendBulk(buf, k);
          return size_t{1};
        },
        [&](std::vector<Reply>& replies) { return AllOk(replies, "DEL"); });
  }

  Result<size_t> SetIfGuardUnchanged(std::span<const GuardedEntry> entries) override {
    size_t stored = 0;
    if (entries.empty()) return stored;
    Status s = RoundTrip(
        [&](std::string& buf) {
          for (const auto& e : entries) {
            AppendCommand(buf, {"EVAL", kFillScript, "2", e.key, e.guard_key, e.value, std::to_string(e.ttl_seconds),
                                e.expected_guard ? std::string_view(*e.expected_guard) : std::string_view(),
                                e.expected_guard ? "1" : "0"});
          }
          return entries.size();
        },
        [&](std::vector<Reply>& replies) -> Status {
          for (auto& r : replies) {
            if (r->type != REDIS_REPLY_INTEGER) return Unexpected("EVAL", r.get());
            stored += r->integer == 1 ? 1 : 0;
          }
          return Status::OK();
        });
    if (!s.ok()) return s;
    return stored;
  }

  Status Invalidate(std::span<const std::pair<std::string, std::string>> key_and_guard, int guard_ttl) override {
    if (key_and_guard.empty()) return Status::OK();
    std::string ttl = std::to_string(guard_ttl);
    return RoundTrip(
        [&](std::string& buf) {
          for (const auto& [k, g] : key_and_guard) AppendCommand(buf, {"EVAL", kInvalidateScript, "2", k, g, ttl});
          return key_and_guard.size();
        },
        [&](std::vector<Reply>& replies) { return AllOk(replies, "EVAL"); });
  }

  Status Ping() override {
    return RoundTrip(
        [&](std::string& buf) {
          AppendCommand(buf, {"PING"});
          return size_t{1};
        },
        [&](std::vector<Reply>& replies) { return AllOk(replies, "PING"); });
  }

  std::string Describe() const override { return describe_; }

 private:
  Status Fail(const std::string& what) const { return Status::Unavailable(describe_ + ": " + what); }

  Status Unexpected(const char* cmd, const redisReply* r) const {
    if (r->type == REDIS_REPLY_ERROR) return Fail(std::string(cmd) + ": " + std::string(r->str, r->len));
    return Fail(std::string(cmd) + ": unexpected reply type " + std::to_string(r->type));
  }

  Status AllOk(std::vector<Reply>& replies, const char* cmd) const {
    for (auto& r : replies) {
      if (r->type == REDIS_REPLY_ERROR) return Unexpected(cmd, r.get());
    }
    return Status::OK();
  }

  // Encodes with encode (which returns the number of replies to expect),
  // writes once, reads every reply, and hands them to check. Any failure
  // discards the connection, so none is ever reused with unread replies.
  template <class Encode, class Check>
  Status RoundTrip(Encode&& encode, Check&& check) {
    Deadline deadline = std::chrono::steady_clock::now() + opts_.timeout;
    auto c = Acquire(deadline);
    if (!c.ok()) return c.status();
    Conn& conn = **c;
    conn.out.clear();
    size_t n = encode(conn.out);
    std::vector<Reply> replies;
    Status s = Exchange(conn, n, &replies, deadline);
    if (s.ok()) s = check(replies);
    Release(std::move(c.value()), s.ok() || replies.size() == n);
    return s;
  }

  Status Exchange(Conn& c, size_t n, std::vector<Reply>* replies, Deadline deadline) {
    Status s = c.t->WriteAll(c.out.data(), c.out.size(), deadline);
    if (!s.ok()) return Fail(s.message());
    replies->reserve(n);
    char buf[16384];
    while (replies->size() < n) {
      void* r = nullptr;
      if (redisReaderGetReply(c.reader, &r) != REDIS_OK) return Fail("protocol error");
      if (r) {
        replies->emplace_back(static_cast<redisReply*>(r));
        continue;
      }
      auto got = c.t->ReadSome(buf, sizeof buf, deadline);
      if (!got.ok()) return Fail(got.status().message());
      if (redisReaderFeed(c.reader, buf, *got) != REDIS_OK) return Fail("protocol error");
    }
    return Status::OK();
  }

  Result<std::unique_ptr<Conn>> Acquire(Deadline deadline) {
    {
      std::unique_lock l(mu_);
      if (!cv_.wait_until(l, deadline, [&] { return !idle_.empty() || open_ < opts_.max_connections; })) {
        return Fail("all " + std::to_string(opts_.max_connections) + " connections busy");
      }
      while (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        // A connection the server closed while it sat idle (server timeout,
        // restart, or a Lambda environment frozen between events) is
        // replaced here rather than failing the request that drew it.
        // Checked only after a pause, so a busy pool pays no extra syscall.
        if (std::chrono::steady_clock::now() - c->released < std::chrono::milliseconds(100) ||
            c->t->IdleAndOpen()) {
          return c;
        }
        --open_;
      }
      ++open_;
    }
    auto c = Connect(deadline);
    if (!c.ok()) {
      std::lock_guard l(mu_);
      --open_;
      cv_.notify_one();
    }
    return c;
  }

  void Release(std::unique_ptr<Conn> c, bool reusable) {
    std::lock_guard l(mu_);
    if (reusable) {
      c->released = std::chrono::steady_clock::now();
      idle_.push_back(std::move(c));
    } else {
      --open_;
      c.reset();
    }
    cv_.notify_one();
  }

  Result<std::unique_ptr<Conn>> Connect(Deadline deadline) {
    auto t = ConnectTransport(url_.host, url_.port, tls_, deadline);
    if (!t.ok()) return Fail(t.status().message());
    auto c = std::make_unique<Conn>();
    c->t = std::move(t.value());
    size_t n = 0;
    if (!url_.password.empty()) {
      if (url_.user.empty()) {
        AppendCommand(c->out, {"AUTH", url_.password});
      } else {
        AppendCommand(c->out, {"AUTH", url_.user, url_.password});
      }
      ++n;
    }
    if (db_ != "0") {
      AppendCommand(c->out, {"SELECT", db_});
      ++n;
    }
    if (n > 0) {
      std::vector<Reply> replies;
      Status s = Exchange(*c, n, &replies, deadline);
      if (s.ok()) s = AllOk(replies, n == 2 || url_.password.empty() ? "SELECT" : "AUTH");
      if (!s.ok()) return s;
    }
    return c;
  }

  Url url_;
  CacheOptions opts_;
  TlsOptions tls_;
  std::string db_;
  std::string describe_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;
};

}  // namespace

Result<std::unique_ptr<Cache>> NewRedisCache(const Url& url, const CacheOptions& opts) {
  if (url.host.empty()) return Status::InvalidArgument("cache URL '" + url.Redacted() + "': missing host");
  if (!url.path.empty()) {
    for (char ch : url.path) {
      if (ch < '0' || ch > '9') {
        return Status::InvalidArgument("cache URL '" + url.Redacted() + "': database must be a number");
      }
    }
  }
  return std::unique_ptr<Cache>(std::make_unique<RedisCache>(url, opts));
}

}  // namespace rowcache
