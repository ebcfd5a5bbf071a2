// AsyncClient: non-blocking MGET on one io_context (an HTTP server I/O
// thread's), over a Client's options, slot map and health.
//
// One connection per node per AsyncClient, plain TCP or TLS (OpenSSL over
// memory BIOs on the asio socket, verified exactly as the blocking client
// verifies; every queued command goes out in one SSL_write), with AUTH
// and SELECT sent ahead of the first command on each new connection (no
// extra round trip). Every lookup queued while a write is in flight goes out
// in the next write and replies are matched in order, so under load one
// write and one read carry many requests' lookups (pipelining). In a cluster
// a lookup is split per slot (one MGET per slot) and sent to every node
// involved at once; it completes when the last part is answered.
//
// Any failure — connect, TLS, AUTH, a timeout, an error reply (MOVED, ASK,
// CLUSTERDOWN, ...) — completes the lookup with an error; the caller then
// takes the blocking path, which follows redirects and refreshes the slot
// map (a redirect or lost connection here marks it stale). After a
// connection failure the client stays off for a second.
//
// Not thread-safe: every call on the io_context's thread.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "redis/client.h"
#include "rowcache/status.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace rowcache::redis {

using Entries = std::vector<std::optional<std::string>>;

// What a lookup found: values in key order, and (when asked for) each
// present entry's remaining TTL in ms (-2: missing).
struct Found {
  Entries values;
  std::vector<int64_t> ttl_ms;
};

class AsyncClient {
 public:
  AsyncClient(boost::asio::io_context& ioc, std::shared_ptr<Client> client);
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  // Whether to try it now (false for a second after a connection failure,
  // and before the blocking client has learnt the topology).
  bool Usable() const;

  // When the oldest lookup still waiting for a reply was sent (steady-clock
  // ns), or 0 if none is waiting.
  int64_t OldestLookupNanos() const;

  // Looks keys up; completes on the io_context's thread with the values in
  // order (and with_ttl: their TTLs, one script per slot instead of MGET),
  // or an error.
  template <class Token>
  auto MGet(std::vector<std::string> keys, bool with_ttl, Token&& token) {
    return boost::asio::async_initiate<Token, void(Result<Found>)>(
        [this, with_ttl](
            auto handler,
            std::vector<std::string> k) {  // NOLINT(performance-unnecessary-value-param): moved into Enqueue
          struct H final : Done {
            explicit H(decltype(handler)&& h) : h(std::move(h)) {}
            void operator()(Result<Found> r) override { h(std::move(r)); }
            decltype(handler) h;
          };
          Enqueue(std::move(k), with_ttl, std::make_unique<H>(std::move(handler)));
        },
        token, std::move(keys));
  }

  struct Done {
    virtual ~Done() = default;
    virtual void operator()(Result<Found> r) = 0;
  };

 private:
  class Conn;
  struct Lookup;
  friend class Conn;

  void Enqueue(std::vector<std::string> keys, bool with_ttl, std::unique_ptr<Done> done);
  Conn& ConnFor(const NodeAddress& addr);
  void ConnectionFailed();

  boost::asio::io_context& ioc_;
  std::shared_ptr<Client> client_;
  struct SslCtxFree {
    void operator()(ssl_ctx_st* ctx) const;
  };
  std::unique_ptr<ssl_ctx_st, SslCtxFree> tls_;  // null without TLS
  std::vector<std::unique_ptr<Conn>> conns_;
  std::chrono::steady_clock::time_point off_until_{};
};

}  // namespace rowcache::redis
