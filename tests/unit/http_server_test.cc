// The HTTP front door in process (src/http/server.h) over the embedded
// backends: routing, authentication, /healthz and /metrics, the framing
// bounds, and the command-line flags (src/exe/flags.h) the front doors read.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "cache/memory_cache.h"
#include "exe/flags.h"
#include "http/framing.h"
#include "http/server.h"
#include "rowcache/metrics.h"

namespace rowcache {
namespace {

constexpr const char* kToken = "unit-test-token-0123456789";

// One exchange on a new connection: the request's bytes, then everything the
// server sends until it closes or a whole response (by Content-Length) came.
std::string Exchange(uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
    auto head_end = got.find("\r\n\r\n");
    auto cl = got.find("Content-Length: ");
    if (head_end != std::string::npos && cl != std::string::npos && cl < head_end) {
      size_t len = std::stoul(got.substr(cl + 16));
      if (got.size() >= head_end + 4 + len) break;
    }
  }
  ::close(fd);
  return got;
}

int StatusOf(const std::string& response) {
  return response.size() > 12 ? std::stoi(response.substr(9, 3)) : 0;
}

std::string Post(const std::string& body, bool with_token = true) {
  return "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         std::string(with_token ? std::string("Authorization: Bearer ") + kToken + "\r\n" : "") +
         "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

std::string Get(const std::string& path, bool with_token = false) {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" +
         std::string(with_token ? std::string("Authorization: Bearer ") + kToken + "\r\n" : "") +
         "Connection: close\r\n\r\n";
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(OpenStore("sqlite::memory:").value());
    ASSERT_TRUE(store_->EnsureSchema().ok());
    cache_ = NewMemoryCache(1000);
    svc_ = std::make_unique<Service>(store_.get(), cache_.get(), ServiceOptions{}, &metrics_);
    ServerOptions o;
    o.port = 0;
    o.threads = 2;
    o.auth_token = kToken;
    o.max_body_bytes = 4096;
    server_ = std::make_unique<HttpServer>(*svc_, o);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    server_->Stop();
    server_->Wait(false);
  }
  uint16_t port() const { return server_->port(); }

  std::unique_ptr<Store> store_;
  std::unique_ptr<Cache> cache_;
  Metrics metrics_;
  std::unique_ptr<Service> svc_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, RoutesAndAuthentication) {
  std::string w = Exchange(
      port(),
      Post(R"({"REQUEST": "write", "SQLS": [{"hero":"a","power":"b","name":"c","xp":1,"color":"d"}]})"));
  EXPECT_EQ(StatusOf(w), 200) << w;
  EXPECT_NE(w.find(R"("write success")"), std::string::npos) << w;
  std::string r = Exchange(port(), Post(R"({"REQUEST": "read", "SQLS": [1]})"));
  EXPECT_NE(r.find(R"("hero": "a")"), std::string::npos) << r;
  // Without the token: 401 and nothing read; /healthz stays open; /metrics needs the token.
  std::string unauth = Exchange(port(), Post(R"({"REQUEST": "read", "SQLS": [1]})", false));
  EXPECT_EQ(StatusOf(unauth), 401) << unauth;
  EXPECT_NE(unauth.find("WWW-Authenticate: Bearer"), std::string::npos);
  EXPECT_EQ(unauth.find(R"("hero")"), std::string::npos);
  EXPECT_EQ(StatusOf(Exchange(port(), Get("/healthz"))), 200);
  EXPECT_EQ(StatusOf(Exchange(port(), Get("/metrics"))), 401);
  std::string m = Exchange(port(), Get("/metrics", true));
  EXPECT_EQ(StatusOf(m), 200);
  EXPECT_NE(m.find("rowcache_http_unauthorized_total 2"), std::string::npos) << m.substr(0, 400);
  // Wrong method, unknown path.
  std::string get_root = Exchange(port(), Get("/", true));
  EXPECT_EQ(StatusOf(get_root), 405);
  EXPECT_NE(get_root.find("Allow: POST"), std::string::npos);
  std::string nope = Exchange(port(), Get("/nope", true));
  EXPECT_EQ(StatusOf(nope), 404);
  EXPECT_NE(nope.find("no such path: /nope"), std::string::npos);
}

TEST_F(HttpServerTest, HealthzAnswersStatesOnly) {
  std::string h = Exchange(port(), Get("/healthz"));
  EXPECT_EQ(StatusOf(h), 200) << h;
  EXPECT_NE(h.find(R"({"status": "ok", "db": "ok", "cache": "ok"})"), std::string::npos) << h;
}

TEST_F(HttpServerTest, FramingBoundsBeforeAuthentication) {
  std::string big_header =
      "POST / HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(kMaxRequestHead, 'a') + "\r\n\r\n";
  EXPECT_EQ(StatusOf(Exchange(port(), big_header)), 431);
  std::string endless_ext = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=" +
                            std::string(2 * kMaxRequestHead, 'a');
  EXPECT_EQ(StatusOf(Exchange(port(), endless_ext)), 400);
  std::string trailer =
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n0\r\nX-T: " +
      std::string(2 * kMaxRequestHead, 'a');
  EXPECT_EQ(StatusOf(Exchange(port(), trailer)), 431);
  std::string body = Post(std::string(5000, ' '));
  EXPECT_EQ(StatusOf(Exchange(port(), body)), 413);
  std::string malformed = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n";
  EXPECT_EQ(StatusOf(Exchange(port(), malformed)), 400);
  EXPECT_EQ(server_->stats().heads_too_large.load(), 2u);
  EXPECT_EQ(server_->stats().bodies_too_large.load(), 1u);
  EXPECT_EQ(server_->stats().bad_requests.load(), 2u);
}

TEST(Flags, ParseValuesBooleansAndEnvironment) {
  auto f = Flags::Parse({"--db", "sqlite:x.db", "--ttl=30", "--near-cache", "pos"}, {"db", "ttl", "cache"},
                        {"near-cache"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->Get("db"), "sqlite:x.db");
  EXPECT_EQ(f->Get("ttl"), "30");
  EXPECT_TRUE(f->Bool("near-cache"));
  EXPECT_EQ(f->positional(), std::vector<std::string>{"pos"});
  setenv("ROWCACHE_FLAGS_TEST_CACHE", "memory://", 1);
  EXPECT_EQ(f->Get("cache", "ROWCACHE_FLAGS_TEST_CACHE", "none"), "memory://");
  EXPECT_EQ(f->Get("cache", nullptr, "none"), "none");
  unsetenv("ROWCACHE_FLAGS_TEST_CACHE");
  EXPECT_FALSE(Flags::Parse({"--unknown", "1"}, {"db"}, {}).ok());
  EXPECT_FALSE(Flags::Parse({"--db"}, {"db"}, {}).ok());
  EXPECT_FALSE(ParseIntFlag("ttl", "12x", 1, 100).ok());
  EXPECT_FALSE(ParseIntFlag("ttl", "0", 1, 100).ok());
  EXPECT_EQ(ParseIntFlag("ttl", "100", 1, 100).value(), 100);
}

}  // namespace
}  // namespace rowcache
