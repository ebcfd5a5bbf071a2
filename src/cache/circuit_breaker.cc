#include "cache/circuit_breaker.h"

#include <mutex>

#include "rowcache/clock.h"

namespace rowcache {

namespace {

enum State { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

class BreakerCache final : public Cache {
 public:
  BreakerCache(std::unique_ptr<Cache> inner, BreakerOptions opts, Metrics* metrics,
               std::function<int64_t()> now)
      : inner_(std::move(inner)), opts_(opts), metrics_(metrics), now_(std::move(now)) {}

  Result<std::vector<std::optional<std::string>>> MGet(std::span<const std::string> keys) override {
    if (!Admit()) return Refused();
    auto r = inner_->MGet(keys);
    Record(r.ok());
    return r;
  }
  Status SetMany(std::span<const CacheEntry> entries) override {
    return Call([&] { return inner_->SetMany(entries); });
  }
  Status Del(std::span<const std::string> keys) override {
    return Call([&] { return inner_->Del(keys); });
  }
  Result<std::vector<LeasedLookup>> GetOrLease(std::span<const KeyAndGuard> keys, std::string_view token,
                                               int lease_ms) override {
    if (!Admit()) return Refused();
    auto r = inner_->GetOrLease(keys, token, lease_ms);
    Record(r.ok());
    return r;
  }
  Status Lease(std::span<const std::string> guard_keys, std::string_view token, int lease_ms) override {
    return Call([&] { return inner_->Lease(guard_keys, token, lease_ms); });
  }
  Result<size_t> SetIfLeaseHeld(std::span<const LeasedEntry> entries) override {
    if (!Admit()) return Refused();
    auto r = inner_->SetIfLeaseHeld(entries);
    Record(r.ok());
    return r;
  }
  Result<size_t> ReleaseLeases(std::span<const std::string> guard_keys, std::string_view token) override {
    if (!Admit()) return Refused();
    auto r = inner_->ReleaseLeases(guard_keys, token);
    Record(r.ok());
    return r;
  }
  // Invalidations are always attempted, even with the breaker open: the
  // breaker saves reads a timeout, but a refused invalidation leaves other
  // processes serving the old row while the cache may well be reachable
  // (the breaker can open on errors such as OOM from a full Redis, which
  // still accepts DEL). Their outcome still counts.
  Status Invalidate(std::span<const KeyAndGuard> keys) override {
    Status s = inner_->Invalidate(keys);
    Record(s.ok());
    return s;
  }
  // Ping always reaches the cache (health checks must see the truth) and
  // counts like any call, so a successful ping may close the breaker.
  Status Ping() override {
    Status s = inner_->Ping();
    Record(s.ok());
    return s;
  }
  std::string Describe() const override { return inner_->Describe(); }
  CacheHealth Health() const override { return inner_->Health(); }

 private:
  template <class F>
  Status Call(F&& f) {
    if (!Admit()) return Refused();
    Status s = f();
    Record(s.ok());
    return s;
  }

  Status Refused() {
    if (metrics_) metrics_->cache_short_circuits.fetch_add(1, std::memory_order_relaxed);
    return Status::Unavailable("cache circuit open after repeated failures (" + inner_->Describe() + ")");
  }

  void SetState(State s) {
    state_ = s;
    if (metrics_) metrics_->cache_breaker_state.store(s, std::memory_order_relaxed);
  }

  // Whether a call may go to the cache now.
  bool Admit() {
    std::lock_guard l(mu_);
    if (state_ == kClosed) return true;
    if (state_ == kOpen && now_() >= reopen_at_) {
      SetState(kHalfOpen);
      return true;  // this call is the probe
    }
    return false;  // open, or half-open with a probe already out
  }

  void Record(bool ok) {
    std::lock_guard l(mu_);
    if (ok) {
      failures_ = 0;
      if (state_ != kClosed) SetState(kClosed);
      return;
    }
    ++failures_;
    if (state_ == kHalfOpen || (state_ == kClosed && failures_ >= opts_.failures_to_open)) {
      if (metrics_) metrics_->cache_breaker_opens.fetch_add(1, std::memory_order_relaxed);
      SetState(kOpen);
      reopen_at_ = now_() + std::chrono::duration_cast<std::chrono::nanoseconds>(opts_.open_for).count();
    }
  }

  std::unique_ptr<Cache> inner_;
  BreakerOptions opts_;
  Metrics* metrics_;
  std::function<int64_t()> now_;
  std::mutex mu_;
  State state_ = kClosed;
  int failures_ = 0;
  int64_t reopen_at_ = 0;
};

}  // namespace

std::unique_ptr<Cache> NewCircuitBreakerCache(std::unique_ptr<Cache> inner, BreakerOptions opts,
                                              Metrics* metrics, std::function<int64_t()> now_nanos) {
  if (!now_nanos) now_nanos = SteadyNanos;
  return std::make_unique<BreakerCache>(std::move(inner), opts, metrics, std::move(now_nanos));
}

}  // namespace rowcache
