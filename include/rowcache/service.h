// Service: turns an event into a response. The core every front door shares.
//
// The event is the JSON the assignment's clients send (and API Gateway's
// non-proxy integration passes through):
//   {"USE_CACHE": "True", "REQUEST": "read",  "SQLS": [1, 2, 3]}
//   {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [{"hero": "yes", ...}, ...]}
// The response is the function's return value:
//   {"statusCode": 200, "body": [{"id": 1, ...}, null, ...]}
//   {"statusCode": 200, "body": "write success", "ids": [26, 27]}
//   {"statusCode": 400, "body": {"error": "SQLS[0].hero: 21 characters, more than 20"}}
// Beyond the assignment, rows can be changed and removed:
//   {"REQUEST": "update", "SQLS": [{"id": 3, "xp": 50}, ...]}  -> "update success", "ids"
//   {"REQUEST": "delete", "SQLS": [3, 4]}                      -> "delete success", "ids" (those that existed)
//
// Read (lazy loading): one cache MGET for all distinct ids, one database query
// for the misses, one pipelined cache fill of what was found. Write
// (write-through): one transaction for the batch, then one pipelined cache set
// of the new rows. Update/delete: one transaction, then the rows' cache entries
// are invalidated (always, whatever USE_CACHE says: a stale entry would
// otherwise outlive the change). USE_CACHE false otherwise touches the
// database only.
//
// Consistency (see docs/reliability.md): every id has a guard key beside its
// entry; invalidation deletes the entry and bumps the guard, and a lazy fill
// is stored only if the guard is what it was when the read looked the entry
// up, so a fill that raced a change cannot install old data. Invalidations
// that fail (cache down) are remembered and retried; until they succeed those
// ids bypass the cache in this process. Concurrent misses on one id share one
// database query (single-flight), unless a write to that id was acknowledged
// after the shared query began.
//
// The Service does no I/O of its own beyond the Store and Cache it is given,
// starts no threads and reads no environment. Handle() is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rowcache/cache.h"
#include "rowcache/metrics.h"
#include "rowcache/row.h"
#include "rowcache/status.h"
#include "rowcache/store.h"

namespace rowcache {

// The cache key of row id: prefix + "{" + id + "}". The braces are a Redis
// Cluster hash tag: the entry and its guard (key + guard suffix) share a
// slot, so the scripts that touch both run on one node.
std::string CacheKeyFor(std::string_view prefix, int64_t id);

struct ServiceOptions {
  // Cache key for row id N is key_prefix + "{N}". Default: "rowcache:heroes:".
  std::string key_prefix = "rowcache:heroes:";
  // Guard key for row id N is key_prefix + "{N}" + guard_suffix. Default: ":gen".
  std::string guard_suffix = ":gen";
  // TTL of cached rows in seconds. Default: 300.
  int ttl_seconds = 300;
  // Each TTL is drawn uniformly from [ttl*(1-j), ttl*(1+j)] so entries filled
  // together do not expire together. Default: 0.1.
  double ttl_jitter = 0.1;
  // Most ids in one read / rows in one write. Default: 1000.
  size_t max_batch = 1000;
  // USE_CACHE when the event has none. Default: true.
  bool default_use_cache = true;
  // Least time between retries of failed invalidations. Default: 200 ms.
  int64_t invalidation_retry_nanos = 200'000'000;
  // Most ids remembered for retried invalidation; past it, the cache is not
  // read at all until the backlog clears. Default: 1,000,000.
  size_t max_pending_invalidations = 1'000'000;
};

struct Response {
  int status = 200;  // HTTP status; equals "statusCode" in body
  std::string body;  // the JSON document to return
};

// A parsed, validated request.
struct Request {
  enum class Kind { kRead, kWrite, kUpdate, kDelete } kind = Kind::kRead;
  bool use_cache = true;
  std::vector<int64_t> ids;          // read, delete
  std::vector<Row> rows;             // write (id = 0)
  std::vector<RowUpdate> updates;    // update
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
  ~Service();

  Response Handle(std::string_view event_json);
  Response Execute(const Request& req);

  // The results behind the responses, for tests and the bench tool.
  Result<std::vector<std::optional<Row>>> Read(std::span<const int64_t> ids, bool use_cache);
  Result<std::vector<int64_t>> Write(std::span<const Row> rows, bool use_cache);
  Status Update(std::span<const RowUpdate> updates);
  Result<std::vector<int64_t>> Delete(std::span<const int64_t> ids);

  // A front door that can look cache entries up without blocking (the HTTP
  // server, with a pipelined Redis connection per I/O thread) answers a read
  // in two steps: CacheOnlyKeys gives the entry keys of the read's distinct
  // ids, or nothing when the read must take the normal path (not a cached
  // read, or invalidations pending); AnswerFromEntries then answers it if
  // every entry was found and valid, counting it as Handle would, or gives
  // nothing, and the caller calls Handle. The answer is the one Handle would
  // give from those entries: only hits are served this way.
  std::optional<std::vector<std::string>> CacheOnlyKeys(const Request& req) const;
  std::optional<Response> AnswerFromEntries(const Request& req, std::span<const std::optional<std::string>> entries,
                                            int64_t start_nanos);
  int64_t NowNanos() const { return now_nanos_(); }

  // Retries failed invalidations now if any are due. Handle() calls this; a
  // front door may also call it when idle.
  void RetryPendingInvalidations();
  size_t PendingInvalidations() const;

  std::string CacheKey(int64_t id) const;
  std::string GuardKey(int64_t id) const;
  const ServiceOptions& options() const { return opts_; }
  Metrics& metrics() { return *metrics_; }
  Store* store() { return store_; }
  Cache* cache() { return cache_; }

 private:
  struct Flight;
  class FlightTable;
  class PendingSet;

  int TtlWithJitter();
  int GuardTtl() const;
  // Rows for distinct missing ids from the database, sharing concurrent
  // queries for the same ids (single-flight).
  Status FetchMisses(std::span<const int64_t> ids, std::vector<std::optional<Row>>* out);
  void BumpWriteSeq(int64_t id);
  // Invalidate keys for ids; on failure remember them for retry.
  void InvalidateOrRemember(std::span<const int64_t> ids);

  Store* store_;
  Cache* cache_;
  ServiceOptions opts_;
  Metrics* metrics_;
  std::function<int64_t()> now_nanos_;
  std::function<uint64_t()> rand_;
  std::unique_ptr<FlightTable> flights_;
  std::unique_ptr<PendingSet> pending_;
};

}  // namespace rowcache
