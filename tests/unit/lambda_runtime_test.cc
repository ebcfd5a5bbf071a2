// The Runtime API loop against a scripted in-test Runtime API: trace id
// propagation, deadlines, handler exceptions, and the documented error JSON.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lambda/runtime.h"
#include "support/listen.h"

namespace rowcache {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Seen {
  std::string method, path, body;
  std::map<std::string, std::string> headers;
};

// Serves one keep-alive connection: each GET .../next gets the next scripted
// invocation; every POST is recorded and answered 202.
class ScriptedRuntime {
 public:
  struct Event {
    std::string id, body, extra_headers;
  };
  explicit ScriptedRuntime(std::vector<Event> events) : events_(std::move(events)) {
    fd_ = testing::ListenLoopback(&port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedRuntime() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  std::string api() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<Seen> seen;  // read after the loop returned

 private:
  // Appends what the client sent next; false (and the connection closed) at its end.
  static bool RecvMore(int c, std::string* buf) {
    char tmp[4096];
    ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
    if (n <= 0) {
      ::close(c);
      return false;
    }
    buf->append(tmp, static_cast<size_t>(n));
    return true;
  }

  void Serve() {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    std::string buf;
    size_t next = 0;
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!RecvMore(c, &buf)) return;
      }
      Seen s;
      std::string head = buf.substr(0, end);
      size_t line_end = head.find("\r\n");
      std::string first = head.substr(0, line_end);
      s.method = first.substr(0, first.find(' '));
      s.path = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
      size_t pos = line_end + 2;
      while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        std::string h = head.substr(pos, e - pos);
        auto colon = h.find(':');
        std::string name = h.substr(0, colon);
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        s.headers[name] = h.substr(colon + 2);
        pos = e + 2;
      }
      size_t body_len = s.headers.count("content-length") ? std::stoul(s.headers["content-length"]) : 0;
      while (buf.size() < end + 4 + body_len) {
        if (!RecvMore(c, &buf)) return;
      }
      s.body = buf.substr(end + 4, body_len);
      buf.erase(0, end + 4 + body_len);
      std::string resp;
      if (s.method == "GET" && next < events_.size()) {
        const Event& ev = events_[next++];
        resp = "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: " + ev.id + "\r\n" + ev.extra_headers +
               "Content-Length: " + std::to_string(ev.body.size()) + "\r\n\r\n" + ev.body;
      } else {
        resp = "HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\": \"OK\"}";
      }
      seen.push_back(std::move(s));
      ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
    }
  }

  std::vector<Event> events_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(LambdaRuntime, TraceIdDeadlinesAndHandlerFailures) {
  std::string future = "Lambda-Runtime-Deadline-Ms: " + std::to_string(NowMs() + 10000) + "\r\n";
  std::string past = "Lambda-Runtime-Deadline-Ms: " + std::to_string(NowMs() - 1000) + "\r\n";
  ScriptedRuntime rt({
      {"r1", "trace", future + "Lambda-Runtime-Trace-Id: Root=1-abc;Sampled=1\r\n"},
      {"r2", "trace", past + "Lambda-Runtime-Trace-Id: Root=1-late\r\n"},
      {"r3", "throw", future},
      {"r4", "trace", future},
  });
  auto client = RuntimeClient::Open(rt.api());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  int handled = 0;
  auto handler = [&](const std::string& event) -> std::string {
    ++handled;
    if (event == "throw") throw std::runtime_error("boom: \"quoted\"");
    const char* t = std::getenv("_X_AMZN_TRACE_ID");
    return t ? std::string(t) : std::string("unset");
  };
  LoopOptions lo;
  lo.max_invocations = 4;
  Status s = RunInvocationLoop(*client, handler, lo);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(handled, 3) << "the invocation past its deadline must not run";

  std::map<std::string, Seen> posts;
  for (const Seen& v : rt.seen) {
    if (v.method == "POST") posts[v.path] = v;
    if (v.method == "GET") {
      EXPECT_EQ(v.path, "/2018-06-01/runtime/invocation/next");
    }
  }
  ASSERT_EQ(posts.size(), 4u);
  EXPECT_EQ(posts["/2018-06-01/runtime/invocation/r1/response"].body, "Root=1-abc;Sampled=1");
  const Seen& late = posts["/2018-06-01/runtime/invocation/r2/error"];
  EXPECT_EQ(late.headers.at("lambda-runtime-function-error-type"), "Runtime.DeadlineExceeded");
  EXPECT_NE(late.body.find("\"errorType\": \"Runtime.DeadlineExceeded\""), std::string::npos) << late.body;
  const Seen& thrown = posts["/2018-06-01/runtime/invocation/r3/error"];
  EXPECT_EQ(thrown.body,
            "{\"errorMessage\": \"boom: \\\"quoted\\\"\", \"errorType\": \"Runtime.HandlerException\", "
            "\"stackTrace\": []}");
  // No trace header on r4: the previous invocation's id must not linger.
  EXPECT_EQ(posts["/2018-06-01/runtime/invocation/r4/response"].body, "unset");
}

TEST(LambdaRuntime, UnreachableRuntimeApiEndsTheLoop) {
  auto client = RuntimeClient::Open("127.0.0.1:1");
  ASSERT_TRUE(client.ok());
  Status s = RunInvocationLoop(*client, [](const std::string&) { return std::string(); });
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(RuntimeClient::Open("no-port").ok());
}

}  // namespace
}  // namespace rowcache
