// HealthProbe: the answer of GET /healthz, computed in the background.
//
// Every `interval` one thread pings the database and the cache (and reads the
// near cache's state); Report() answers from the last result and calls no
// backend, so a flood of /healthz requests costs the backends nothing. A
// result older than `stale_after` (the probe itself is stuck, e.g. in a
// backend call that hangs) is reported as "stale" with 503.
//
// The answer carries states only: {"status": "ok"|"unavailable"|"stale",
// "db": "ok"|"unavailable", "cache": "none"|"ok"|"unavailable"|"degraded:
// <class>", ["near_cache": "serving"|"off: ..."], ["request_id": ID]}; 200
// while the database answers, else 503. The backends' messages go to the log
// in one line per change of state (never per probe or per request); while a
// backend is failing, the answer gives that line's request id.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cache/near_cache.h"
#include "rowcache/service.h"

namespace rowcache {

struct HealthAnswer {
  int http_status = 200;
  std::string body;
};

class HealthProbe {
 public:
  struct Options {
    std::chrono::milliseconds interval{1000};
    std::chrono::milliseconds stale_after{5000};
  };
  // svc (its store and cache) and near (may be null) must outlive the probe.
  // log receives whole lines (with their newline).
  HealthProbe(Service& svc, std::shared_ptr<NearCache> near, Options opts,
              std::function<void(const std::string&)> log);
  ~HealthProbe();  // Stop()
  HealthProbe(const HealthProbe&) = delete;
  HealthProbe& operator=(const HealthProbe&) = delete;

  // Probes once at once, then starts the background thread.
  void Start();
  // Stops and joins the thread (waits for a probe in progress). Idempotent.
  void Stop();
  // The answer from the last probe; "stale" (503) if it is older than
  // stale_after or none has finished.
  HealthAnswer Report() const;
  // One probe now, on the caller's thread (Start's thread calls it).
  void ProbeOnce();
  // Probes finished so far.
  uint64_t probes() const;

 private:
  Service& svc_;
  std::shared_ptr<NearCache> near_;
  Options opts_;
  std::function<void(const std::string&)> log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  // The last result: its state line (what changes are logged against), its
  // answer and when it was taken.
  std::string state_;
  HealthAnswer answer_;
  std::chrono::steady_clock::time_point at_{};
  bool have_ = false;
  uint64_t probes_ = 0;
};

}  // namespace rowcache
