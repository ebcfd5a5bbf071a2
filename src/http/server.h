// HttpServer: the HTTP/1.1 front door (Boost.Beast): connections, I/O
// threads and workers, the fast read path. The routes are src/http/router.h,
// the token check src/http/auth.h, the /metrics page src/http/metrics_page.h,
// the busy-polling rule src/http/busy_poll.h.
//
//   POST /          the event is the body; the answer is Service::Handle's
//                   document with its statusCode as the HTTP status
//   GET  /healthz   200 {"status":"ok","db":"ok","cache":...}; 503 if the database is down
//                   or the probe is stale: answered from a background probe once a second
//                   (src/http/health_probe.h), never a backend call per request
//   GET  /metrics   Prometheus text: the core's metrics and the server's own
//
// With an auth token, POST / and GET /metrics (unless metrics_public) need
// "Authorization: Bearer <token>", else 401; /healthz stays open.
//
// Keep-alive, TCP_NODELAY, a body limit (413; body memory grows as bytes
// arrive, whatever Content-Length announces), a read timeout that also closes
// idle keep-alive connections, a connection limit (past it a new connection is
// answered 503 and closed), a bounded queue for the workers (503 with
// Retry-After when full), a pause before retrying a failed accept (out of
// descriptors), and a graceful stop: no new connections, the requests in
// flight finish (bounded by shutdown_grace), idle ones close.
//
// A 5xx answer says only what failed and gives a request id; the details
// (backend messages) go to stderr in one line under that id.
//
// Threads: with a Redis cache (redis:// or rediss://, standalone or cluster), one I/O thread per core
// (io_threads) answers cached reads without blocking (a pipelined Redis connection per thread) and hands
// every other request to `threads` workers, since the Service blocks on its backends. Otherwise `threads` I/O
// threads call the Service inline.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "cache/near_cache.h"
#include "redis/client.h"
#include "rowcache/service.h"
#include "rowcache/status.h"

namespace rowcache {

struct ServerOptions {
  std::string host = "127.0.0.1";           // Default: loopback only.
  uint16_t port = 8080;                     // 0 picks a free port (see HttpServer::port()).
  int threads = 8;                          // Threads that call the (blocking) Service. Default: 8.
  int io_threads = 0;                       // With the fast read path: I/O threads (0: one per core).
  size_t max_body_bytes = 1 << 20;          // Default: 1 MiB.
  std::chrono::seconds idle_timeout{30};    // Read/idle timeout per connection. Default: 30 s.
  std::chrono::seconds shutdown_grace{10};  // Longest wait for in-flight requests on Stop. Default: 10 s.
  // Cached reads answered on the I/O threads through a pipelined, non-blocking
  // Redis connection per thread and node (src/redis/async_client.h): the
  // Redis client under the service's cache (null: off). Misses, other
  // requests and any failure take the normal path.
  std::shared_ptr<redis::Client> fast_read_redis;
  // With a near cache (src/cache/near_cache.h), cached reads whose entries
  // are all in it are answered on the I/O thread without a Redis round trip,
  // and the fast path's Redis lookups fill it. Null: none.
  std::shared_ptr<NearCache> near_cache;
  // Busy polling: an I/O thread that ran a handler less than busy_poll ago,
  // or that has waited less than busy_poll_redis for its own Redis replies,
  // polls its sockets instead of blocking in epoll_wait, so the next request
  // or the Redis reply is picked up without a thread wake-up. Only threads
  // with a few connections and no request on a worker poll, and at most
  // max(1, cores / 2) at a time, so the cores that Redis and the clients
  // need are never all taken. 0 and 0: off (always block).
  std::chrono::microseconds busy_poll{0};
  std::chrono::microseconds busy_poll_redis{0};
  // Bearer token that POST / (and GET /metrics unless metrics_public) must
  // present; compared by SHA-256 digest in constant time, never logged.
  // Empty: no authentication.
  std::string auth_token;
  bool metrics_public = false;
  // Most connections open at once; a connection past it is answered 503 and
  // closed at once. 0: DefaultMaxConnections(64).
  size_t max_connections = 0;
  // With workers (the fast read path): most requests waiting for one beyond
  // the `threads` being run; past it a request is answered 503 with
  // Retry-After at once. Default: 1024.
  size_t max_queue = 1024;
};

// The connection limit for a process whose other descriptors (backends,
// files, the server's own) number at most reserved_fds: the RLIMIT_NOFILE
// soft limit minus reserved_fds, at least 16 and at most 65536.
size_t DefaultMaxConnections(size_t reserved_fds);

// The bounds on what a client sends: src/http/framing.h.

struct ServerStats {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<int64_t> connections_open{0};
  std::atomic<uint64_t> responses_2xx{0}, responses_4xx{0}, responses_5xx{0};
  std::atomic<uint64_t> bodies_too_large{0};
  std::atomic<uint64_t> bad_requests{0};
  std::atomic<uint64_t> heads_too_large{0};       // 431s: request line, header or trailer over the limit
  std::atomic<uint64_t> unauthorized{0};          // 401s
  std::atomic<uint64_t> connections_rejected{0};  // past max_connections
  std::atomic<uint64_t> accept_errors{0};
  std::atomic<uint64_t> queue_full{0};      // 503s: the worker queue was full
  std::atomic<int64_t> worker_requests{0};  // handed to workers, waiting or running
};

class HttpServer {
 public:
  HttpServer(Service& service, ServerOptions opts);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the threads. Unavailable if the address cannot be bound.
  Status Start();
  // The bound port (useful with port 0), valid after Start().
  uint16_t port() const;
  // The connection limit in force (max_connections, or its default), valid after Start().
  size_t max_connections() const;
  // Blocks until Stop() is called or SIGINT/SIGTERM arrives (if enabled), then
  // stops gracefully and joins the threads.
  void Wait(bool handle_signals);
  // Begins a graceful stop; returns at once. Safe from any thread.
  void Stop();

  const ServerStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rowcache
