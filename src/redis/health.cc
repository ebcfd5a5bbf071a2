#include "redis/health.h"

namespace rowcache::redis {

const char* ErrorClassName(ErrorClass c) {
  switch (c) {
    case ErrorClass::kTimeout:
      return "timeout";
    case ErrorClass::kConnection:
      return "connection";
    case ErrorClass::kTls:
      return "tls";
    case ErrorClass::kAuth:
      return "auth";
    case ErrorClass::kCrossSlot:
      return "crossslot";
    case ErrorClass::kRedirect:
      return "redirect";
    case ErrorClass::kClusterDown:
      return "clusterdown";
    case ErrorClass::kReadOnly:
      return "readonly";
    case ErrorClass::kLoading:
      return "loading";
    case ErrorClass::kProtocol:
      return "protocol";
    case ErrorClass::kReplyBounds:
      return "reply_bounds";
    case ErrorClass::kOther:
    case ErrorClass::kCount:
      break;
  }
  return "other";
}

ErrorClass ClassifyReplyError(std::string_view e) {
  auto starts = [&](std::string_view p) { return e.substr(0, p.size()) == p; };
  if (starts("MOVED") || starts("ASK") || starts("TRYAGAIN")) return ErrorClass::kRedirect;
  if (starts("CROSSSLOT")) return ErrorClass::kCrossSlot;
  if (starts("CLUSTERDOWN")) return ErrorClass::kClusterDown;
  if (starts("READONLY") || starts("MASTERDOWN")) return ErrorClass::kReadOnly;
  if (starts("LOADING")) return ErrorClass::kLoading;
  if (starts("NOAUTH") || starts("WRONGPASS") || starts("NOPERM") ||
      e.find("invalid password") != std::string_view::npos ||
      e.find("SELECT is not allowed") != std::string_view::npos ||
      e.find("DB index is out of range") != std::string_view::npos) {
    return ErrorClass::kAuth;
  }
  return ErrorClass::kOther;
}

ErrorClass ClassifyTransportError(std::string_view m) {
  // First: a TLS handshake that timed out is a slow or busy server, not a
  // certificate problem (at start the second is fatal, the first is not).
  if (m.find("timed out") != std::string_view::npos) return ErrorClass::kTimeout;
  if (m.find("TLS") != std::string_view::npos || m.find("certificate") != std::string_view::npos ||
      m.find("CA file") != std::string_view::npos) {
    return ErrorClass::kTls;
  }
  if (m.find("past its bounds") != std::string_view::npos) return ErrorClass::kReplyBounds;
  if (m.find("protocol") != std::string_view::npos) return ErrorClass::kProtocol;
  return ErrorClass::kConnection;
}

Health::Bucket& Health::BucketFor(int64_t second) {
  Bucket& b = buckets_[static_cast<size_t>(second % kWindowSeconds)];
  int64_t seen = b.second.load(std::memory_order_relaxed);
  if (seen != second && b.second.compare_exchange_strong(seen, second, std::memory_order_relaxed)) {
    // A bucket reused for a new second starts from zero (a count racing the
    // reset may be lost: these are health figures, not accounting).
    b.calls.store(0, std::memory_order_relaxed);
    b.failures.store(0, std::memory_order_relaxed);
  }
  return b;
}

void Health::Success(int64_t now) {
  BucketFor(now / 1'000'000'000).calls.fetch_add(1, std::memory_order_relaxed);
}

void Health::Failure(ErrorClass c, int64_t now) {
  Bucket& b = BucketFor(now / 1'000'000'000);
  b.calls.fetch_add(1, std::memory_order_relaxed);
  b.failures.fetch_add(1, std::memory_order_relaxed);
  totals_[static_cast<size_t>(c)].fetch_add(1, std::memory_order_relaxed);
  last_class_.store(static_cast<int>(c), std::memory_order_relaxed);
  last_failure_.store(now, std::memory_order_relaxed);
}

Health::Snapshot Health::Get(int64_t now) const {
  Snapshot s;
  int64_t sec = now / 1'000'000'000;
  for (const Bucket& b : buckets_) {
    int64_t bs = b.second.load(std::memory_order_relaxed);
    if (bs < 0 || bs <= sec - kWindowSeconds || bs > sec) continue;
    s.window_calls += b.calls.load(std::memory_order_relaxed);
    s.window_failures += b.failures.load(std::memory_order_relaxed);
  }
  int last = last_class_.load(std::memory_order_relaxed);
  if (last >= 0) s.last_error_class = ErrorClassName(static_cast<ErrorClass>(last));
  int64_t lf = last_failure_.load(std::memory_order_relaxed);
  s.degraded = lf != 0 && now - lf < int64_t{kWindowSeconds} * 1'000'000'000;
  for (size_t i = 0; i < s.totals.size(); ++i) s.totals[i] = totals_[i].load(std::memory_order_relaxed);
  return s;
}

}  // namespace rowcache::redis
