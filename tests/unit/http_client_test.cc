// HttpClient's one parse loop against canned responses from an in-test
// server: bodies by Content-Length, chunked and delimited by the end of the
// connection; streamed to a sink or collected (bounded); error documents
// collected even with a sink; a sink that refuses stops the transfer; a
// stalled body fails instead of hanging.
#include "net/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/listen.h"

namespace rowcache {
namespace {

// Accepts one connection, reads one request head, writes `parts` (with a
// short pause between them, so that they arrive as separate reads), then
// holds the connection open for `hold` and closes it.
class CannedServer {
 public:
  explicit CannedServer(std::vector<std::string> parts, std::chrono::milliseconds hold = {})
      : parts_(std::move(parts)), hold_(hold) {
    fd_ = testing::ListenLoopback(&port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  std::string request;  // read after the client returned

 private:
  void Serve() {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    char tmp[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) break;
      request.append(tmp, static_cast<size_t>(n));
    }
    for (const auto& p : parts_) {
      ::send(c, p.data(), p.size(), MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(hold_);
    ::close(c);
  }

  std::vector<std::string> parts_;
  std::chrono::milliseconds hold_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

Deadline In(int ms) { return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms); }

struct Collected {
  std::vector<std::string> pieces;
  BodySink sink;
  std::string All() const {
    std::string s;
    for (const auto& p : pieces) s += p;
    return s;
  }
  Collected() {
    sink.on_body = [this](std::string_view p) {
      pieces.emplace_back(p);
      return Status::OK();
    };
  }
};

TEST(HttpClient, ContentLengthBodyCollectedAndHeadersLowerCased) {
  CannedServer srv({"HTTP/1.1 200 OK\r\nX-Thing: a b\r\nContent-Length: 11\r\n\r\nhello", " world"});
  HttpClient client("127.0.0.1", srv.port());
  HttpRequest req;
  req.method = "POST";
  req.target = "/path?q=1";
  req.body = "payload";
  auto r = client.Do(req, In(5000));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
  EXPECT_EQ(r->Header("x-thing"), "a b");
  EXPECT_NE(srv.request.find("POST /path?q=1 HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(srv.request.find("Content-Length: 7\r\n"), std::string::npos);
}

TEST(HttpClient, ChunkedBodyStreamsToTheSinkInOrder) {
  std::string big(40000, 'x');  // over one parse buffer: several pieces
  CannedServer srv({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n",
                    "9c40\r\n" + big + "\r\n", "4\r\nlast\r\n0\r\n\r\n"});
  HttpClient client("127.0.0.1", srv.port());
  Collected c;
  auto r = client.Do(HttpRequest{}, In(5000), &c.sink);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty()) << "a streamed body is not also collected";
  EXPECT_EQ(c.All(), "first" + big + "last");
  EXPECT_GE(c.pieces.size(), 4u);
}

TEST(HttpClient, BodyDelimitedByTheEndOfTheConnection) {
  CannedServer srv({"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil ", "the end"});
  HttpClient client("127.0.0.1", srv.port());
  auto r = client.Do(HttpRequest{}, In(5000));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "until the end");
}

TEST(HttpClient, ErrorDocumentIsCollectedEvenWithASink) {
  CannedServer srv({"HTTP/1.1 404 Not Found\r\nContent-Length: 20\r\n\r\n<Code>NoSuchKey</Code>"});
  HttpClient client("127.0.0.1", srv.port());
  Collected c;
  auto r = client.Do(HttpRequest{}, In(5000), &c.sink);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "<Code>NoSuchKey</Cod");
  EXPECT_TRUE(c.pieces.empty());
}

TEST(HttpClient, CollectedBodyOverTheLimitFails) {
  CannedServer srv({"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'y')});
  HttpClient client("127.0.0.1", srv.port(), TlsOptions{}, /*max_body_bytes=*/64);
  auto r = client.Do(HttpRequest{}, In(5000));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("over 64 bytes"), std::string::npos) << r.status().message();
}

TEST(HttpClient, ASinkThatRefusesStopsTheTransfer) {
  CannedServer srv({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "defghij"});
  HttpClient client("127.0.0.1", srv.port());
  int calls = 0;
  BodySink sink;
  sink.on_body = [&](std::string_view) {
    ++calls;
    return Status::Unavailable("stop here");
  };
  auto r = client.Do(HttpRequest{}, In(5000), &sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "stop here");
  EXPECT_EQ(calls, 1);
}

TEST(HttpClient, AStalledBodyFailsAfterTheStallTimeout) {
  CannedServer srv({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"}, std::chrono::milliseconds(1000));
  HttpClient client("127.0.0.1", srv.port());
  Collected c;
  c.sink.stall_timeout = std::chrono::milliseconds(200);
  auto r = client.Do(HttpRequest{}, In(60000), &c.sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(c.All(), "abc");
}

TEST(HttpClient, ATruncatedBodyIsAnError) {
  CannedServer srv({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"});
  HttpClient client("127.0.0.1", srv.port());
  auto r = client.Do(HttpRequest{}, In(5000));
  ASSERT_FALSE(r.ok());
}

}  // namespace
}  // namespace rowcache
