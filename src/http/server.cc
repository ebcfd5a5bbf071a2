#include "http/server.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "http/auth.h"
#include "http/busy_poll.h"
#include "http/framing.h"
#include "http/health_probe.h"
#include "http/metrics_page.h"
#include "http/router.h"
#include "redis/async_client.h"
#include "rowcache/clock.h"

namespace rowcache {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

namespace {

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
    deadline.store(SteadyNanos() + d.count(), std::memory_order_relaxed);
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
  // the adaptive rule says so (src/http/busy_poll.h) and a polling slot is
  // free (max_pollers: half the cores); otherwise it blocks for the next
  // handler as run() would.
  void RunIoThread(size_t index) {
    asio::io_context& ioc = *iocs[index];
    BusyPollRule rule(opts.busy_poll, opts.busy_poll_redis, SteadyNanos());
    if (!rule.enabled()) {
      ioc.run();
      return;
    }
    redis::AsyncClient* reader = readers[index].get();
    bool slot = false;  // this thread holds one of the max_pollers slots
    while (!ioc.stopped()) {
      if (ioc.poll() > 0) {
        rule.Activity(SteadyNanos());
        continue;
      }
      int64_t now = SteadyNanos();
      int64_t waiting_since = reader ? reader->OldestLookupNanos() : 0;
      if (rule.ShouldPoll(now, waiting_since, ioc_conns[index].load(std::memory_order_relaxed),
                          on_workers[index].load(std::memory_order_relaxed))) {
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
      rule.Activity(SteadyNanos());
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
      int64_t now = SteadyNanos();
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
  BearerAuth auth;                            // ServerOptions::auth_token, set by Start()
  size_t max_connections = 0;                 // in force, set by Start()
  std::unique_ptr<asio::signal_set> signals;  // made by Start(); SIGINT/SIGTERM added by Wait(true)
  std::atomic<int64_t> last_limit_log{0}, last_queue_log{0};  // steady ns: the last "refused" log line
  std::atomic<uint64_t> limit_refused_since_log{0}, queue_refused_since_log{0};

  // Whether req may be answered (src/http/auth.h).
  bool Authorized(const http::request<http::string_body>& req) const {
    if (!auth.enabled()) return true;
    auto it = req.find(http::field::authorization);
    std::optional<std::string_view> header;
    if (it != req.end()) header = std::string_view(it->value().data(), it->value().size());
    return auth.Allows(PathOf(std::string_view(req.target().data(), req.target().size())), header);
  }

  // Logs "<what>" at most once per 10 s per kind, with the count since.
  void LogRefusal(std::atomic<int64_t>& last, std::atomic<uint64_t>& since, const std::string& what) {
    since.fetch_add(1, std::memory_order_relaxed);
    int64_t now = SteadyNanos(), prev = last.load(std::memory_order_relaxed);
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

  // The routes (src/http/router.h) over the Service, the health probe and
  // the metrics page.
  Router router{Router::Backend{[this](std::string_view body, const Request* parsed) {
                                  return parsed ? svc.Handle(*parsed) : svc.Handle(body);
                                },
                                [this] { return health->Report(); },
                                [this] {
                                  return RenderMetricsPage(svc.metrics(), stats, max_connections, svc.cache(),
                                                           opts.near_cache.get());
                                },
                                LogLine}};

  // The response to req; for POST /, `answered` (from the fast read path) if
  // given, else the Service's answer. Not `authorized` (see Authorized): 401.
  // `parsed`: the body as the session parsed it (not parsed again), or null.
  http::response<http::string_body> Respond(const http::request<http::string_body>& req,
                                            std::optional<Response> answered = std::nullopt,
                                            bool authorized = true, const Request* parsed = nullptr) {
    if (!authorized) stats.unauthorized.fetch_add(1, std::memory_order_relaxed);
    return router.Respond(req, std::move(answered), authorized, parsed);
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
  I.auth = BearerAuth(&I.opts.auth_token, I.opts.metrics_public);
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
