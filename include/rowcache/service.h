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
//   {"REQUEST": "delete", "SQLS": [3, 4]}                      -> "delete success", "ids" (those that
//   existed)
//
// Read (lazy loading): one cache round trip for all distinct ids that also
// takes a lease for each miss (Cache::GetOrLease), one database query for
// the misses, one pipelined conditional fill of what was found
// (SetIfLeaseHeld), and the leases of ids with no row given back
// (ReleaseLeases: compare-and-delete of this read's token). Write
// (write-through): one transaction for the batch, then one pipelined cache set
// of the new rows. Update/delete: one transaction, then the rows' cache entries
// are invalidated (always, whatever USE_CACHE says: a stale entry would
// otherwise outlive the change). USE_CACHE false otherwise touches the
// database only.
//
// Consistency (see docs/reliability.md): every id has a guard key beside its
// entry, holding a lease. A read that misses takes a lease (a token of its
// own, set only if the guard is free) in the same round trip as its lookup;
// an insert takes one before its COMMIT. A fill or write-through lands only
// if the guard still holds that token, and invalidation (after every update
// and delete, and after any write whose outcome is unknown) deletes entry and
// guard, so a fill that raced a change -- or whose lease was evicted or
// flushed -- cannot install old data. Invalidations that fail (cache down)
// are remembered and retried; until they succeed those ids bypass the cache
// in this process. Concurrent misses on one id share one database query
// (single-flight), unless a write to that id was acknowledged after the
// shared query began; only the reader that led the query fills.
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

class FlightTable;             // core/single_flight.h
class PendingInvalidationSet;  // core/pending_invalidations.h

// The cache key of row id: prefix + "{" + id + "}". The braces are a Redis
// Cluster hash tag: the entry and its guard (key + guard suffix) share a
// slot, so the scripts that touch both run on one node.
std::string CacheKeyFor(std::string_view prefix, int64_t id);

// Whether value is exactly what the service stores for the row under key
// (RowToJson of a row whose id is the key's): what a near cache may keep
// and answer from without decoding.
bool IsCanonicalEntry(std::string_view prefix, std::string_view key, std::string_view value);

// Lambda's limit on a synchronous response (6 MB), and the size of the read
// answer around its rows: {"statusCode": 200, "body": [ ... ]}.
inline constexpr size_t kLambdaResponseLimit = 6 * 1024 * 1024;
inline constexpr size_t kReadEnvelopeBytes =
    sizeof("{\"statusCode\": 200, \"body\": [") - 1 + sizeof("]}") - 1;
// The most ids a read may ask for by default: n rows of kMaxRowJsonBytes
// with n - 1 separators (", ") in the envelope fit in kLambdaResponseLimit.
inline constexpr size_t kDefaultMaxReadBatch =
    (kLambdaResponseLimit - kReadEnvelopeBytes + 2) / (kMaxRowJsonBytes + 2);

// A safeguard turned off on purpose, so that the consistency checker (and
// the tests) can show they would notice. kNone in every normal run.
enum class TestMutation {
  kNone,
  kInsertGuard,     // "insert-guard": inserts write through unconditionally
  kFillGuard,       // "fill-guard": fills ignore the lease
  kUnknownOutcome,  // "unknown-outcome": writes with an unknown outcome are not invalidated
  kLeaseRelease,    // "lease-release": reads keep the leases they did not use
};
// "insert-guard", ... -> the mutation; nullopt for any other name ("" is kNone).
std::optional<TestMutation> TestMutationNamed(std::string_view name);

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
  // Most rows in one write / ids or rows in one update or delete. Default: 1000.
  size_t max_batch = 1000;
  // Most ids in one read. Default: kDefaultMaxReadBatch, the most whose
  // answer surely fits in a Lambda response (6 MiB) even if every row is as
  // long as a row can be (kMaxRowJsonBytes).
  size_t max_read_batch = kDefaultMaxReadBatch;
  // USE_CACHE when the event has none. Default: true.
  bool default_use_cache = true;
  // Least time between retries of failed invalidations. Default: 200 ms.
  int64_t invalidation_retry_nanos = 200'000'000;
  // Lifetime of a cache lease (a reader's, from its miss to its fill; a
  // writer's, from before its commit to its write-through). A fill after it
  // is refused, so it must exceed a database read or write. Default: 15 s.
  int lease_ms = 15'000;
  // A write whose outcome is unknown (the connection was lost after COMMIT
  // was sent) is invalidated at once and again this long after, when the
  // database has surely finished with it; its ids bypass the cache in this
  // process meanwhile. Default: 12 s (serve sets 2 x --db-timeout + 2 s).
  int64_t unknown_outcome_delay_nanos = 12'000'000'000;
  // Test builds only (ROWCACHE_TEST_MUTATIONS): turns one safeguard off so
  // the consistency checker can show it would notice (see TestMutation).
  TestMutation test_mutation = TestMutation::kNone;
  // Most ids remembered for retried invalidation; past it, the cache is not
  // read at all until the backlog clears. Default: 1,000,000.
  size_t max_pending_invalidations = 1'000'000;
};

struct Response {
  int status = 200;  // HTTP status; equals "statusCode" in body
  std::string body;  // the JSON document to return
  // A 5xx answer's body carries only a generic message and request_id; the
  // details (backend messages: hosts, users, SQL errors) are here, for the
  // front door to log under that id (ErrorLogLine). Both empty otherwise.
  std::string request_id;
  std::string error_detail;
};

// A parsed, validated request.
struct Request {
  enum class Kind { kRead, kWrite, kUpdate, kDelete } kind = Kind::kRead;
  bool use_cache = true;
  std::vector<int64_t> ids;        // read, delete
  std::vector<Row> rows;           // write (id = 0)
  std::vector<RowUpdate> updates;  // update
};

// Parses and validates an event. InvalidArgument (message names the field) or
// TooLarge for anything the service would not accept.
Result<Request> ParseRequest(std::string_view event_json, const ServiceOptions& opts);

// The response document for a failed request, e.g.
// {"statusCode": 400, "body": {"error": "..."}}. A 5xx answer (Unavailable,
// Internal) says only what failed, in general terms, and gives a request id:
// {"statusCode": 503, "body": {"error": "the database is unavailable", "request_id": "..."}};
// s's message goes to error_detail. request_id: the id to use (e.g. Lambda's
// own); empty: a new random one (NewRequestId).
Response ErrorResponse(const Status& s, std::string_view request_id = {});

// 16 random hex digits.
std::string NewRequestId();

// The one log line for a response with error_detail, e.g.
// "rowcache: request 3f9c...: 503: mysql 10.0.0.5:3306: Lost connection ..."
// (no line breaks; the detail is cut at 2000 bytes), or "" if it has none.
std::string ErrorLogLine(const Response& r);

class Service {
 public:
  // store must be non-null; cache may be null (no cache). Neither is owned.
  // now_nanos: monotonic clock for latency metrics. rand: uniform 64-bit
  // random numbers for TTL jitter. Both injectable for tests.
  Service(Store* store, Cache* cache, ServiceOptions opts, Metrics* metrics,
          std::function<int64_t()> now_nanos = {}, std::function<uint64_t()> rand = {});
  ~Service();

  // request_id: the id a 5xx answer carries (see ErrorResponse); empty: a new one.
  Response Handle(std::string_view event_json, std::string_view request_id = {});
  // The same for an event a front door already parsed (ParseRequest): it is
  // not parsed again (the HTTP server's fast path parses every POST; a read
  // it cannot answer from the cache is handed on parsed).
  Response Handle(const Request& req, std::string_view request_id = {});
  Response Execute(const Request& req, std::string_view request_id = {});

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
  std::optional<Response> AnswerFromEntries(const Request& req,
                                            std::span<const std::optional<std::string>> entries,
                                            int64_t start_nanos);
  // The same, for entries known to be canonical rows of the ids asked (a
  // near cache stores only entries the core wrote or validated): they are
  // spliced into the answer without being decoded again.
  std::optional<Response> AnswerFromTrustedEntries(const Request& req,
                                                   std::span<const std::optional<std::string>> entries,
                                                   int64_t start_nanos);
  int64_t NowNanos() const { return now_nanos_(); }

  // Retries failed invalidations now if any are due. Handle() calls this; a
  // front door may also call it when idle.
  void RetryPendingInvalidations();
  size_t PendingInvalidations() const;

  // For shutdown (no process will be left to retry them): one attempt to
  // invalidate every pending id now, due or not, in batches of 1,000 until
  // one fails. Returns what is still pending: the ids (ascending), and
  // whether the pending set had overflowed (some ids were never recorded).
  // The caller decides how long to keep trying.
  struct Unflushed {
    std::vector<int64_t> ids;
    bool overflowed = false;
  };
  Unflushed InvalidateAllPending();

  std::string CacheKey(int64_t id) const;
  std::string GuardKey(int64_t id) const;
  const ServiceOptions& options() const { return opts_; }
  Metrics& metrics() { return *metrics_; }
  Store* store() { return store_; }
  Cache* cache() { return cache_; }

 private:
  // A read's rows: each distinct id's row as canonical JSON (nullopt: no
  // row), and for each asked id the index of its distinct id.
  struct ReadRows {
    std::vector<std::optional<std::string>> rows;
    std::vector<size_t> slot;
  };
  Result<ReadRows> ReadJson(std::span<const int64_t> ids, bool use_cache);
  int TtlWithJitter();
  std::string NewLeaseToken();
  std::vector<KeyAndGuard> KeysOf(std::span<const int64_t> ids) const;
  // Rows for distinct missing ids from the database, sharing concurrent
  // queries for the same ids (single-flight).
  // led_by_us[i]: this call ran the query for ids[i] (did not join another's).
  // A read joins another's query only if that query began after
  // read_started (and after this process's last write to the id).
  Status FetchMisses(std::span<const int64_t> ids, std::vector<std::optional<Row>>* out,
                     std::vector<char>* led_by_us, int64_t read_started);
  // Gives back leases this read took under token and did not use (counted
  // in cache_leases_released; a failure is a counted cache error only).
  void ReleaseLeases(std::span<const std::string> guard_keys, std::string_view token);
  // Longest an entry written now can live (TTL with jitter, plus a second).
  int64_t MaxEntryLifeNanos() const;
  void CountCacheAnswer(size_t distinct_ids, size_t ids, int64_t start_nanos);
  void BumpWriteSeq(int64_t id);
  // Invalidate keys for ids; on failure remember them for retry.
  void InvalidateOrRemember(std::span<const int64_t> ids);
  // After a write whose outcome is unknown: invalidate now, and again
  // unknown_outcome_delay_nanos later; the ids bypass the cache meanwhile.
  void InvalidateUnknownOutcome(std::span<const int64_t> ids);
  // Whether cache reads are suspended for some ids (pending invalidations,
  // or all of them after the pending set overflowed).
  bool CacheBypassActive() const;

  Store* store_;
  Cache* cache_;
  ServiceOptions opts_;
  Metrics* metrics_;
  std::function<int64_t()> now_nanos_;
  std::function<uint64_t()> rand_;
  std::unique_ptr<FlightTable> flights_;
  std::unique_ptr<PendingInvalidationSet> pending_;
};

}  // namespace rowcache
