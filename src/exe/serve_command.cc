// rowcache serve: the HTTP front door.
#include <cstdio>
#include <iostream>

#include "exe/commands.h"
#include "exe/config.h"
#include "http/server.h"

namespace rowcache {

namespace {

constexpr const char* kHelp = R"(usage: rowcache serve [flags]

  --listen HOST:PORT        address to listen on (env ROWCACHE_LISTEN; default 127.0.0.1:8080; port 0 picks one)
  --db URL                  mysql://user:pass@host:port/db[?table=T] | sqlite:PATH (env ROWCACHE_DB; default sqlite:rowcache.db)
  --cache URL               redis://[user:pass@]host:port[/db] | rediss://... | memory:// | none (env ROWCACHE_CACHE; default memory://)
  --key-prefix P            cache key prefix (default rowcache:heroes:)
  --ttl SECONDS             cache TTL (default 300)
  --ttl-jitter J            TTL spread, 0..0.9 (default 0.1)
  --max-batch N             most ids/rows per request (default 1000)
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
  --no-fast-reads           answer cached reads on the blocking path only (default: with redis://, cached reads
                            are looked up on the I/O threads through one pipelined connection per thread)
)";

}  // namespace

int ServeMain(const std::vector<std::string>& args) {
  std::set<std::string> value_flags = ServiceFlagNames();
  value_flags.insert({"listen", "threads", "max-body-bytes", "idle-timeout", "busy-poll-us", "busy-poll-redis-us"});
  auto flags = Flags::Parse(args, value_flags, {"help", "no-fast-reads"});
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
  auto busy_poll = ParseIntFlag("busy-poll-us", flags->Get("busy-poll-us", "ROWCACHE_BUSY_POLL_US", "100"), 0, 1000000);
  auto busy_poll_redis = ParseIntFlag(
      "busy-poll-redis-us", flags->Get("busy-poll-redis-us", "ROWCACHE_BUSY_POLL_REDIS_US", "1000"), 0, 1000000);
  for (const Status& s :
       {cfg.status(), threads.status(), body.status(), idle.status(), busy_poll.status(), busy_poll_redis.status()}) {
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

  Metrics metrics;
  auto backends = OpenBackends(*cfg, /*ensure_schema=*/true, &metrics);
  if (!backends.ok()) {
    std::fprintf(stderr, "rowcache serve: %s\n", backends.status().ToString().c_str());
    return backends.status().IsInvalidArgument() ? 2 : 1;
  }
  if (!backends->cache_warning.empty()) std::fprintf(stderr, "rowcache serve: warning: %s\n", backends->cache_warning.c_str());
  if (!flags->Bool("no-fast-reads")) sopts.fast_read_redis = backends->redis;
  Service service(backends->store.get(), backends->cache.get(), cfg->service, &metrics);
  HttpServer server(service, sopts);
  Status s = server.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "rowcache serve: %s\n", s.message().c_str());
    return 1;
  }
  std::string host = sopts.host.find(':') != std::string::npos ? "[" + sopts.host + "]" : sopts.host;
  std::printf("rowcache listening on http://%s:%u (db=%s, cache=%s)\n", host.c_str(), server.port(),
              backends->store->Describe().c_str(),
              backends->cache ? backends->cache->Describe().c_str() : "none");
  std::fflush(stdout);
  server.Wait(/*handle_signals=*/true);
  std::fprintf(stderr, "rowcache: stopped\n");
  return 0;
}

}  // namespace rowcache
