// HttpServer: the HTTP/1.1 front door (Boost.Beast).
//
//   POST /          the event is the body; the answer is Service::Handle's
//                   document with its statusCode as the HTTP status
//   GET  /healthz   200 {"status":"ok","db":"ok","cache":...}; 503 if the database is down
//   GET  /metrics   Prometheus text: the core's metrics and the server's own
//
// Keep-alive, TCP_NODELAY, a body limit (413), a read timeout that also closes
// idle keep-alive connections, and a graceful stop: no new connections, the
// requests in flight finish (bounded by shutdown_grace), idle ones close.
//
// Threads: with a Redis cache (redis:// or rediss://, standalone or cluster), one I/O thread per core (io_threads)
// answers cached reads without blocking (a pipelined Redis connection per
// thread) and hands every other request to `threads` workers, since the
// Service blocks on its backends. Otherwise `threads` I/O threads call the
// Service inline.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "redis/client.h"
#include "rowcache/service.h"
#include "rowcache/status.h"

namespace rowcache {

struct ServerOptions {
  std::string host = "127.0.0.1";  // Default: loopback only.
  uint16_t port = 8080;             // 0 picks a free port (see HttpServer::port()).
  int threads = 8;                  // Threads that call the (blocking) Service. Default: 8.
  int io_threads = 0;               // With the fast read path: I/O threads (0: one per core).
  size_t max_body_bytes = 1 << 20;  // Default: 1 MiB.
  std::chrono::seconds idle_timeout{30};    // Read/idle timeout per connection. Default: 30 s.
  std::chrono::seconds shutdown_grace{10};  // Longest wait for in-flight requests on Stop. Default: 10 s.
  // Cached reads answered on the I/O threads through a pipelined, non-blocking
  // Redis connection per thread and node (src/redis/async_client.h): the
  // Redis client under the service's cache (null: off). Misses, other
  // requests and any failure take the normal path.
  std::shared_ptr<redis::Client> fast_read_redis;
  // Busy polling: an I/O thread that ran a handler less than busy_poll ago,
  // or that has waited less than busy_poll_redis for its own Redis replies,
  // polls its sockets instead of blocking in epoll_wait, so the next request
  // or the Redis reply is picked up without a thread wake-up. Only threads
  // with a few connections and no request on a worker poll, and at most
  // max(1, cores / 2) at a time, so the cores that Redis and the clients
  // need are never all taken. 0 and 0: off (always block).
  std::chrono::microseconds busy_poll{0};
  std::chrono::microseconds busy_poll_redis{0};
};

struct ServerStats {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<int64_t> connections_open{0};
  std::atomic<uint64_t> responses_2xx{0}, responses_4xx{0}, responses_5xx{0};
  std::atomic<uint64_t> bodies_too_large{0};
  std::atomic<uint64_t> bad_requests{0};
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
