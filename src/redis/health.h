// What went wrong talking to Redis, counted by class, and whether the cache
// is healthy now: the source of /healthz's cache state and of the
// rowcache_cache_errors_by_class_total metric.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace rowcache::redis {

enum class ErrorClass : int {
  kTimeout,      // no answer within the cache timeout
  kConnection,   // refused, reset, closed, name resolution
  kTls,          // TLS handshake or certificate verification
  kAuth,         // NOAUTH, WRONGPASS, NOPERM, or SELECT refused
  kCrossSlot,    // CROSSSLOT: a multi-key command spanning slots
  kRedirect,     // MOVED/ASK still unresolved after a retry, or TRYAGAIN
  kClusterDown,  // CLUSTERDOWN, or no node serves a slot
  kReadOnly,     // READONLY / MASTERDOWN: a replica or a master without its link
  kLoading,      // LOADING: the server is loading its data set
  kProtocol,     // a reply that does not parse or has the wrong shape
  kReplyBounds,  // a reply past the bounds of resp.h (a 2 GiB bulk string, ...): the connection is dropped
  kOther,        // any other error reply
  kCount
};

const char* ErrorClassName(ErrorClass c);
// The class of an error reply's text ("MOVED 3999 127.0.0.1:6381", ...).
ErrorClass ClassifyReplyError(std::string_view error);
// The class of a transport failure's message (see net/transport.h).
ErrorClass ClassifyTransportError(std::string_view message);

// Thread-safe. Calls are counted in one-second buckets over the last
// kWindowSeconds; degraded means a call failed within that window.
class Health {
 public:
  static constexpr int kWindowSeconds = 10;
  void Success(int64_t now_nanos);
  void Failure(ErrorClass c, int64_t now_nanos);

  struct Snapshot {
    bool degraded = false;
    std::string last_error_class;  // "" if none ever
    uint64_t window_calls = 0, window_failures = 0;
    std::array<uint64_t, static_cast<size_t>(ErrorClass::kCount)> totals{};
  };
  Snapshot Get(int64_t now_nanos) const;

 private:
  struct Bucket {
    std::atomic<int64_t> second{-1};
    std::atomic<uint64_t> calls{0}, failures{0};
  };
  Bucket& BucketFor(int64_t second);
  std::array<Bucket, kWindowSeconds> buckets_;
  std::array<std::atomic<uint64_t>, static_cast<size_t>(ErrorClass::kCount)> totals_{};
  std::atomic<int> last_class_{-1};
  std::atomic<int64_t> last_failure_{0};
};

}  // namespace rowcache::redis
