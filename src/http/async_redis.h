// AsyncRedisReader: cache lookups (MGET) for the HTTP server's read fast
// path, on the I/O thread's own io_context, without blocking it. One
// connection per I/O thread; every MGET queued while a write is in flight
// goes out in the next write, and replies are matched in order, so under
// load one write and one read carry many requests' lookups (pipelining).
//
// Only reads go this way, and only plain TCP (redis://host:port, database 0,
// no password); anything else, and every failure, makes the caller take the
// normal blocking path, which has the timeouts and the circuit breaker.
// After a failure the reader stays off for a second.
#pragma once

#include <boost/asio.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rowcache/status.h"

struct redisReader;

namespace rowcache {

using Entries = std::vector<std::optional<std::string>>;

class AsyncRedisReader {
 public:
  // cache_url: the service's --cache. nullptr when it is not plain redis://
  // without a password on database 0.
  static bool Supports(const std::string& cache_url);
  static std::unique_ptr<AsyncRedisReader> Create(boost::asio::io_context& ioc, const std::string& cache_url,
                                                  std::chrono::milliseconds timeout);
  AsyncRedisReader(boost::asio::io_context& ioc, std::string host, int port, std::chrono::milliseconds timeout);
  ~AsyncRedisReader();

  // Whether to try it now (false for a second after a failure).
  bool Usable() const;

  // When the oldest lookup still waiting for its reply was sent (steady-clock
  // ns, as the server's clock), or 0 if none is waiting.
  int64_t OldestLookupNanos() const;

  // Looks keys up; completes on the io_context's thread with the values in
  // order, or an error (then the caller takes the normal path).
  template <class Token>
  auto MGet(std::vector<std::string> keys, Token&& token) {
    return boost::asio::async_initiate<Token, void(Result<Entries>)>(
        [this](auto handler, std::vector<std::string> k) {
          struct H final : Done {
            explicit H(decltype(handler)&& h) : h(std::move(h)) {}
            void operator()(Result<Entries> r) override { h(std::move(r)); }
            decltype(handler) h;
          };
          Enqueue(std::move(k), std::make_unique<H>(std::move(handler)));
        },
        token, std::move(keys));
  }

 private:
  struct Done {
    virtual ~Done() = default;
    virtual void operator()(Result<Entries> r) = 0;
  };
  struct Pending {
    std::unique_ptr<Done> done;
    std::chrono::steady_clock::time_point deadline;
    size_t nkeys;
  };

  void Enqueue(std::vector<std::string> keys, std::unique_ptr<Done> done);
  void Connect();
  void Flush();
  void ReadMore();
  void ArmTimer();
  void Fail(const std::string& why);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::endpoint endpoint_;
  bool resolved_ = false;
  std::string host_;
  int port_;
  std::chrono::milliseconds timeout_;
  boost::asio::ip::tcp::socket sock_;
  boost::asio::steady_timer timer_;
  enum class State { kClosed, kConnecting, kOpen } state_ = State::kClosed;
  bool writing_ = false;
  int waits_ = 0;  // timer waits outstanding
  std::string out_;      // commands not yet written
  std::string writing_buf_;
  std::vector<char> in_;
  redisReader* reader_ = nullptr;
  std::deque<Pending> pending_;
  std::chrono::steady_clock::time_point off_until_{};
  // Incremented on every (re)connect so completions of an old socket are ignored.
  uint64_t generation_ = 0;
};

}  // namespace rowcache
