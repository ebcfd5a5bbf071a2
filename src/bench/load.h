// The bench tool's load generator: workloads (read/write mix, key
// distribution, batch size), a closed-loop and an open-loop driver over
// keep-alive HTTP/1.1 (non-blocking sockets, one epoll per thread) or straight
// into a Service in this process, and the per-run results.
//
// Closed loop: every connection sends its next request as soon as the previous
// answer is in. Open loop: requests are due at a fixed rate whatever the
// service does; a request's latency runs from the time it was due, so one that
// waited for a free connection behind a slow one counts its wait (no
// coordinated omission).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/histogram.h"
#include "bench/zipf.h"
#include "rowcache/service.h"

namespace rowcache::bench {

struct Workload {
  int read_percent = 100;  // --mix R:W
  int batch = 3;           // ids per read, rows per write
  bool zipf = false;       // --keys
  double zipf_s = 0.99;
  int64_t hot_set = 1000;  // ids 1..hot_set are read
  bool use_cache = true;
  std::string get_path;  // --get PATH: plain GETs instead of the workload
};

// Builds request bodies; one per thread (each with its own Rng).
class RequestGen {
 public:
  RequestGen(const Workload& w, std::shared_ptr<const KeyGen> keys, uint64_t seed);
  // The event JSON of the next request; *is_write says which kind it is.
  std::string Next(bool* is_write);
  // A write event of n random rows (strings of 1..20 letters and digits).
  std::string WriteEvent(int n, bool use_cache);
  std::string ReadEvent(const std::vector<int64_t>& ids, bool use_cache);

 private:
  std::string RandomString();
  Workload w_;
  std::shared_ptr<const KeyGen> keys_;
  Rng rng_;
};

struct Errors {
  uint64_t connect = 0;  // could not connect (refused, unreachable)
  uint64_t timeout = 0;  // no answer within --timeout
  uint64_t io = 0;       // connection reset/closed mid-request, unparsable response
  uint64_t http_4xx = 0;
  uint64_t http_5xx = 0;
  uint64_t status_code = 0;  // HTTP 2xx but "statusCode" in the body is not 200
  uint64_t total() const { return connect + timeout + io + http_4xx + http_5xx + status_code; }
  void Add(const Errors& o);
};

struct LoadOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string path = "/";
  int connections = 16;
  int threads = 2;
  double rate = 0;  // requests/s; 0 = closed loop
  double duration_s = 10;
  double warmup_s = 2;
  double timeout_s = 10;
  uint64_t seed = 1;
  bool progress = true;
  std::string label;          // shown in the progress line
  std::string extra_headers;  // sent with every request, each "Name: value\r\n" (e.g. Authorization)
  // Called once when the warm-up ends and once when the run ends (metrics scrapes).
  std::function<void()> on_measure_start;
  std::function<void()> on_measure_end;
};

struct RunResult {
  Histogram latency;      // ns, every answered request in the window (errors included)
  uint64_t requests = 0;  // answered in the window
  uint64_t reads = 0, writes = 0;
  uint64_t unfinished = 0;  // due or in flight when the window closed (open loop: still counted nowhere else)
  double seconds = 0;       // length of the measurement window
  Errors errors;
  double throughput() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

std::shared_ptr<const KeyGen> MakeKeys(const Workload& w);

RunResult RunHttp(const LoadOptions& o, const Workload& w);
RunResult RunInproc(Service& service, const LoadOptions& o, const Workload& w);

// A blocking one-request-at-a-time HTTP/1.1 client (set-up, metrics scrapes).
class SimpleHttp {
 public:
  // extra_headers: as LoadOptions::extra_headers.
  SimpleHttp(std::string host, uint16_t port, std::string extra_headers = "")
      : host_(std::move(host)), port_(port), extra_headers_(std::move(extra_headers)) {}
  ~SimpleHttp();
  // (HTTP status, body), or an error message in *err.
  std::optional<std::pair<int, std::string>> Request(const std::string& method, const std::string& path,
                                                     const std::string& body, std::string* err);

 private:
  bool Connect(std::string* err);
  std::string host_;
  uint16_t port_;
  std::string extra_headers_;
  int fd_ = -1;
};

}  // namespace rowcache::bench
