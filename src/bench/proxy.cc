#include "bench/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

namespace rowcache::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// One direction of a proxied connection: read from `from`, hold each chunk
// until its release time, write it to `to`, in order.
class Pipe : public std::enable_shared_from_this<Pipe> {
 public:
  Pipe(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to, std::chrono::microseconds delay)
      : from_(std::move(from)), to_(std::move(to)), delay_(delay), timer_(to_->get_executor()) {}

  void Start() { Read(); }

 private:
  struct Chunk {
    Clock::time_point release;
    std::string data;
  };

  void Read() {
    auto self = shared_from_this();
    from_->async_read_some(asio::buffer(buf_), [self](boost::system::error_code ec, size_t n) {
      if (ec) {
        self->eof_ = true;
        if (self->queue_.empty() && !self->writing_) self->Close();
        return;
      }
      self->queue_.push_back({Clock::now() + self->delay_, std::string(self->buf_.data(), n)});
      if (!self->writing_) self->WriteNext();
      self->Read();
    });
  }

  void WriteNext() {
    if (queue_.empty()) {
      writing_ = false;
      if (eof_) Close();
      return;
    }
    writing_ = true;
    auto self = shared_from_this();
    timer_.expires_at(queue_.front().release);
    timer_.async_wait([self](boost::system::error_code) {
      asio::async_write(*self->to_, asio::buffer(self->queue_.front().data),
                        [self](boost::system::error_code ec, size_t) {
                          self->queue_.pop_front();
                          if (ec) {
                            self->Close();
                            return;
                          }
                          self->WriteNext();
                        });
    });
  }

  void Close() {
    boost::system::error_code ec;
    // Pass the end of stream on; the other direction closes its own side.
    to_->shutdown(tcp::socket::shutdown_send, ec);
    from_->shutdown(tcp::socket::shutdown_receive, ec);
  }

  std::shared_ptr<tcp::socket> from_, to_;
  std::chrono::microseconds delay_;
  asio::steady_timer timer_;
  std::array<char, 65536> buf_;
  std::deque<Chunk> queue_;
  bool writing_ = false;
  bool eof_ = false;
};

void Accept(tcp::acceptor& acc, const tcp::endpoint& target, std::chrono::microseconds delay) {
  acc.async_accept([&acc, target, delay](boost::system::error_code ec, tcp::socket s) {
    if (!ec) {
      auto client = std::make_shared<tcp::socket>(std::move(s));
      auto server = std::make_shared<tcp::socket>(client->get_executor());
      server->async_connect(target, [client, server, delay](boost::system::error_code ec2) {
        if (ec2) {
          boost::system::error_code ignored;
          client->close(ignored);
          return;
        }
        client->set_option(tcp::no_delay(true));
        server->set_option(tcp::no_delay(true));
        std::make_shared<Pipe>(client, server, delay)->Start();
        std::make_shared<Pipe>(server, client, delay)->Start();
      });
    }
    Accept(acc, target, delay);
  });
}

}  // namespace

Status RunProxy(const ProxyOptions& o) {
  // The kernel may fire a timer up to the thread's timer slack late (50 us by
  // default), which would add up to 100 us to every emulated round trip.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  try {
    asio::io_context io;
    tcp::resolver resolver(io);
    auto targets = resolver.resolve(o.to_host, std::to_string(o.to_port));
    tcp::endpoint target = *targets.begin();
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address(o.listen_host), o.listen_port));
    std::printf("proxy listening on %s:%u -> %s:%u, +%lld us each way\n", o.listen_host.c_str(),
                acc.local_endpoint().port(), o.to_host.c_str(), o.to_port,
                static_cast<long long>(o.delay_us));
    std::fflush(stdout);
    Accept(acc, target, std::chrono::microseconds(o.delay_us));
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) { io.stop(); });
    std::vector<std::thread> extra;
    for (int i = 1; i < o.threads; ++i) extra.emplace_back([&] { io.run(); });
    io.run();
    for (auto& t : extra) t.join();
  } catch (const std::exception& e) {
    return Status::Unavailable(std::string("proxy: ") + e.what());
  }
  return Status::OK();
}

// ---------------------------------------------------------------- trivial server

namespace {

constexpr std::string_view kAnswer =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";

// Bytes of complete requests at the start of buf (head + Content-Length body); 0 if none.
size_t CompleteRequest(std::string_view buf) {
  size_t head_end = buf.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return 0;
  size_t length = 0;
  std::string_view head = buf.substr(0, head_end);
  for (size_t pos = 0; pos < head.size();) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = head.size();
    std::string_view line = head.substr(pos, eol - pos);
    if (line.size() > 15 && strncasecmp(line.data(), "content-length:", 15) == 0) {
      length = std::strtoull(std::string(line.substr(15)).c_str(), nullptr, 10);
    }
    pos = eol + 2;
  }
  if (buf.size() < head_end + 4 + length) return 0;
  return head_end + 4 + length;
}

void TrivialWorker(int listen_fd) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.fd = listen_fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  std::vector<std::string> inbuf(1024);
  epoll_event events[256];
  std::string out;
  while (true) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd) {
        int c = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) continue;
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (static_cast<size_t>(c) >= inbuf.size()) inbuf.resize(static_cast<size_t>(c) * 2);
        inbuf[static_cast<size_t>(c)].clear();
        epoll_event cev{};
        cev.events = EPOLLIN | EPOLLRDHUP;
        cev.data.fd = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        continue;
      }
      std::string& in = inbuf[static_cast<size_t>(fd)];
      char buf[65536];
      ssize_t r = recv(fd, buf, sizeof buf, 0);
      if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        in.clear();
        continue;
      }
      in.append(buf, static_cast<size_t>(r));
      out.clear();
      size_t used = 0;
      while (size_t k = CompleteRequest(std::string_view(in).substr(used))) {
        used += k;
        out += kAnswer;
      }
      in.erase(0, used);
      // Answers are tiny: a blocking-free send of a few hundred bytes fits the socket buffer.
      if (!out.empty()) send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    }
  }
  close(ep);
}

}  // namespace

Status RunTrivialServer(const std::string& host, uint16_t port, int threads) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    return Status::InvalidArgument("--listen: bad IPv4 address " + host);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 1024) != 0) {
    return Status::Unavailable(std::string("trivial server: bind/listen: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("trivial server listening on %s:%u\n", host.c_str(), ntohs(addr.sin_port));
  std::fflush(stdout);
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i) ts.emplace_back(TrivialWorker, fd);
  for (auto& t : ts) t.join();  // until the process is signalled
  return Status::OK();
}

}  // namespace rowcache::bench
