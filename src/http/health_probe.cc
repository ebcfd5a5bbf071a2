#include "http/health_probe.h"

#include "rowcache/row.h"

namespace rowcache {

HealthProbe::HealthProbe(Service& svc, std::shared_ptr<NearCache> near, Options opts,
                         std::function<void(const std::string&)> log)
    : svc_(svc), near_(std::move(near)), opts_(opts), log_(std::move(log)) {}

HealthProbe::~HealthProbe() { Stop(); }

void HealthProbe::Start() {
  ProbeOnce();
  std::lock_guard l(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] {
    std::unique_lock l(mu_);
    while (!stop_) {
      cv_.wait_for(l, opts_.interval, [this] { return stop_; });
      if (stop_) break;
      l.unlock();
      ProbeOnce();
      l.lock();
    }
  });
}

void HealthProbe::Stop() {
  std::thread t;
  {
    std::lock_guard l(mu_);
    stop_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

void HealthProbe::ProbeOnce() {
  Status db = svc_.store()->Ping();
  std::string cache = "none", detail;
  if (svc_.cache()) {
    // Ping first: it is a call like any other, so a cache that answers it
    // but fails the service's own commands (CROSSSLOT, NOPERM, ...) still
    // shows as degraded through the recent calls' record.
    Status c = svc_.cache()->Ping();
    CacheHealth h = svc_.cache()->Health();
    if (!c.ok()) {
      cache = "unavailable";
      detail = "cache: " + c.message();
    } else if (h.degraded) {
      cache = "degraded: " + h.last_error_class;
    } else {
      cache = "ok";
    }
  }
  if (!db.ok()) detail = "db: " + db.message() + (detail.empty() ? "" : "; " + detail);
  std::string state = "{\"status\": ";
  AppendJsonString(state, db.ok() ? "ok" : "unavailable");
  state += ", \"db\": ";
  AppendJsonString(state, db.ok() ? "ok" : "unavailable");
  state += ", \"cache\": ";
  AppendJsonString(state, cache);
  if (near_) {
    // A near cache that switched itself off (tracking lost) says so.
    state += ", \"near_cache\": ";
    AppendJsonString(state, near_->serving() ? "serving" : "off: invalidation tracking not healthy");
  }
  int status = db.ok() ? 200 : 503;
  std::lock_guard l(mu_);
  ++probes_;
  at_ = std::chrono::steady_clock::now();
  have_ = true;
  if (state == state_) return;  // the same answer (and request id) as before
  bool first = state_.empty();
  state_ = state;
  answer_.http_status = status;
  answer_.body = state;
  if (!detail.empty()) {
    // The details, once per change, under the id the answers give.
    Response logged;
    logged.status = status;
    logged.request_id = NewRequestId();
    logged.error_detail = "GET /healthz: " + detail;
    answer_.body += ", \"request_id\": ";
    AppendJsonString(answer_.body, logged.request_id);
    log_(ErrorLogLine(logged));
  } else if (!first) {
    log_("rowcache: health: " + state + "}\n");
  }
  answer_.body += "}";
}

HealthAnswer HealthProbe::Report() const {
  std::lock_guard l(mu_);
  if (!have_ || std::chrono::steady_clock::now() - at_ > opts_.stale_after) {
    return {503, "{\"status\": \"stale\", \"error\": \"no health probe has finished in the last " +
                     std::to_string(opts_.stale_after.count() / 1000) + " s\"}"};
  }
  return answer_;
}

uint64_t HealthProbe::probes() const {
  std::lock_guard l(mu_);
  return probes_;
}

}  // namespace rowcache
