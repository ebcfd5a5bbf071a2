#include "bench/load.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <thread>

#include "bench/http_parse.h"
#include "rowcache/clock.h"

namespace rowcache::bench {

void Errors::Add(const Errors& o) {
  connect += o.connect;
  timeout += o.timeout;
  io += o.io;
  http_4xx += o.http_4xx;
  http_5xx += o.http_5xx;
  status_code += o.status_code;
}

// ---------------------------------------------------------------- workload

RequestGen::RequestGen(const Workload& w, std::shared_ptr<const KeyGen> keys, uint64_t seed)
    : w_(w), keys_(std::move(keys)), rng_(seed) {}

std::string RequestGen::RandomString() {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  size_t n = 1 + rng_.Below(20);
  std::string s(n, 'a');
  for (auto& c : s) c = kChars[rng_.Below(sizeof(kChars) - 1)];
  return s;
}

std::string RequestGen::WriteEvent(int n, bool use_cache) {
  std::string s = use_cache ? R"({"USE_CACHE": "True", "REQUEST": "write", "SQLS": [)"
                            : R"({"USE_CACHE": "False", "REQUEST": "write", "SQLS": [)";
  for (int i = 0; i < n; ++i) {
    if (i) s += ", ";
    s += R"({"hero": ")" + RandomString() + R"(", "power": ")" + RandomString() + R"(", "name": ")" +
         RandomString() + R"(", "xp": )" + std::to_string(rng_.Below(1000)) + R"(, "color": ")" +
         RandomString() + "\"}";
  }
  s += "]}";
  return s;
}

std::string RequestGen::ReadEvent(const std::vector<int64_t>& ids, bool use_cache) {
  std::string s = use_cache ? R"({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [)"
                            : R"({"USE_CACHE": "False", "REQUEST": "read", "SQLS": [)";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(ids[i]);
  }
  s += "]}";
  return s;
}

std::string RequestGen::Next(bool* is_write) {
  *is_write = w_.read_percent < 100 && static_cast<int>(rng_.Below(100)) >= w_.read_percent;
  if (*is_write) return WriteEvent(w_.batch, w_.use_cache);
  std::string s = w_.use_cache ? R"({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [)"
                               : R"({"USE_CACHE": "False", "REQUEST": "read", "SQLS": [)";
  for (int i = 0; i < w_.batch; ++i) {
    if (i) s += ", ";
    s += std::to_string(keys_->Next(rng_));
  }
  s += "]}";
  return s;
}

std::shared_ptr<const KeyGen> MakeKeys(const Workload& w) {
  if (w.zipf) return std::make_shared<ZipfKeys>(w.hot_set, w.zipf_s);
  return std::shared_ptr<const KeyGen>(UniformKeys(w.hot_set));
}

// ---------------------------------------------------------------- progress

namespace {

struct Shared {
  std::vector<std::atomic<uint64_t>> done;  // answers per thread (whole run, warm-up included)
  std::vector<std::atomic<uint64_t>> errors;
  explicit Shared(int threads) : done(threads), errors(threads) {}
};

// Runs on the calling thread until `end`: the warm-up/measure callbacks and a
// progress line on stderr (overwritten on a tty, else one line every 5 s).
void Coordinate(const LoadOptions& o, Shared& sh, int64_t t0, int64_t measure_start, int64_t end) {
  bool tty = isatty(STDERR_FILENO);
  int64_t step = tty ? 500'000'000 : 5'000'000'000;
  bool started = false;
  int64_t last_print = t0;
  uint64_t last_done = 0;
  while (true) {
    int64_t now = SteadyNanos();
    if (!started && now >= measure_start) {
      started = true;
      if (o.on_measure_start) o.on_measure_start();
    }
    if (now >= end) break;
    int64_t next = std::min({end, started ? end : measure_start, last_print + step});
    if (next > now)
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(next - now, 100'000'000)));
    now = SteadyNanos();
    if (o.progress && now - last_print >= step) {
      uint64_t done = 0, errs = 0;
      for (auto& d : sh.done) done += d.load(std::memory_order_relaxed);
      for (auto& e : sh.errors) errs += e.load(std::memory_order_relaxed);
      double rate = static_cast<double>(done - last_done) * 1e9 / static_cast<double>(now - last_print);
      std::fprintf(stderr, "%s%s %s %5.1f/%.0f s  %9.0f req/s  %llu answered  %llu errors%s", tty ? "\r" : "",
                   o.label.c_str(), now < measure_start ? "warm-up" : "run    ", (now - t0) / 1e9,
                   (end - t0) / 1e9, rate, static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(errs), tty ? "   " : "\n");
      std::fflush(stderr);
      last_print = now;
      last_done = done;
    }
  }
  if (o.on_measure_end) o.on_measure_end();
  if (o.progress && tty) {
    std::fprintf(stderr, "\r%*s\r", 90, "");
    std::fflush(stderr);
  }
}

// ---------------------------------------------------------------- HTTP driver

int ResolveAddr(const std::string& host, uint16_t port, sockaddr_storage* addr, socklen_t* len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res) return -1;
  std::memcpy(addr, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

struct Conn {
  int fd = -1;
  bool connected = false;  // the connect completed (first answer or writable)
  bool busy = false;       // a request is out
  bool is_write = false;
  int64_t start = 0;     // latency origin: send time (closed) or due time (open)
  int64_t sent_at = 0;   // for the timeout
  int64_t retry_at = 0;  // reconnect not before this (after a failed connect)
  std::string out;
  size_t out_off = 0;
  std::string in;
};

class HttpWorker {
 public:
  HttpWorker(const LoadOptions& o, const Workload& w, std::shared_ptr<const KeyGen> keys, int index,
             int nconns, const sockaddr_storage& addr, socklen_t addrlen, Shared& sh)
      : o_(o),
        w_(w),
        gen_(w, std::move(keys), o.seed * 1000003 + static_cast<uint64_t>(index) + 1),
        index_(index),
        conns_(static_cast<size_t>(nconns)),
        addr_(addr),
        addrlen_(addrlen),
        sh_(sh) {
    host_header_ = o.host + ":" + std::to_string(o.port);
  }

  RunResult Run(int64_t t0, int64_t measure_start, int64_t end) {
    measure_start_ = measure_start;
    end_ = end;
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    for (size_t i = 0; i < conns_.size(); ++i) Open(i, t0);
    bool open_loop = o_.rate > 0;
    // This thread's share of the schedule: every T-th slot of the global one.
    double interval = open_loop ? 1e9 * o_.threads / o_.rate : 0;
    double offset = open_loop ? 1e9 * index_ / o_.rate : 0;
    uint64_t slot = 0;
    int64_t next_due = open_loop ? t0 + static_cast<int64_t>(offset) : 0;
    std::deque<int64_t> due;  // open loop: due times not yet sent
    epoll_event events[256];
    int64_t last_sweep = t0;
    while (true) {
      int64_t now = SteadyNanos();
      if (now >= end) break;
      if (open_loop) {
        while (next_due <= now) {
          due.push_back(next_due);
          ++slot;
          next_due = t0 + static_cast<int64_t>(offset + interval * static_cast<double>(slot));
        }
        while (!due.empty() && !idle_.empty()) {
          size_t c = idle_.back();
          idle_.pop_back();
          Send(c, due.front(), now);
          due.pop_front();
        }
      } else {
        while (!idle_.empty()) {
          size_t c = idle_.back();
          idle_.pop_back();
          Send(c, now, now);
        }
      }
      if (now - last_sweep > 10'000'000) {
        last_sweep = now;
        Sweep(now);
      }
      int64_t wait = std::min<int64_t>(end - now, 10'000'000);
      if (open_loop) wait = std::min(wait, std::max<int64_t>(next_due - now, 0));
      timespec ts{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
      int n = epoll_pwait2(ep_, events, 256, &ts, nullptr);
      for (int i = 0; i < n; ++i) Event(events[i].data.u64, events[i].events);
    }
    for (auto& c : conns_) {
      if (c.busy) ++r_.unfinished;
      if (c.fd >= 0) close(c.fd);
    }
    for (int64_t d : due) {
      if (d < end) ++r_.unfinished;
    }
    close(ep_);
    return std::move(r_);
  }

 private:
  bool InWindow(int64_t t) const { return t >= measure_start_ && t < end_; }

  void Open(size_t i, int64_t now) {
    Conn& c = conns_[i];
    c = Conn{};
    c.fd = socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), addrlen_);
    if (rc != 0 && errno != EINPROGRESS) {
      Fail(i, now, /*connect_error=*/true);
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = i;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    idle_.push_back(i);
  }

  void CountError(uint64_t Errors::*field, int64_t now) {
    if (InWindow(now)) ++(r_.errors.*field);
    sh_.errors[static_cast<size_t>(index_)].fetch_add(1, std::memory_order_relaxed);
  }

  // Drops connection i (and the request on it, as an error) and opens a new one.
  void Fail(size_t i, int64_t now, bool connect_error) {
    Conn& c = conns_[i];
    if (connect_error || !c.connected)
      CountError(&Errors::connect, now);
    else if (c.busy)
      CountError(&Errors::io, now);
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
    c.busy = false;
    std::erase(idle_, i);
    if (connect_error || !c.connected) {
      // Back off before trying again; Sweep() reopens it.
      c.retry_at = now + 100'000'000;
      return;
    }
    Open(i, now);
  }

  void Sweep(int64_t now) {
    int64_t timeout = static_cast<int64_t>(o_.timeout_s * 1e9);
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      if (c.fd < 0) {
        if (now >= c.retry_at) Open(i, now);
      } else if (c.busy && now - c.sent_at > timeout) {
        CountError(&Errors::timeout, now);
        c.busy = false;
        close(c.fd);
        c.fd = -1;
        Open(i, now);
      }
    }
  }

  void Send(size_t i, int64_t start, int64_t now) {
    Conn& c = conns_[i];
    std::string body;
    if (w_.get_path.empty()) {
      body = gen_.Next(&c.is_write);
      c.out = "POST " + o_.path + " HTTP/1.1\r\nHost: " + host_header_ + "\r\n" + o_.extra_headers +
              "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
      c.out += body;
    } else {
      c.is_write = false;
      c.out =
          "GET " + w_.get_path + " HTTP/1.1\r\nHost: " + host_header_ + "\r\n" + o_.extra_headers + "\r\n";
    }
    c.out_off = 0;
    c.busy = true;
    c.start = start;
    c.sent_at = now;
    Flush(i, now);
  }

  void Flush(size_t i, int64_t now) {
    Conn& c = conns_[i];
    while (c.out_off < c.out.size()) {
      ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // EPOLLOUT finishes it
      if (n < 0 && errno == EINTR) continue;
      Fail(i, now, false);
      return;
    }
  }

  void Event(uint64_t i, uint32_t ev) {
    Conn& c = conns_[i];
    if (c.fd < 0) return;
    int64_t now = SteadyNanos();
    if (ev & EPOLLOUT) {
      if (!c.connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          Fail(i, now, true);
          return;
        }
        c.connected = true;
      }
      if (c.busy) Flush(i, now);
      if (c.fd < 0) return;
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      char buf[65536];
      while (true) {
        ssize_t n = recv(c.fd, buf, sizeof buf, 0);
        if (n > 0) {
          c.connected = true;
          c.in.append(buf, static_cast<size_t>(n));
          if (static_cast<size_t>(n) < sizeof buf) break;  // drained (edge-triggered)
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        // EOF or error: whatever is parsed below first, then the connection goes.
        Parse(i, now);
        if (c.fd >= 0) Fail(i, now, n < 0 && !c.connected);
        return;
      }
      Parse(i, now);
    }
  }

  void Parse(size_t i, int64_t now) {
    Conn& c = conns_[i];
    while (c.busy && !c.in.empty()) {
      HttpResponse r = ParseHttpResponse(c.in);
      if (r.state == HttpResponse::State::kIncomplete) return;
      if (r.state == HttpResponse::State::kError) {
        Fail(i, now, false);
        return;
      }
      c.busy = false;
      sh_.done[static_cast<size_t>(index_)].fetch_add(1, std::memory_order_relaxed);
      if (InWindow(now)) {
        r_.latency.Record(now - c.start);
        ++r_.requests;
        ++(c.is_write ? r_.writes : r_.reads);
      }
      bool error = true;
      if (r.status >= 500)
        CountError(&Errors::http_5xx, now);
      else if (r.status >= 400)
        CountError(&Errors::http_4xx, now);
      else if (int sc = BodyStatusCode(r.body); sc != -1 && sc != 200)
        CountError(&Errors::status_code, now);
      else
        error = false;
      (void)error;
      bool close_after = r.close;
      c.in.erase(0, r.consumed);
      if (close_after) {
        close(c.fd);
        c.fd = -1;
        Open(i, now);
        return;
      }
      idle_.push_back(i);
    }
  }

  const LoadOptions& o_;
  const Workload& w_;
  RequestGen gen_;
  int index_;
  std::vector<Conn> conns_;
  std::vector<size_t> idle_;
  sockaddr_storage addr_;
  socklen_t addrlen_;
  Shared& sh_;
  std::string host_header_;
  int ep_ = -1;
  int64_t measure_start_ = 0, end_ = 0;
  RunResult r_;
};

RunResult Finish(std::vector<RunResult>& parts, int64_t measure_start, int64_t end) {
  RunResult total;
  for (auto& p : parts) {
    total.latency.Merge(p.latency);
    total.requests += p.requests;
    total.reads += p.reads;
    total.writes += p.writes;
    total.unfinished += p.unfinished;
    total.errors.Add(p.errors);
  }
  total.seconds = static_cast<double>(end - measure_start) / 1e9;
  return total;
}

}  // namespace

// The run's clock: start in 1 ms, measure after the warm-up, end after the duration.
namespace {
struct Window {
  int64_t t0, measure_start, end;
};
Window RunWindow(const LoadOptions& o) {
  int64_t t0 = SteadyNanos() + 1'000'000;
  int64_t measure_start = t0 + static_cast<int64_t>(o.warmup_s * 1e9);
  return Window{t0, measure_start, measure_start + static_cast<int64_t>(o.duration_s * 1e9)};
}
}  // namespace

RunResult RunHttp(const LoadOptions& o, const Workload& w) {
  sockaddr_storage addr{};
  socklen_t addrlen = 0;
  RunResult bad;
  if (ResolveAddr(o.host, o.port, &addr, &addrlen) != 0) {
    bad.errors.connect = 1;
    return bad;
  }
  int threads = std::max(1, std::min(o.threads, o.connections));
  auto keys = MakeKeys(w);
  Shared sh(threads);
  std::vector<std::unique_ptr<HttpWorker>> workers;
  for (int t = 0; t < threads; ++t) {
    int n = o.connections / threads + (t < o.connections % threads ? 1 : 0);
    workers.push_back(std::make_unique<HttpWorker>(o, w, keys, t, n, addr, addrlen, sh));
  }
  const Window window = RunWindow(o);
  const int64_t t0 = window.t0, measure_start = window.measure_start, end = window.end;
  std::vector<RunResult> parts(static_cast<size_t>(threads));
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      parts[static_cast<size_t>(t)] = workers[static_cast<size_t>(t)]->Run(t0, measure_start, end);
    });
  }
  Coordinate(o, sh, t0, measure_start, end);
  for (auto& t : ts) t.join();
  return Finish(parts, measure_start, end);
}

RunResult RunInproc(Service& service, const LoadOptions& o, const Workload& w) {
  // One thread per client ("connection"); each calls Handle() directly.
  int threads = std::max(1, o.connections);
  auto keys = MakeKeys(w);
  Shared sh(threads);
  const Window window = RunWindow(o);
  const int64_t t0 = window.t0, measure_start = window.measure_start, end = window.end;
  std::vector<RunResult> parts(static_cast<size_t>(threads));
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      RunResult& r = parts[static_cast<size_t>(t)];
      RequestGen gen(w, keys, o.seed * 1000003 + static_cast<uint64_t>(t) + 1);
      bool open_loop = o.rate > 0;
      double interval = open_loop ? 1e9 * threads / o.rate : 0;
      double offset = open_loop ? 1e9 * t / o.rate : 0;
      uint64_t slot = 0;
      while (true) {
        int64_t now = SteadyNanos();
        if (now >= end) break;
        int64_t start = now;
        if (open_loop) {
          start = t0 + static_cast<int64_t>(offset + interval * static_cast<double>(slot++));
          if (start >= end) break;
          while ((now = SteadyNanos()) < start) {
            int64_t wait = start - now;
            if (wait > 200'000) std::this_thread::sleep_for(std::chrono::nanoseconds(wait - 100'000));
          }
        }
        bool is_write = false;
        std::string body = gen.Next(&is_write);
        Response resp = service.Handle(body);
        int64_t done = SteadyNanos();
        sh.done[static_cast<size_t>(t)].fetch_add(1, std::memory_order_relaxed);
        if (done >= measure_start && done < end) {
          r.latency.Record(done - start);
          ++r.requests;
          ++(is_write ? r.writes : r.reads);
          if (resp.status >= 500)
            ++r.errors.http_5xx;
          else if (resp.status >= 400)
            ++r.errors.http_4xx;
        }
        if (resp.status >= 400) sh.errors[static_cast<size_t>(t)].fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  Coordinate(o, sh, t0, measure_start, end);
  for (auto& t : ts) t.join();
  return Finish(parts, measure_start, end);
}

// ---------------------------------------------------------------- SimpleHttp

SimpleHttp::~SimpleHttp() {
  if (fd_ >= 0) close(fd_);
}

bool SimpleHttp::Connect(std::string* err) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (ResolveAddr(host_, port_, &addr, &len) != 0) {
    *err = "cannot resolve " + host_;
    return false;
  }
  fd_ = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{30, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    *err = "connect to " + host_ + ":" + std::to_string(port_) + ": " + std::strerror(errno);
    close(fd_);
    fd_ = -1;
    return false;
  }
  return true;
}

std::optional<std::pair<int, std::string>> SimpleHttp::Request(const std::string& method,
                                                               const std::string& path,
                                                               const std::string& body, std::string* err) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ < 0 && !Connect(err)) return std::nullopt;
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + host_ + "\r\n" + extra_headers_;
    if (method == "POST") {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n" + body;
    bool ok = true;
    for (size_t off = 0; off < req.size();) {
      ssize_t n = send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        ok = false;
        break;
      }
      off += static_cast<size_t>(n);
    }
    std::string in;
    while (ok) {
      HttpResponse r = ParseHttpResponse(in);
      if (r.state == HttpResponse::State::kComplete) {
        std::pair<int, std::string> out{r.status, std::string(r.body)};
        if (r.close) {
          close(fd_);
          fd_ = -1;
        }
        return out;
      }
      if (r.state == HttpResponse::State::kError) {
        *err = std::string(r.error);
        close(fd_);
        fd_ = -1;
        return std::nullopt;
      }
      char buf[65536];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        ok = false;
        *err = n == 0 ? "connection closed" : std::string("recv: ") + std::strerror(errno);
        break;
      }
      in.append(buf, static_cast<size_t>(n));
    }
    close(fd_);
    fd_ = -1;
    if (!in.empty()) return std::nullopt;  // a partial answer: do not resend
  }
  return std::nullopt;
}

}  // namespace rowcache::bench
