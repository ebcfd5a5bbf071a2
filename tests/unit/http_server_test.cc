// The HTTP front door in process (src/http/server.h) over the embedded
// backends: routing, authentication, /healthz and /metrics, the framing
// bounds, and the command-line flags (src/exe/flags.h) the front doors read.
// The router (src/http/router.h) and the bearer check (src/http/auth.h) also
// as plain functions against a fake service, and the /metrics page.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "cache/memory_cache.h"
#include "exe/flags.h"
#include "http/auth.h"
#include "http/framing.h"
#include "http/metrics_page.h"
#include "http/router.h"
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

// A fake service behind the router: records what it was asked.
struct FakeBackend {
  int handled = 0;
  std::string last_body;
  const Request* last_parsed = nullptr;
  std::vector<std::string> logged;
  Response answer{200, R"({"statusCode": 200, "body": "fake"})", "", ""};
  Router router{Router::Backend{[this](std::string_view body, const Request* parsed) {
                                  ++handled;
                                  last_body = std::string(body);
                                  last_parsed = parsed;
                                  return answer;
                                },
                                [] {
                                  return HealthAnswer{503, R"({"status": "degraded"})"};
                                },
                                [] { return std::string("fake_metric 1\n"); },
                                [this](const std::string& line) { logged.push_back(line); }}};
};

HttpRequest MakeRequest(boost::beast::http::verb method, const std::string& target, std::string body = "",
                        const char* authorization = nullptr) {
  HttpRequest req{method, target, 11};
  req.body() = std::move(body);
  if (authorization) req.set(boost::beast::http::field::authorization, authorization);
  return req;
}

using Verb = boost::beast::http::verb;
using Field = boost::beast::http::field;

TEST(Router, PostGoesToTheServiceOrTakesTheFastAnswer) {
  FakeBackend f;
  HttpResponse r = f.router.Respond(MakeRequest(Verb::post, "/", R"({"REQUEST": "read"})"));
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_EQ(r.body(), R"({"statusCode": 200, "body": "fake"})");
  EXPECT_EQ(r[Field::content_type], "application/json");
  EXPECT_EQ(r[Field::server], "rowcache");
  EXPECT_EQ(f.handled, 1);
  EXPECT_EQ(f.last_body, R"({"REQUEST": "read"})");
  EXPECT_EQ(f.last_parsed, nullptr);
  // A parsed request is handed on as it is.
  Request parsed;
  f.router.Respond(MakeRequest(Verb::post, "/?x=1", "{}"), std::nullopt, true, &parsed);
  EXPECT_EQ(f.handled, 2);
  EXPECT_EQ(f.last_parsed, &parsed);
  // The fast path's answer: the service is not called; its status is the HTTP status.
  r = f.router.Respond(MakeRequest(Verb::post, "/", "{}"), Response{404, "fast", "", ""});
  EXPECT_EQ(r.result_int(), 404u);
  EXPECT_EQ(r.body(), "fast");
  EXPECT_EQ(f.handled, 2);
  EXPECT_TRUE(f.logged.empty());
}

TEST(Router, AFiveHundredsDetailsGoToTheLog) {
  FakeBackend f;
  f.answer = Response{503, R"({"statusCode": 503})", "abc123", "the database said no"};
  HttpResponse r = f.router.Respond(MakeRequest(Verb::post, "/", "{}"));
  EXPECT_EQ(r.result_int(), 503u);
  ASSERT_EQ(f.logged.size(), 1u);
  EXPECT_EQ(f.logged[0], ErrorLogLine(f.answer));
  EXPECT_NE(f.logged[0].find("the database said no"), std::string::npos) << f.logged[0];
  EXPECT_EQ(r.body().find("the database said no"), std::string::npos) << r.body();
}

TEST(Router, HealthzMetricsMethodsAndUnknownPaths) {
  FakeBackend f;
  HttpResponse h = f.router.Respond(MakeRequest(Verb::get, "/healthz"));
  EXPECT_EQ(h.result_int(), 503u);
  EXPECT_EQ(h.body(), R"({"status": "degraded"})");
  HttpResponse m = f.router.Respond(MakeRequest(Verb::get, "/metrics?x=y"));
  EXPECT_EQ(m.result_int(), 200u);
  EXPECT_EQ(m.body(), "fake_metric 1\n");
  EXPECT_EQ(m[Field::content_type], "text/plain; version=0.0.4");
  HttpResponse get_root = f.router.Respond(MakeRequest(Verb::get, "/"));
  EXPECT_EQ(get_root.result_int(), 405u);
  EXPECT_EQ(get_root[Field::allow], "POST");
  EXPECT_NE(get_root.body().find("GET is not allowed on / (allowed: POST)"), std::string::npos);
  HttpResponse post_health = f.router.Respond(MakeRequest(Verb::post, "/healthz"));
  EXPECT_EQ(post_health.result_int(), 405u);
  EXPECT_EQ(post_health[Field::allow], "GET");
  EXPECT_EQ(f.router.Respond(MakeRequest(Verb::put, "/metrics")).result_int(), 405u);
  HttpResponse nope = f.router.Respond(MakeRequest(Verb::get, "/nope?q=1"));
  EXPECT_EQ(nope.result_int(), 404u);
  EXPECT_NE(nope.body().find("no such path: /nope (POST / for requests"), std::string::npos) << nope.body();
  HttpResponse long_path = f.router.Respond(MakeRequest(Verb::get, "/" + std::string(300, 'a')));
  EXPECT_EQ(long_path.body().find(std::string(101, 'a')), std::string::npos);  // at most 100 bytes of it
  EXPECT_EQ(f.handled, 0);
}

TEST(Router, UnauthorizedIs401WithoutCallingTheService) {
  FakeBackend f;
  HttpResponse none = f.router.Respond(MakeRequest(Verb::post, "/", "{}"), std::nullopt, false);
  EXPECT_EQ(none.result_int(), 401u);
  EXPECT_EQ(none[Field::www_authenticate], "Bearer");
  EXPECT_NE(none.body().find("authentication required"), std::string::npos) << none.body();
  HttpResponse wrong = f.router.Respond(MakeRequest(Verb::post, "/", "{}", "Bearer nope"),
                                        Response{200, "fast", "", ""}, false);
  EXPECT_EQ(wrong.result_int(), 401u);
  EXPECT_NE(wrong.body().find("the bearer token is not valid"), std::string::npos) << wrong.body();
  EXPECT_EQ(f.handled, 0);
}

TEST(BearerAuth, TokenOnRootAndMetricsOnly) {
  BearerAuth none;
  EXPECT_FALSE(none.enabled());
  EXPECT_TRUE(none.Allows("/", std::nullopt));
  std::string token = kToken;
  BearerAuth auth(&token, /*metrics_public=*/false);
  EXPECT_TRUE(auth.enabled());
  EXPECT_TRUE(token.empty());  // wiped once its digest is taken
  std::string good = std::string("Bearer ") + kToken;
  EXPECT_TRUE(auth.Allows("/", good));
  EXPECT_TRUE(auth.Allows("/", std::string("bEaReR   ") + kToken + " \t"));
  EXPECT_FALSE(auth.Allows("/", std::nullopt));
  EXPECT_FALSE(auth.Allows("/", "Bearer "));
  EXPECT_FALSE(auth.Allows("/", std::string("Basic ") + kToken));
  EXPECT_FALSE(auth.Allows("/", std::string("Bearer ") + kToken + "x"));
  EXPECT_FALSE(auth.Allows("/metrics", std::nullopt));
  EXPECT_TRUE(auth.Allows("/metrics", good));
  EXPECT_TRUE(auth.Allows("/healthz", std::nullopt));
  EXPECT_TRUE(auth.Allows("/nope", std::nullopt));
  std::string token2 = kToken;
  BearerAuth public_metrics(&token2, /*metrics_public=*/true);
  EXPECT_TRUE(public_metrics.Allows("/metrics", std::nullopt));
  EXPECT_FALSE(public_metrics.Allows("/", std::nullopt));
  std::string empty;
  EXPECT_FALSE(BearerAuth(&empty, false).enabled());
}

TEST(MetricsPage, CoreServerCacheAndNearCacheInOnePage) {
  Metrics core;
  core.cache_hits = 7;
  ServerStats stats;
  stats.responses_4xx = 3;
  stats.connections_open = 2;
  std::string page = RenderMetricsPage(core, stats, 99, nullptr, nullptr);
  EXPECT_EQ(page.rfind(core.Render(), 0), 0u);  // the core's metrics first, as they render alone
  EXPECT_NE(page.find("rowcache_cache_hits_total 7\n"), std::string::npos);
  EXPECT_NE(page.find("# HELP rowcache_http_responses_total HTTP responses by status class.\n"
                      "# TYPE rowcache_http_responses_total counter\n"
                      "rowcache_http_responses_total{class=\"2xx\"} 0\n"
                      "rowcache_http_responses_total{class=\"4xx\"} 3\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("# TYPE rowcache_http_connections_open gauge\nrowcache_http_connections_open 2\n"),
            std::string::npos);
  EXPECT_NE(page.find("rowcache_http_max_connections 99\n"), std::string::npos);
  EXPECT_EQ(page.find("rowcache_cache_degraded"), std::string::npos);  // no cache
  EXPECT_EQ(page.find("rowcache_near_cache_"), std::string::npos);     // no near cache
  auto cache = NewMemoryCache(10);
  NearCache near(NearCacheOptions{});
  std::string full = RenderMetricsPage(core, stats, 99, cache.get(), &near);
  EXPECT_NE(full.find("# TYPE rowcache_cache_degraded gauge\nrowcache_cache_degraded 0\n"),
            std::string::npos);
  EXPECT_NE(full.find("rowcache_near_cache_serving 0\n"), std::string::npos);
  EXPECT_NE(full.find("rowcache_near_cache_bytes 0\n"), std::string::npos);
}

TEST(MetricsPage, HistogramText) {
  Metrics core;
  core.CountRequest(RequestKind::kRead, Outcome::kOk, 300'000);  // 0.3 ms
  std::string text = core.Render();
  EXPECT_NE(text.find("rowcache_request_duration_seconds_bucket{kind=\"read\",le=\"0.00025\"} 0\n"
                      "rowcache_request_duration_seconds_bucket{kind=\"read\",le=\"0.0005\"} 1\n"),
            std::string::npos)
      << text.substr(0, 2000);
  EXPECT_NE(text.find("rowcache_request_duration_seconds_bucket{kind=\"read\",le=\"+Inf\"} 1\n"
                      "rowcache_request_duration_seconds_sum{kind=\"read\"} 0.0003\n"
                      "rowcache_request_duration_seconds_count{kind=\"read\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("rowcache_requests_total{kind=\"read\",outcome=\"ok\"} 1\n"), std::string::npos);
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
