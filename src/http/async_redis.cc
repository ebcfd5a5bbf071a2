#include "http/async_redis.h"

#include <hiredis/hiredis.h>

#include "cache/resp.h"
#include "rowcache/url.h"

namespace rowcache {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

bool AsyncRedisReader::Supports(const std::string& cache_url) {
  auto u = ParseUrl(cache_url);
  return u.ok() && u->scheme == "redis" && u->password.empty() && u->user.empty() && !u->host.empty() &&
         (u->path.empty() || u->path == "0");
}

std::unique_ptr<AsyncRedisReader> AsyncRedisReader::Create(asio::io_context& ioc, const std::string& cache_url,
                                                           std::chrono::milliseconds timeout) {
  if (!Supports(cache_url)) return nullptr;
  auto u = ParseUrl(cache_url);
  return std::make_unique<AsyncRedisReader>(ioc, u->host, u->port ? u->port : 6379, timeout);
}

AsyncRedisReader::AsyncRedisReader(asio::io_context& ioc, std::string host, int port,
                                   std::chrono::milliseconds timeout)
    : ioc_(ioc), host_(std::move(host)), port_(port), timeout_(timeout), sock_(ioc), timer_(ioc), in_(16384) {
  reader_ = redisReaderCreate();
}

AsyncRedisReader::~AsyncRedisReader() {
  if (reader_) redisReaderFree(reader_);
}

bool AsyncRedisReader::Usable() const { return std::chrono::steady_clock::now() >= off_until_; }

int64_t AsyncRedisReader::OldestLookupNanos() const {
  if (pending_.empty()) return 0;
  auto sent = pending_.front().deadline - timeout_;  // deadlines are set as send time + timeout_
  return std::chrono::duration_cast<std::chrono::nanoseconds>(sent.time_since_epoch()).count();
}

void AsyncRedisReader::Enqueue(std::vector<std::string> keys, std::unique_ptr<Done> done) {
  if (!Usable()) {
    asio::post(ioc_, [d = std::shared_ptr<Done>(std::move(done))] {
      (*d)(Status::Unavailable("cache fast path off after a failure"));
    });
    return;
  }
  AppendMGet(out_, keys);
  pending_.push_back(Pending{std::move(done), std::chrono::steady_clock::now() + timeout_, keys.size()});
  ArmTimer();
  if (state_ == State::kClosed) {
    Connect();
  } else if (state_ == State::kOpen) {
    // With nothing else in the pipeline, write at once (the latency of a
    // lone lookup). Otherwise write after the handlers that are ready now
    // have run, so that their lookups share this write.
    if (!writing_ && pending_.size() == 1) {
      Flush();
    } else if (!writing_) {
      writing_ = true;
      asio::post(ioc_, [this, g = generation_] {
        if (g != generation_) return;
        writing_ = false;
        Flush();
      });
    }
  }
}

void AsyncRedisReader::Connect() {
  state_ = State::kConnecting;
  uint64_t g = ++generation_;
  if (!resolved_) {
    boost::system::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(host_, std::to_string(port_), ec);
    if (ec || results.empty()) {
      Fail("cannot resolve " + host_);
      return;
    }
    endpoint_ = *results.begin();
    resolved_ = true;
  }
  sock_.async_connect(endpoint_, [this, g](const boost::system::error_code& ec) {
    if (g != generation_) return;
    if (ec) {
      Fail("connect: " + ec.message());
      return;
    }
    boost::system::error_code ignored;
    sock_.set_option(tcp::no_delay(true), ignored);
    state_ = State::kOpen;
    ReadMore();
    Flush();
  });
}

void AsyncRedisReader::Flush() {
  if (state_ != State::kOpen || writing_ || out_.empty()) return;
  writing_ = true;
  writing_buf_.swap(out_);
  out_.clear();
  asio::async_write(sock_, asio::buffer(writing_buf_),
                    [this, g = generation_](const boost::system::error_code& ec, size_t) {
                      if (g != generation_) return;
                      writing_ = false;
                      writing_buf_.clear();
                      if (ec) {
                        Fail("write: " + ec.message());
                        return;
                      }
                      Flush();
                    });
}

void AsyncRedisReader::ReadMore() {
  sock_.async_read_some(asio::buffer(in_), [this, g = generation_](const boost::system::error_code& ec, size_t n) {
    if (g != generation_) return;
    if (ec) {
      Fail("read: " + ec.message());
      return;
    }
    if (redisReaderFeed(reader_, in_.data(), n) != REDIS_OK) {
      Fail("protocol error");
      return;
    }
    for (;;) {
      void* r = nullptr;
      if (redisReaderGetReply(reader_, &r) != REDIS_OK) {
        Fail("protocol error");
        return;
      }
      if (!r) break;
      auto* reply = static_cast<redisReply*>(r);
      if (pending_.empty()) {
        freeReplyObject(reply);
        Fail("unexpected reply");
        return;
      }
      Pending p = std::move(pending_.front());
      pending_.pop_front();
      Entries entries;
      Result<Entries> result = Status::Unavailable("cache: unexpected reply to MGET");
      if (MGetValues(reply, p.nkeys, &entries)) result = std::move(entries);
      freeReplyObject(reply);
      (*p.done)(std::move(result));
      if (g != generation_) return;  // the handler failed or reset the connection
    }
    ReadMore();
  });
}

// One timer for the oldest lookup; when it fires, either that lookup is
// overdue (the connection is failed) or it was answered, and the timer is
// set for the new oldest. No timer syscall per lookup. At most one wait is
// outstanding (waits_ counts them, cancelled ones included); it is not tied
// to a connection: whichever is current, the oldest deadline is what counts.
void AsyncRedisReader::ArmTimer() {
  if (pending_.empty() || waits_ > 0) return;
  ++waits_;
  timer_.expires_at(pending_.front().deadline);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    --waits_;
    if (!ec && !pending_.empty() && pending_.front().deadline <= std::chrono::steady_clock::now()) {
      Fail("timed out");
      return;
    }
    ArmTimer();
  });
}

void AsyncRedisReader::Fail(const std::string& why) {
  ++generation_;
  boost::system::error_code ignored;
  sock_.close(ignored);
  sock_ = tcp::socket(ioc_);
  timer_.cancel();
  state_ = State::kClosed;
  writing_ = false;
  out_.clear();
  writing_buf_.clear();
  redisReaderFree(reader_);
  reader_ = redisReaderCreate();
  off_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  std::deque<Pending> failed;
  failed.swap(pending_);
  for (auto& p : failed) (*p.done)(Status::Unavailable("cache fast path: " + why));
}

}  // namespace rowcache
