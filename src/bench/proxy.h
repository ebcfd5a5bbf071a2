// A delaying TCP proxy for benchmarks: every byte read from one side is
// written to the other side delay_us microseconds later (each direction, so a
// request/answer round trip gains 2 * delay_us), in order. Emulates network
// distance where tc netem is unavailable. Asio, one io_context on `threads`.
#pragma once

#include <cstdint>
#include <string>

#include "rowcache/status.h"

namespace rowcache::bench {

struct ProxyOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  std::string to_host;
  uint16_t to_port = 0;
  int64_t delay_us = 0;
  int threads = 1;
};

// Runs until SIGINT/SIGTERM. Prints "proxy listening on HOST:PORT" once ready.
Status RunProxy(const ProxyOptions& o);

// A fixed-answer HTTP/1.1 server for measuring the load generator itself:
// every request (any method and path; a Content-Length body is skipped) gets
// "200 OK" with a 2-byte body on the same keep-alive connection. One epoll per
// thread. Runs until SIGINT/SIGTERM; prints "trivial server listening on HOST:PORT".
Status RunTrivialServer(const std::string& host, uint16_t port, int threads);

}  // namespace rowcache::bench
