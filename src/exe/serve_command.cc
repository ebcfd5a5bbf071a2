// rowcache serve: the HTTP front door.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "exe/commands.h"
#include "exe/config.h"
#include "http/server.h"
#include "net/address.h"

namespace rowcache {

namespace {

constexpr const char* kHelp = R"(usage: rowcache serve [flags]

  --listen HOST:PORT        address to listen on (env ROWCACHE_LISTEN; default 127.0.0.1:8080; port 0 picks one)
  --db URL                  mysql://user:pass@host:port/db[?table=T] | sqlite:PATH (env ROWCACHE_DB; default sqlite:rowcache.db)
  --cache URL               redis://[user:pass@]host:port[/db] | rediss://... | memory:// | none (env ROWCACHE_CACHE; default memory://)
  --key-prefix P            cache key prefix (default rowcache:heroes:)
  --ttl SECONDS             cache TTL (default 300)
  --ttl-jitter J            TTL spread, 0..0.9 (default 0.1)
  --max-batch N             most rows/ids per write, update or delete (default 1000)
  --db-timeout SECONDS      database timeout (default 5)      --db-pool N     database connections (default 16)
  --cache-timeout-ms MS     cache timeout (default 250)       --cache-pool N  cache connections (default 32)
  --cache-breaker-failures N, --cache-breaker-open-ms MS      cache circuit breaker (default 3, 1000)
  --threads N               threads that run requests on the database (env ROWCACHE_THREADS; default 8); with a
                            redis:// cache, connections are served by one I/O thread per core and cached reads
                            are answered there, the rest handed to these threads
  --max-body-bytes N        request body limit (default 1048576)
  --idle-timeout SECONDS    read/idle timeout per connection (default 30)
  --busy-poll-us N          an I/O thread with at most 4 connections that was busy less than N us ago polls its
                            sockets instead of sleeping, on at most half the cores at a time
                            (env ROWCACHE_BUSY_POLL_US; default 100; 0: off)
  --busy-poll-redis-us N    ... and while it has waited less than N us for its own Redis replies
                            (env ROWCACHE_BUSY_POLL_REDIS_US; default 1000; 0: off)
  --allow-cascade-children  serve a table whose rows an ON UPDATE/DELETE CASCADE foreign key changes (they
                            stay cached until their TTL: see docs/reliability.md); env ROWCACHE_ALLOW_CASCADE_CHILDREN=1
  --near-cache              an in-process near cache in front of Redis (env ROWCACHE_NEAR_CACHE=1), kept
                            coherent by Redis's CLIENT TRACKING; served only while tracking is healthy
  --near-cache-entries N, --near-cache-bytes B   its size (default 100000 entries, 64 MiB)
  --no-fast-reads           answer cached reads on the blocking path only (default: with redis://, cached reads
                            are looked up on the I/O threads through one pipelined connection per thread)
  --max-read-batch N        most ids per read (env ROWCACHE_MAX_READ_BATCH; default 11056: the most whose answer
                            surely fits in Lambda's 6 MB response)
  --db-password-file PATH   the database's password from a file, in place of the URL's, so it is on no command
                            line (env ROWCACHE_DB_PASSWORD_FILE; also for lambda, load and bench)
  --cache-password-file PATH  the same for a redis:// or rediss:// cache (env ROWCACHE_CACHE_PASSWORD_FILE)
  --auth-token TOKEN        POST / and GET /metrics need "Authorization: Bearer TOKEN" (env ROWCACHE_AUTH_TOKEN);
                            GET /healthz stays open. Without a token anyone who reaches the port can read and write
  --auth-token-file PATH    the token from a file (env ROWCACHE_AUTH_TOKEN_FILE), so it is not on the command line
  --auth-token-min-length N a shorter token is refused at start (env ROWCACHE_AUTH_TOKEN_MIN_LENGTH; default 16)
  --metrics-public          GET /metrics without the token
  --max-connections N       most connections open at once; past it a new one is answered 503 and closed
                            (env ROWCACHE_MAX_CONNECTIONS; default: the open-files limit (ulimit -n) minus the
                            descriptors the backends may need, at most 65536)
  --max-queue N             most requests waiting for a --threads worker; past it 503 with Retry-After at once
                            (env ROWCACHE_MAX_QUEUE; default 1024)
)";

// Whether host (an address, as --listen takes it) is a loopback address.
bool IsLoopback(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) return buf[0] == 127;
  if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    static const unsigned char kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(buf, kLoop6, 16) == 0 || (std::memcmp(buf, kMapped, 12) == 0 && buf[12] == 127);
  }
  return false;
}

// Invalidations still pending at exit (the cache was unreachable when a write
// tried): tried for up to kExitInvalidationBudget, then every id not done is
// logged, since its cached entry may be stale until its TTL.
constexpr auto kExitInvalidationBudget = std::chrono::seconds(3);

void FlushInvalidationsAtExit(Service& service) {
  if (service.PendingInvalidations() == 0) return;
  auto end = std::chrono::steady_clock::now() + kExitInvalidationBudget;
  Service::Unflushed left = service.InvalidateAllPending();
  while ((!left.ids.empty()) && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    left = service.InvalidateAllPending();
  }
  if (left.ids.empty() && !left.overflowed) return;
  std::string line = "rowcache: at exit, " + std::to_string(left.ids.size()) +
                     " cache invalidations could not be done within " +
                     std::to_string(kExitInvalidationBudget.count()) +
                     " s; cached entries of these ids may be stale "
                     "until their TTL:";
  for (size_t i = 0; i < left.ids.size() && i < 1000; ++i) line += " " + std::to_string(left.ids[i]);
  if (left.ids.size() > 1000) line += " ... (" + std::to_string(left.ids.size() - 1000) + " more)";
  if (left.overflowed) line += "; the pending set had overflowed, so other ids may be stale too";
  std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace

int ServeMain(const std::vector<std::string>& args) {
  std::set<std::string> value_flags = ServiceFlagNames();
  value_flags.insert({"listen", "threads", "max-body-bytes", "idle-timeout", "busy-poll-us",
                      "busy-poll-redis-us", "auth-token", "auth-token-file", "auth-token-min-length",
                      "max-connections", "max-queue"});
  auto flags = Flags::Parse(
      args, value_flags, {"help", "no-fast-reads", "near-cache", "metrics-public", "allow-cascade-children"});
  if (!flags.ok()) {
    std::fprintf(stderr, "rowcache serve: %s\n\n%s", flags.status().message().c_str(), kHelp);
    return 2;
  }
  if (flags->Bool("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  auto cfg = ServiceConfigFromFlags(*flags);
  ServerOptions sopts;
  std::string listen = flags->Get("listen", "ROWCACHE_LISTEN", "127.0.0.1:8080");
  Status bad = ParseHostPort("--listen", listen, &sopts.host, &sopts.port);
  auto threads = ParseIntFlag("threads", flags->Get("threads", "ROWCACHE_THREADS", "8"), 1, 1024);
  auto body = ParseIntFlag("max-body-bytes", flags->Get("max-body-bytes", nullptr, "1048576"), 64, 1LL << 30);
  auto idle = ParseIntFlag("idle-timeout", flags->Get("idle-timeout", nullptr, "30"), 1, 3600);
  auto busy_poll =
      ParseIntFlag("busy-poll-us", flags->Get("busy-poll-us", "ROWCACHE_BUSY_POLL_US", "100"), 0, 1000000);
  auto busy_poll_redis =
      ParseIntFlag("busy-poll-redis-us",
                   flags->Get("busy-poll-redis-us", "ROWCACHE_BUSY_POLL_REDIS_US", "1000"), 0, 1000000);
  auto max_conns = ParseIntFlag(
      "max-connections", flags->Get("max-connections", "ROWCACHE_MAX_CONNECTIONS", "0"), 0, 10'000'000);
  auto max_queue =
      ParseIntFlag("max-queue", flags->Get("max-queue", "ROWCACHE_MAX_QUEUE", "1024"), 0, 10'000'000);
  auto token = AuthTokenFromFlags(*flags, "rowcache serve");
  auto token_min =
      ParseIntFlag("auth-token-min-length",
                   flags->Get("auth-token-min-length", "ROWCACHE_AUTH_TOKEN_MIN_LENGTH", "16"), 1, 4096);
  if (token.ok() && token_min.ok() && !token->empty() && token->size() < static_cast<size_t>(*token_min)) {
    token = Status::InvalidArgument("auth token: " + std::to_string(token->size()) +
                                    " characters, fewer than --auth-token-min-length (" +
                                    std::to_string(*token_min) + "): a short token can be guessed");
  }
  ::unsetenv("ROWCACHE_AUTH_TOKEN");  // not passed on to anything this process starts
  for (const Status& s : {cfg.status(), threads.status(), body.status(), idle.status(), busy_poll.status(),
                          busy_poll_redis.status(), max_conns.status(), max_queue.status(), token.status(),
                          token_min.status()}) {
    if (bad.ok() && !s.ok()) bad = s;
  }
  if (!bad.ok()) {
    std::fprintf(stderr, "rowcache serve: %s\n", bad.message().c_str());
    return 2;
  }
  sopts.threads = static_cast<int>(*threads);
  sopts.max_body_bytes = static_cast<size_t>(*body);
  sopts.idle_timeout = std::chrono::seconds(*idle);
  sopts.busy_poll = std::chrono::microseconds(*busy_poll);
  sopts.busy_poll_redis = std::chrono::microseconds(*busy_poll_redis);
  sopts.auth_token = std::move(*token);
  sopts.metrics_public = flags->Bool("metrics-public");
  sopts.max_queue = static_cast<size_t>(*max_queue);

  Metrics metrics;
  auto backends = OpenBackends(*cfg, /*ensure_schema=*/true, &metrics);
  if (!backends.ok()) {
    std::fprintf(stderr, "rowcache serve: %s\n", backends.status().ToString().c_str());
    return backends.status().IsInvalidArgument() ? 2 : 1;
  }
  if (!backends->cache_warning.empty())
    std::fprintf(stderr, "rowcache serve: warning: %s\n", backends->cache_warning.c_str());
  if (Status lim = CheckBatchLimits(cfg->service, *backends->store, /*lambda=*/false); !lim.ok()) {
    std::fprintf(stderr, "rowcache serve: %s\n", lim.message().c_str());
    return 2;
  }
  // The connection limit: what the open-files limit leaves after the
  // backends (database pool; per Redis node the cache pool and each I/O
  // thread's connection) and a reserve for the rest.
  if (*max_conns > 0) {
    sopts.max_connections = static_cast<size_t>(*max_conns);
  } else {
    size_t nodes = 0;
    if (backends->redis) {
      auto topo = backends->redis->topology();
      nodes = topo && !topo->nodes.empty() ? topo->nodes.size() : 1;
    }
    size_t io = std::max(1u, std::thread::hardware_concurrency());
    sopts.max_connections =
        DefaultMaxConnections(64 + static_cast<size_t>(cfg->store.max_connections) +
                              nodes * (static_cast<size_t>(cfg->cache.max_connections) + io));
  }
  if (sopts.auth_token.empty() && !IsLoopback(sopts.host)) {
    std::fprintf(
        stderr,
        "rowcache serve: warning: listening on %s without --auth-token: anyone who can reach the port "
        "can read and change the table\n",
        sopts.host.c_str());
  }
  if (!flags->Bool("no-fast-reads")) sopts.fast_read_redis = backends->redis;
  sopts.near_cache = backends->near;
  Service service(backends->store.get(), backends->cache.get(), cfg->service, &metrics);
  HttpServer server(service, sopts);
  // Tracking set up before the port is open: the near cache serves from the
  // first request when Redis is up.
  if (backends->tracker) backends->tracker->Poll(std::chrono::milliseconds(0));
  Status s = server.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "rowcache serve: %s\n", s.message().c_str());
    return 1;
  }
  // The near cache's invalidation channel, read on a thread of its own.
  std::atomic<bool> tracking_stop{false};
  std::thread tracking;
  if (backends->tracker) {
    tracking = std::thread([&] {
      while (!tracking_stop.load()) backends->tracker->Poll(std::chrono::milliseconds(50));
    });
  }
  std::string host = sopts.host.find(':') != std::string::npos ? "[" + sopts.host + "]" : sopts.host;
  std::printf("rowcache listening on http://%s:%u (db=%s, cache=%s)\n", host.c_str(), server.port(),
              backends->store->Describe().c_str(),
              backends->cache ? backends->cache->Describe().c_str() : "none");
  std::fflush(stdout);
  server.Wait(/*handle_signals=*/true);
  tracking_stop = true;
  if (tracking.joinable()) tracking.join();
  FlushInvalidationsAtExit(service);
  std::fprintf(stderr, "rowcache: stopped\n");
  return 0;
}

}  // namespace rowcache
