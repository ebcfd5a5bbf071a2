// Service: turns an event into a response. The core every front door shares.
//
// The event is the JSON the assignment's clients send (and API Gateway's
// non-proxy integration passes through):
//   {"USE_CACHE": "True", "REQUEST": "read",  "SQLS": [1, 2, 3]}
//   {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [{"hero": "yes", ...}, ...]}
// The response is the function's return value:
//   {"statusCode": 200, "body": [{"id": 1, ...}, null, ...]}
//   {"statusCode": 200, "body": "write success", "ids": [26, 27]}
//   {"statusCode": 400, "body": {"error": "SQLS[0].hero: longer than 20 characters"}}
//
// Read (lazy loading): one cache MGET for all distinct ids, one database query
// for the misses, one pipelined cache fill of what was found. Write
// (write-through): one transaction for the batch, then one pipelined cache set
// of the new rows. USE_CACHE false touches the database only.
//
// The Service does no I/O of its own beyond the Store and Cache it is given,
// starts no threads and reads no environment. Handle() is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rowcache/cache.h"
#include "rowcache/metrics.h"
#include "rowcache/row.h"
#include "rowcache/status.h"
#include "rowcache/store.h"

namespace rowcache {

struct ServiceOptions {
  // Cache key for row id N is key_prefix + N. Default: "rowcache:heroes:".
  std::string key_prefix = "rowcache:heroes:";
  // TTL of cached rows in seconds. Default: 300.
  int ttl_seconds = 300;
  // Each TTL is drawn uniformly from [ttl*(1-j), ttl*(1+j)] so entries filled
  // together do not expire together. Default: 0.1.
  double ttl_jitter = 0.1;
  // Most ids in one read / rows in one write. Default: 1000.
  size_t max_batch = 1000;
  // USE_CACHE when the event has none. Default: true.
  bool default_use_cache = true;
};

struct Response {
  int status = 200;  // HTTP status; equals "statusCode" in body
  std::string body;  // the JSON document to return
};

// A parsed, validated request.
struct Request {
  enum class Kind { kRead, kWrite } kind = Kind::kRead;
  bool use_cache = true;
  std::vector<int64_t> ids;  // read
  std::vector<Row> rows;     // write (id = 0)
};

// Parses and validates an event. InvalidArgument (message names the field) or
// TooLarge for anything the service would not accept.
Result<Request> ParseRequest(std::string_view event_json, const ServiceOptions& opts);

// The response document for a failed request, e.g.
// {"statusCode": 400, "body": {"error": "..."}}.
Response ErrorResponse(const Status& s);

class Service {
 public:
  // store must be non-null; cache may be null (no cache). Neither is owned.
  // now_nanos: monotonic clock for latency metrics. rand: uniform 64-bit
  // random numbers for TTL jitter. Both injectable for tests.
  Service(Store* store, Cache* cache, ServiceOptions opts, Metrics* metrics,
          std::function<int64_t()> now_nanos = {}, std::function<uint64_t()> rand = {});

  Response Handle(std::string_view event_json);
  Response Execute(const Request& req);

  // The results behind the responses, for tests and the bench tool.
  Result<std::vector<std::optional<Row>>> Read(std::span<const int64_t> ids, bool use_cache);
  Result<std::vector<int64_t>> Write(std::span<const Row> rows, bool use_cache);

  std::string CacheKey(int64_t id) const;
  const ServiceOptions& options() const { return opts_; }
  Metrics& metrics() { return *metrics_; }
  Store* store() { return store_; }
  Cache* cache() { return cache_; }

 private:
  int TtlWithJitter();

  Store* store_;
  Cache* cache_;
  ServiceOptions opts_;
  Metrics* metrics_;
  std::function<int64_t()> now_nanos_;
  std::function<uint64_t()> rand_;
};

}  // namespace rowcache
