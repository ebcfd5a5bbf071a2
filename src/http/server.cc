#include "http/server.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "http/framing.h"
#include "http/health_probe.h"
#include "redis/async_client.h"

namespace rowcache {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A connection lives on one io_context (its thread). Timeouts are not timers
// per operation (each would cost timer syscalls per request): the connection
// records a deadline before each read or write, and a sweeper on its thread
// closes the sockets whose deadline has passed.
struct Conn {
  Conn(tcp::socket s, size_t ioc) : stream(std::move(s)), ioc_index(ioc) {}
  tcp::socket stream;
  size_t ioc_index;
  bool busy = false;                 // a request is being handled (touched only on its thread)
  bool on_worker = false;            // ... by a worker, which may write to the socket (ditto)
  std::atomic<int64_t> deadline{0};  // steady-clock ns; 0 = none
  void ExpiresAfter(std::chrono::nanoseconds d) {
    deadline.store(NowNanos() + d.count(), std::memory_order_relaxed);
  }
};

// The bytes of a response as they go on the wire.
std::string Serialize(http::response<http::string_body>& res) {
  std::string out;
  http::response_serializer<http::string_body> sr{res};
  beast::error_code ec;
  while (!ec && !sr.is_done()) {
    sr.next(ec, [&](beast::error_code&, const auto& buffers) {
      size_t n = 0;
      for (auto b : beast::buffers_range_ref(buffers)) {
        out.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      sr.consume(n);
    });
  }
  return out;
}

std::string ErrorJson(int status, std::string_view msg) {
  std::string body = "{\"statusCode\": " + std::to_string(status) + ", \"body\": {\"error\": ";
  AppendJsonString(body, msg);
  body += "}}";
  return body;
}

// A 5xx answer of the server's own: a generic message and a request id.
std::string ServerErrorJson(int status, std::string_view msg, std::string_view request_id) {
  std::string body = "{\"statusCode\": " + std::to_string(status) + ", \"body\": {\"error\": ";
  AppendJsonString(body, msg);
  body += ", \"request_id\": ";
  AppendJsonString(body, request_id);
  body += "}}";
  return body;
}

// One line to stderr in one write (lines from several threads do not mix).
void LogLine(const std::string& line) {
  if (line.empty()) return;
  ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
  (void)n;
}

using Sha256Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;
Sha256Digest Sha256Of(std::string_view s) {
  Sha256Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

std::string_view PathOf(beast::string_view target) {
  std::string_view t(target.data(), target.size());
  if (auto q = t.find('?'); q != std::string_view::npos) t = t.substr(0, q);
  return t;
}

bool IsOutOfDescriptors(const beast::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  int v = ec.value();
  return v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM;
}

}  // namespace

size_t DefaultMaxConnections(size_t reserved_fds) {
  constexpr size_t kCap = 65536, kFloor = 16;
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return kCap;
  size_t soft = static_cast<size_t>(rl.rlim_cur);
  if (soft <= reserved_fds + kFloor) return kFloor;
  return std::min(kCap, soft - reserved_fds);
}

struct HttpServer::Impl {
  // One io_context per thread: a connection lives on one thread, so a request
  // is read, handled and answered without handing work between threads.
  //
  // With the fast read path (a redis:// cache), the I/O threads never block:
  // there is one per core, cached reads are answered on them, and everything
  // else (misses, writes: the blocking Service calls) runs on a pool of
  // `threads` workers. Without it, `threads` I/O threads call the Service
  // inline.
  Impl(Service& s, ServerOptions o) : svc(s), opts(std::move(o)) {
    bool fast = opts.fast_read_redis != nullptr || opts.near_cache != nullptr;
    int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    int io_threads = fast ? (opts.io_threads > 0 ? opts.io_threads : cores) : std::max(1, opts.threads);
    for (int i = 0; i < io_threads; ++i) {
      iocs.push_back(std::make_unique<asio::io_context>(1));
      guards.emplace_back(iocs.back()->get_executor());
    }
    acceptor = std::make_unique<tcp::acceptor>(*iocs[0]);
    ioc_conns = std::make_unique<std::atomic<int>[]>(iocs.size());
    on_workers = std::make_unique<std::atomic<int>[]>(iocs.size());
    for (auto& ioc : iocs) {
      readers.push_back(
          opts.fast_read_redis ? std::make_unique<redis::AsyncClient>(*ioc, opts.fast_read_redis) : nullptr);
    }
    if (fast) workers = std::make_unique<asio::thread_pool>(static_cast<size_t>(std::max(1, opts.threads)));
  }

  // The fast path for a cached read (see ServerOptions::fast_read_redis):
  // a response if every entry was in the cache, else nothing (the caller
  // then hands the same parsed request to the Service).
  asio::awaitable<std::optional<Response>> FastRead(size_t index, const Request& req) {
    redis::AsyncClient* reader = readers[index].get();
    NearCache* near = opts.near_cache.get();
    bool near_on = near && near->serving();
    if (!near_on && (!reader || !reader->Usable())) co_return std::nullopt;
    int64_t start = svc.NowNanos();
    auto keys = svc.CacheOnlyKeys(req);
    if (!keys) co_return std::nullopt;
    std::vector<NearCache::Ticket> tickets;
    if (near_on) {
      std::vector<std::optional<std::string>> values;
      if (near->GetAll(*keys, &values)) co_return svc.AnswerFromTrustedEntries(req, values, start);
      // Taken before the Redis read: a value whose invalidation overtakes
      // the reply is not stored.
      tickets.reserve(keys->size());
      for (const auto& k : *keys) tickets.push_back(near->TicketFor(k));
    }
    if (!reader || !reader->Usable()) co_return std::nullopt;
    std::vector<std::string> asked = *keys;
    Result<redis::Found> found = co_await reader->MGet(std::move(*keys), near_on, asio::use_awaitable);
    if (!found.ok()) co_return std::nullopt;
    auto answer = svc.AnswerFromEntries(req, found->values, start);
    if (answer && near_on) {
      // Every entry decoded as the row of its id; kept only if canonical, so
      // that near hits can be spliced without decoding.
      const std::string& prefix = svc.options().key_prefix;
      for (size_t i = 0; i < asked.size(); ++i) {
        const auto& v = found->values[i];
        if (v && IsCanonicalEntry(prefix, asked[i], *v))
          near->Put(asked[i], *v, found->ttl_ms[i], tickets[i]);
      }
    }
    co_return answer;
  }

  // An I/O thread's loop. Without busy polling: ioc.run(). With it, the
  // thread polls (epoll_wait with a zero timeout) instead of sleeping while
  //   - polling has paid lately (below);
  //   - a handler ran less than opts.busy_poll ago, or it waits for its own
  //     Redis replies and the oldest lookup is younger than
  //     opts.busy_poll_redis (a short wait whose end is near);
  //   - it has at most kMaxPollConnections connections (with more it rarely
  //     sleeps anyway, and polling would take the CPU from Redis and the
  //     clients), and none of its requests is on a worker (which needs the
  //     CPU more than this thread does);
  //   - and a polling slot is free (max_pollers: half the cores).
  // Otherwise it blocks for the next handler as run() would.
  //
  // "Paid lately": of the last 16 idle gaps that began with no Redis lookup
  // outstanding (measured whether the thread polled or slept through them),
  // at least 12 ended within opts.busy_poll. A client that sends its next
  // request as soon as it has an answer keeps that true; requests spaced
  // wider than the window (light, open-loop traffic) make it false, and the
  // thread then sleeps as without polling (it cost 2.4x the CPU per request
  // there, for no better median and a worse p99: docs/benchmarks.md).
  static constexpr int kMaxPollConnections = 4;
  static constexpr int kPaidGaps = 12;  // of the last 16
  void RunIoThread(size_t index) {
    asio::io_context& ioc = *iocs[index];
    auto ns = [](auto d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); };
    const int64_t window = ns(opts.busy_poll), redis_window = ns(opts.busy_poll_redis);
    if (window <= 0 && redis_window <= 0) {
      ioc.run();
      return;
    }
    redis::AsyncClient* reader = readers[index].get();
    bool slot = false;  // this thread holds one of the max_pollers slots
    int64_t last = NowNanos();
    uint32_t short_gaps = 0xFFFF;  // bit i: the i-th last classified gap ended within the window
    bool in_gap = false, classify = false;
    auto activity = [&](int64_t now) {
      if (in_gap && classify) short_gaps = ((short_gaps << 1) | (now - last < window ? 1u : 0u)) & 0xFFFF;
      in_gap = false;
      last = now;
    };
    while (!ioc.stopped()) {
      if (ioc.poll() > 0) {
        activity(NowNanos());
        continue;
      }
      int64_t now = NowNanos();
      int64_t waiting_since = reader ? reader->OldestLookupNanos() : 0;
      if (!in_gap) {
        in_gap = true;
        classify = waiting_since == 0;
      }
      bool paid = std::popcount(short_gaps) >= kPaidGaps;
      bool recent =
          paid && (now - last < window || (waiting_since != 0 && now - waiting_since < redis_window));
      if (recent && ioc_conns[index].load(std::memory_order_relaxed) <= kMaxPollConnections &&
          on_workers[index].load(std::memory_order_relaxed) == 0) {
        if (!slot) {
          int n = pollers.load(std::memory_order_relaxed);
          slot = n < max_pollers && pollers.compare_exchange_strong(n, n + 1, std::memory_order_relaxed);
        }
        if (slot) {
          // Let a thread that became runnable on this core (Redis, a client,
          // a worker) run now rather than at the end of this one's time slice.
          sched_yield();
          continue;
        }
      }
      if (slot) {
        pollers.fetch_sub(1, std::memory_order_relaxed);
        slot = false;
      }
      if (ioc.run_one() == 0) break;
      activity(NowNanos());
    }
    if (slot) pollers.fetch_sub(1, std::memory_order_relaxed);
  }

  // Closes the connections of thread `index` whose deadline has passed; runs
  // on that thread every sweep interval.
  asio::awaitable<void> Sweep(size_t index) {
    asio::steady_timer timer(*iocs[index]);
    auto interval = std::clamp<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(opts.idle_timeout) / 10,
        std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
    while (!stopping.load()) {
      timer.expires_after(interval);
      auto [ec] = co_await timer.async_wait(kTuple);
      if (ec) co_return;
      int64_t now = NowNanos();
      std::vector<std::shared_ptr<Conn>> expired;
      {
        std::lock_guard l(mu);
        for (const auto& c : conns) {
          int64_t d = c->deadline.load(std::memory_order_relaxed);
          if (c->ioc_index == index && d != 0 && d < now && !c->on_worker) expired.push_back(c);
        }
      }
      for (auto& c : expired) {
        beast::error_code ignored;
        c->stream.close(ignored);
      }
    }
  }

  Service& svc;
  ServerOptions opts;
  ServerStats stats;
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<HealthProbe> health;                       // GET /healthz's answers
  std::vector<std::unique_ptr<redis::AsyncClient>> readers;  // per io_context; null: no fast path
  std::unique_ptr<asio::thread_pool> workers;                // blocking requests, with the fast path
  size_t next_ioc = 0;
  std::vector<std::thread> threads;
  std::atomic<int> pollers{0};  // I/O threads busy polling now (see ServerOptions::busy_poll)
  std::unique_ptr<std::atomic<int>[]> ioc_conns;   // open connections per I/O thread
  std::unique_ptr<std::atomic<int>[]> on_workers;  // requests handed to workers, per I/O thread
  int max_pollers = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
  uint16_t bound_port = 0;
  std::atomic<bool> stopping{false};
  // Authentication (ServerOptions::auth_token): the token's SHA-256, set by Start().
  bool auth = false;
  Sha256Digest auth_digest{};
  size_t max_connections = 0;                 // in force, set by Start()
  std::unique_ptr<asio::signal_set> signals;  // made by Start(); SIGINT/SIGTERM added by Wait(true)
  std::atomic<int64_t> last_limit_log{0}, last_queue_log{0};  // steady ns: the last "refused" log line
  std::atomic<uint64_t> limit_refused_since_log{0}, queue_refused_since_log{0};

  // Whether req may be answered: with a token, POST / (any method on /) and
  // /metrics (unless public) need "Authorization: Bearer <token>". The
  // digests are compared, so the time taken says nothing about the token.
  bool Authorized(const http::request<http::string_body>& req) const {
    if (!auth) return true;
    std::string_view path = PathOf(req.target());
    if (path != "/" && !(path == "/metrics" && !opts.metrics_public)) return true;
    auto it = req.find(http::field::authorization);
    if (it == req.end()) return false;
    std::string_view v(it->value().data(), it->value().size());
    constexpr std::string_view kScheme = "bearer ";
    if (v.size() <= kScheme.size()) return false;
    for (size_t i = 0; i < kScheme.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(v[i])) != kScheme[i]) return false;
    }
    v.remove_prefix(kScheme.size());
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    Sha256Digest got = Sha256Of(v);
    return CRYPTO_memcmp(got.data(), auth_digest.data(), got.size()) == 0;
  }

  // Logs "<what>" at most once per 10 s per kind, with the count since.
  void LogRefusal(std::atomic<int64_t>& last, std::atomic<uint64_t>& since, const std::string& what) {
    since.fetch_add(1, std::memory_order_relaxed);
    int64_t now = NowNanos(), prev = last.load(std::memory_order_relaxed);
    if (prev != 0 && now - prev < 10'000'000'000LL) return;
    if (!last.compare_exchange_strong(prev, now, std::memory_order_relaxed)) return;
    LogLine("rowcache: " + what + " (" + std::to_string(since.exchange(0, std::memory_order_relaxed)) +
            " refused since the last such line)\n");
  }

  // 503 for a request that found the worker queue full.
  http::response<http::string_body> Busy(const http::request<http::string_body>& req) {
    stats.queue_full.fetch_add(1, std::memory_order_relaxed);
    std::string id = NewRequestId();
    LogRefusal(last_queue_log, queue_refused_since_log,
               "request " + id + ": 503: the worker queue is full (" + std::to_string(opts.threads) +
                   " running, " + std::to_string(opts.max_queue) + " waiting; --threads, --max-queue)");
    http::response<http::string_body> res{http::status::service_unavailable, req.version()};
    res.set(http::field::server, "rowcache");
    res.set(http::field::content_type, "application/json");
    res.set(http::field::retry_after, "1");
    res.body() = ServerErrorJson(503, "the server is busy; retry later", id);
    return res;
  }

  std::mutex mu;  // guards conns, stop_requested
  std::condition_variable cv;
  bool stop_requested = false;
  std::unordered_set<std::shared_ptr<Conn>> conns;

  // The response to req; for POST /, `answered` (from the fast read path) if
  // given, else the Service's answer. Not `authorized` (see Authorized): 401.
  // `parsed`: the body as the session parsed it (not parsed again), or null.
  http::response<http::string_body> Respond(const http::request<http::string_body>& req,
                                            std::optional<Response> answered = std::nullopt,
                                            bool authorized = true, const Request* parsed = nullptr) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.set(http::field::server, "rowcache");
    res.set(http::field::content_type, "application/json");
    std::string_view target = PathOf(req.target());
    if (!authorized) {
      stats.unauthorized.fetch_add(1, std::memory_order_relaxed);
      res.result(http::status::unauthorized);
      res.set(http::field::www_authenticate, "Bearer");
      res.body() = ErrorJson(401, req.find(http::field::authorization) == req.end()
                                      ? "authentication required: send Authorization: Bearer <token>"
                                      : "the bearer token is not valid");
      return res;
    }

    auto method_not_allowed = [&](const char* allow) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, allow);
      res.body() = ErrorJson(405, std::string(req.method_string()) + " is not allowed on " +
                                      std::string(target) + " (allowed: " + allow + ")");
    };
    if (target == "/") {
      if (req.method() != http::verb::post) {
        method_not_allowed("POST");
      } else {
        Response r = answered ? std::move(*answered) : parsed ? svc.Handle(*parsed) : svc.Handle(req.body());
        LogLine(ErrorLogLine(r));
        res.result(static_cast<http::status>(r.status));
        res.body() = std::move(r.body);
      }
    } else if (target == "/healthz") {
      if (req.method() != http::verb::get) {
        method_not_allowed("GET");
      } else {
        // From the background probe: no backend call per request.
        HealthAnswer h = health->Report();
        res.result(static_cast<http::status>(h.http_status));
        res.body() = std::move(h.body);
      }
    } else if (target == "/metrics") {
      if (req.method() != http::verb::get) {
        method_not_allowed("GET");
      } else {
        res.set(http::field::content_type, "text/plain; version=0.0.4");
        res.body() = svc.metrics().Render() + RenderServerMetrics();
      }
    } else {
      res.result(http::status::not_found);
      res.body() = ErrorJson(404, "no such path: " + std::string(target).substr(0, 100) +
                                      " (POST / for requests, GET /healthz, GET /metrics)");
    }
    return res;
  }

  std::string RenderServerMetrics() const {
    auto line = [](std::string& out, const char* name, const char* type, const char* help, auto v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name +
             " " + std::to_string(v) + "\n";
    };
    std::string out;
    line(out, "rowcache_http_connections_accepted_total", "counter", "TCP connections accepted.",
         stats.connections_accepted.load());
    line(out, "rowcache_http_connections_open", "gauge", "TCP connections open.",
         stats.connections_open.load());
    out +=
        "# HELP rowcache_http_responses_total HTTP responses by status class.\n"
        "# TYPE rowcache_http_responses_total counter\n";
    out +=
        "rowcache_http_responses_total{class=\"2xx\"} " + std::to_string(stats.responses_2xx.load()) + "\n";
    out +=
        "rowcache_http_responses_total{class=\"4xx\"} " + std::to_string(stats.responses_4xx.load()) + "\n";
    out +=
        "rowcache_http_responses_total{class=\"5xx\"} " + std::to_string(stats.responses_5xx.load()) + "\n";
    line(out, "rowcache_http_bodies_too_large_total", "counter",
         "Requests refused for their body size (413).", stats.bodies_too_large.load());
    line(out, "rowcache_http_bad_requests_total", "counter", "Malformed HTTP requests (400).",
         stats.bad_requests.load());
    line(out, "rowcache_http_heads_too_large_total", "counter",
         "Requests refused for a request line, header or trailer over the limit (431).",
         stats.heads_too_large.load());
    line(out, "rowcache_http_unauthorized_total", "counter",
         "Requests refused for a missing or wrong bearer token (401).", stats.unauthorized.load());
    line(out, "rowcache_http_connections_rejected_total", "counter",
         "Connections closed at once: max connections were open.", stats.connections_rejected.load());
    line(out, "rowcache_http_max_connections", "gauge", "The connection limit.", max_connections);
    line(out, "rowcache_http_accept_errors_total", "counter", "Failed accepts (e.g. out of descriptors).",
         stats.accept_errors.load());
    line(out, "rowcache_http_queue_full_total", "counter",
         "Requests answered 503 at once: the worker queue was full.", stats.queue_full.load());
    line(out, "rowcache_http_worker_requests", "gauge", "Requests handed to workers, waiting or running.",
         stats.worker_requests.load());
    if (svc.cache()) {
      CacheHealth h = svc.cache()->Health();
      if (!h.errors_by_class.empty()) {
        out +=
            "# HELP rowcache_cache_errors_by_class_total Failed cache calls by error class.\n"
            "# TYPE rowcache_cache_errors_by_class_total counter\n";
        for (const auto& [cls, n] : h.errors_by_class) {
          out += "rowcache_cache_errors_by_class_total{class=\"" + cls + "\"} " + std::to_string(n) + "\n";
        }
      }
      line(out, "rowcache_cache_degraded", "gauge", "1 if a cache call failed in the last 10 s.",
           h.degraded ? 1 : 0);
    }
    if (opts.near_cache) {
      auto n = opts.near_cache->stats();
      line(out, "rowcache_near_cache_serving", "gauge", "1 while the near cache is coherent and serving.",
           opts.near_cache->serving() ? 1 : 0);
      line(out, "rowcache_near_cache_hits_total", "counter", "Keys answered by the near cache.", n.hits);
      line(out, "rowcache_near_cache_misses_total", "counter",
           "Keys looked up in the near cache and not found.", n.misses);
      line(out, "rowcache_near_cache_stored_total", "counter", "Entries stored in the near cache.", n.stored);
      line(out, "rowcache_near_cache_refused_total", "counter",
           "Near-cache fills refused: an invalidation or flush came after their Redis read began.",
           n.refused);
      line(out, "rowcache_near_cache_invalidated_total", "counter", "Near entries dropped by invalidation.",
           n.invalidated);
      line(out, "rowcache_near_cache_flushes_total", "counter",
           "Near-cache flushes (tracking lost or re-established, FLUSHALL).", n.flushes);
      line(out, "rowcache_near_cache_evicted_total", "counter", "Near entries evicted (LRU by bytes).",
           n.evicted);
      line(out, "rowcache_near_cache_entries", "gauge", "Entries in the near cache.", n.entries);
      line(out, "rowcache_near_cache_bytes", "gauge", "Bytes held by the near cache.", n.bytes);
    }
    return out;
  }

  void Count(unsigned status) {
    if (status < 300) {
      stats.responses_2xx.fetch_add(1, std::memory_order_relaxed);
    } else if (status < 500) {
      stats.responses_4xx.fetch_add(1, std::memory_order_relaxed);
    } else {
      stats.responses_5xx.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // The response's last touches before it is written: keep-alive, length, counters.
  void Finish(const http::request<http::string_body>& req, http::response<http::string_body>& res) {
    res.keep_alive(req.keep_alive() && !stopping.load());
    res.prepare_payload();
    Count(res.result_int());
  }

  // Answers an error and closes the connection (used before a request could be read).
  asio::awaitable<void> Refuse(Conn& c, http::status status, std::string msg) {
    http::response<http::string_body> res{status, 11};
    res.set(http::field::server, "rowcache");
    res.set(http::field::content_type, "application/json");
    res.body() = ErrorJson(static_cast<int>(status), msg);
    res.keep_alive(false);
    res.prepare_payload();
    Count(static_cast<unsigned>(status));
    c.ExpiresAfter(std::chrono::seconds(5));
    auto [wec, wn] = co_await http::async_write(c.stream, res, kTuple);
    if (wec) co_return;
    // A lingering close: the client may still be sending what was refused,
    // and closing with unread bytes resets the connection -- which can
    // discard the answer before the client reads it. So the sending side is
    // shut and what still arrives is read and dropped: at most 64 KiB, for
    // at most a second (the sweep closes it then).
    beast::error_code ignored;
    c.stream.shutdown(tcp::socket::shutdown_send, ignored);
    c.ExpiresAfter(std::chrono::seconds(1));
    std::array<char, 4096> sink;
    for (size_t drained = 0; drained < 64 * 1024;) {
      auto [rec, n] = co_await c.stream.async_read_some(asio::buffer(sink), kTuple);
      if (rec) break;
      drained += n;
    }
  }

  asio::awaitable<void> Session(std::shared_ptr<Conn> c) {
    // Bytes read and not yet parsed: bounded (src/http/framing.h).
    beast::flat_buffer buf = NewRequestBuffer();
    for (;;) {
      RequestParser parser;
      ApplyRequestLimits(parser, opts.max_body_bytes);
      c->busy = false;
      if (stopping.load()) break;
      c->ExpiresAfter(opts.idle_timeout);
      auto [ec, n] = co_await http::async_read_header(c->stream, buf, parser, kTuple);
      if (!ec && parser.get()[http::field::expect] == "100-continue" &&
          parser.content_length().value_or(0) <= opts.max_body_bytes) {
        http::response<http::empty_body> cont{http::status::continue_, 11};
        auto [wec, wn] = co_await http::async_write(c->stream, cont, kTuple);
        ec = wec;
      }
      if (!ec && !parser.is_done() && buf.size() > 0) {
        // A body already read with the header is parsed here: async_read
        // would complete at once, but through a post (another trip through
        // the event loop) on the latency path of every small request.
        buf.consume(parser.put(buf.data(), ec));
        if (ec == http::error::need_more) ec = {};
      }
      if (!ec && !parser.is_done()) {
        auto [rec, rn] = co_await http::async_read(c->stream, buf, parser, kTuple);
        ec = rec;
      }
      if (ec) {
        std::optional<Refusal> refusal =
            RefusalFor(ec, parser.is_header_done(), BufferText(buf), opts.max_body_bytes);
        if (!refusal) break;  // the connection ended
        auto& counter = refusal->kind == Refusal::Kind::kHeadTooLarge   ? stats.heads_too_large
                        : refusal->kind == Refusal::Kind::kBodyTooLarge ? stats.bodies_too_large
                                                                        : stats.bad_requests;
        counter.fetch_add(1, std::memory_order_relaxed);
        co_await Refuse(*c, static_cast<http::status>(refusal->status), std::move(refusal->message));
        break;
      }
      c->busy = true;
      http::request<http::string_body> req;
      {
        auto parsed = parser.release();
        req = http::request<http::string_body>(std::move(parsed.base()), std::move(parsed.body()));
      }
      bool authorized = Authorized(req);
      std::optional<Response> fast;
      // A POST / is parsed once, here: the fast path and the Service both
      // take the parsed request (a body that does not parse goes to the
      // Service as text, which answers the error).
      std::optional<Request> parsed_request;
      if (authorized && req.method() == http::verb::post && req.target() == "/") {
        if (auto parsed = ParseRequest(req.body(), svc.options()); parsed.ok()) {
          parsed_request = std::move(parsed.value());
          fast = co_await FastRead(c->ioc_index, *parsed_request);
        }
      }
      http::response<http::string_body> res;
      // The workers' queue is bounded: past it, 503 with Retry-After at once.
      bool busy = !fast && workers && authorized &&
                  stats.worker_requests.load(std::memory_order_relaxed) >=
                      static_cast<int64_t>(std::max(1, opts.threads)) + static_cast<int64_t>(opts.max_queue);
      if (fast || !workers || !authorized || busy) {
        res = busy ? Busy(req)
                   : Respond(req, std::move(fast), authorized, parsed_request ? &*parsed_request : nullptr);
        Finish(req, res);
        c->ExpiresAfter(opts.idle_timeout);
        auto [wec, wn] = co_await http::async_write(c->stream, res, kTuple);
        if (wec || !res.keep_alive()) break;
        continue;
      }
      // On a worker: the blocking Service call, and the answer sent from
      // there when the socket takes it whole (the usual case), so that the
      // client need not wait for this thread to wake up; whatever is left is
      // written from here. Meanwhile this thread touches neither the socket
      // nor (in Sweep) closes it: no operation on it is pending.
      c->on_worker = true;
      on_workers[c->ioc_index].fetch_add(1, std::memory_order_relaxed);
      stats.worker_requests.fetch_add(1, std::memory_order_relaxed);
      std::string wire;
      size_t sent = 0;
      co_await asio::co_spawn(
          *workers,
          [&]() -> asio::awaitable<void> {
            res = Respond(req, std::nullopt, true, parsed_request ? &*parsed_request : nullptr);
            Finish(req, res);
            wire = Serialize(res);
            ssize_t n =
                ::send(c->stream.native_handle(), wire.data(), wire.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            sent = n > 0 ? static_cast<size_t>(n) : 0;
            co_return;
          },
          asio::use_awaitable);
      stats.worker_requests.fetch_sub(1, std::memory_order_relaxed);
      on_workers[c->ioc_index].fetch_sub(1, std::memory_order_relaxed);
      c->on_worker = false;
      if (sent < wire.size()) {
        c->ExpiresAfter(opts.idle_timeout);
        auto [wec, wn] = co_await asio::async_write(
            c->stream, asio::buffer(wire.data() + sent, wire.size() - sent), kTuple);
        if (wec) break;
      }
      if (!res.keep_alive()) break;
    }
    beast::error_code ignored;
    c->stream.shutdown(tcp::socket::shutdown_send, ignored);
    c->stream.close(ignored);
    stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
    ioc_conns[c->ioc_index].fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard l(mu);
    conns.erase(c);
    cv.notify_all();
  }

  asio::awaitable<void> Listen() {
    asio::steady_timer pause(*iocs[0]);
    for (;;) {
      size_t index = next_ioc++ % iocs.size();
      auto [ec, sock] = co_await acceptor->async_accept(*iocs[index], kTuple);
      if (ec) {
        if (!acceptor->is_open() || stopping.load()) co_return;
        stats.accept_errors.fetch_add(1, std::memory_order_relaxed);
        // Out of descriptors (or memory): the connection stays in the
        // backlog, so an immediate retry would fail again at once, in a busy
        // loop. Keep serving the connections we have and retry in a while.
        if (IsOutOfDescriptors(ec)) {
          pause.expires_after(std::chrono::milliseconds(50));
          co_await pause.async_wait(kTuple);
        }
        continue;
      }
      beast::error_code ignored;
      if (static_cast<size_t>(stats.connections_open.load(std::memory_order_relaxed)) >= max_connections) {
        // Over the limit: a short 503 if the socket takes it, and closed.
        stats.connections_rejected.fetch_add(1, std::memory_order_relaxed);
        std::string id = NewRequestId();
        std::string body = ServerErrorJson(503, "too many connections; retry later", id);
        std::string wire =
            "HTTP/1.1 503 Service Unavailable\r\nServer: rowcache\r\nContent-Type: application/json\r\n"
            "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
        ssize_t n = ::send(sock.native_handle(), wire.data(), wire.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)n;
        sock.close(ignored);
        LogRefusal(last_limit_log, limit_refused_since_log,
                   "request " + id + ": 503: " + std::to_string(max_connections) +
                       " connections open, a new one closed (--max-connections)");
        continue;
      }
      sock.set_option(tcp::no_delay(true), ignored);
      auto c = std::make_shared<Conn>(std::move(sock), index);
      {
        std::lock_guard l(mu);
        conns.insert(c);
      }
      stats.connections_accepted.fetch_add(1, std::memory_order_relaxed);
      stats.connections_open.fetch_add(1, std::memory_order_relaxed);
      ioc_conns[index].fetch_add(1, std::memory_order_relaxed);
      asio::co_spawn(c->stream.get_executor(), Session(c), asio::detached);
    }
  }
};

HttpServer::HttpServer(Service& service, ServerOptions opts)
    : impl_(std::make_unique<Impl>(service, std::move(opts))) {}

HttpServer::~HttpServer() {
  Stop();
  Wait(false);
}

Status HttpServer::Start() {
  auto& I = *impl_;
  beast::error_code ec;
  auto addr = asio::ip::make_address(I.opts.host, ec);
  if (ec) return Status::InvalidArgument("listen address '" + I.opts.host + "': " + ec.message());
  tcp::endpoint ep(addr, I.opts.port);
  I.acceptor->open(ep.protocol(), ec);
  if (!ec) I.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) I.acceptor->bind(ep, ec);
  if (!ec) I.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("cannot listen on " + I.opts.host + ":" + std::to_string(I.opts.port) + ": " +
                               ec.message());
  }
  I.bound_port = I.acceptor->local_endpoint().port();
  I.max_connections = I.opts.max_connections > 0 ? I.opts.max_connections : DefaultMaxConnections(64);
  if (!I.opts.auth_token.empty()) {
    I.auth = true;
    I.auth_digest = Sha256Of(I.opts.auth_token);
    OPENSSL_cleanse(I.opts.auth_token.data(), I.opts.auth_token.size());
    I.opts.auth_token.clear();
  }
  I.health = std::make_unique<HealthProbe>(I.svc, I.opts.near_cache, HealthProbe::Options{}, LogLine);
  I.health->Start();
  I.signals = std::make_unique<asio::signal_set>(*I.iocs[0]);
  asio::co_spawn(*I.iocs[0], I.Listen(), asio::detached);
  for (size_t i = 0; i < I.iocs.size(); ++i) asio::co_spawn(*I.iocs[i], I.Sweep(i), asio::detached);
  for (size_t i = 0; i < I.iocs.size(); ++i) I.threads.emplace_back([&I, i] { I.RunIoThread(i); });
  return Status::OK();
}

uint16_t HttpServer::port() const { return impl_->bound_port; }
size_t HttpServer::max_connections() const { return impl_->max_connections; }
const ServerStats& HttpServer::stats() const { return impl_->stats; }

void HttpServer::Stop() {
  std::lock_guard l(impl_->mu);
  impl_->stop_requested = true;
  impl_->cv.notify_all();
}

void HttpServer::Wait(bool handle_signals) {
  auto& I = *impl_;
  if (I.threads.empty()) return;
  // The signal set was made by Start(), before the first accept: its first
  // use opens a pipe, which a flood of connections could have left no
  // descriptor for.
  std::unique_ptr<asio::signal_set>& signals = I.signals;
  if (handle_signals) {
    beast::error_code ignored;
    signals->add(SIGINT, ignored);
    signals->add(SIGTERM, ignored);
    signals->async_wait([this](const beast::error_code& ec, int) {
      if (!ec) Stop();
    });
  }
  {
    std::unique_lock l(I.mu);
    I.cv.wait(l, [&] { return I.stop_requested; });
  }
  // Graceful stop: no new connections; idle connections close; busy ones
  // finish their request (answered with Connection: close).
  I.stopping = true;
  asio::post(*I.iocs[0], [&I, &signals] {
    beast::error_code ignored;
    I.acceptor->close(ignored);
    if (signals) signals->cancel(ignored);
  });
  {
    std::unique_lock l(I.mu);
    for (const auto& c : I.conns) {
      asio::post(c->stream.get_executor(), [c] {
        beast::error_code ignored;
        if (!c->busy) c->stream.cancel(ignored);
      });
    }
    I.cv.wait_for(l, I.opts.shutdown_grace, [&] { return I.conns.empty(); });
  }
  for (auto& ioc : I.iocs) ioc->stop();
  for (auto& t : I.threads) t.join();
  I.threads.clear();
  if (I.health) I.health->Stop();
  if (I.workers) {
    I.workers->stop();
    I.workers->join();
  }
}

}  // namespace rowcache
