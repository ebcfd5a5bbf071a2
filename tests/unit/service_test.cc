// The core's read and write paths over the embedded backends, with fakes that
// count calls and fail on demand.
#include "rowcache/service.h"

#include <gtest/gtest.h>

#include "cache/memory_cache.h"
#include "support/fakes.h"

namespace rowcache {
namespace {

using testing::FaultyCache;
using testing::FaultyStore;

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(ServiceOptions{}); }

  void Build(ServiceOptions opts, std::function<uint64_t()> rand = {}) {
    auto s = OpenStore("sqlite::memory:");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::make_unique<FaultyStore>(std::move(s.value()));
    ASSERT_TRUE(store_->EnsureSchema().ok());
    cache_ = std::make_unique<FaultyCache>(NewMemoryCache(1000));
    metrics_ = std::make_unique<Metrics>();
    svc_ =
        std::make_unique<Service>(store_.get(), cache_.get(), opts, metrics_.get(), nullptr, std::move(rand));
  }

  std::vector<int64_t> WriteRows(int n, bool use_cache = true) {
    std::vector<Row> rows;
    for (int i = 0; i < n; ++i) rows.push_back(Row{0, "h" + std::to_string(i), "p", "n", i * 10, "c"});
    auto ids = svc_->Write(rows, use_cache);
    EXPECT_TRUE(ids.ok()) << ids.status().ToString();
    return ids.ok() ? ids.value() : std::vector<int64_t>{};
  }

  std::optional<std::string> Cached(int64_t id) {
    std::vector<std::string> k{svc_->CacheKey(id)};
    auto v = cache_->inner().MGet(k);
    return v.ok() ? v.value()[0] : std::nullopt;
  }

  std::unique_ptr<FaultyStore> store_;
  std::unique_ptr<FaultyCache> cache_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Service> svc_;
};

TEST_F(ServiceTest, WriteAssignsIncreasingIdsAndReadAnswersInOrderWithDuplicatesAndNulls) {
  auto ids = WriteRows(3);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_LT(ids[0], ids[1]);
  EXPECT_LT(ids[1], ids[2]);
  std::vector<int64_t> ask{ids[2], 999, ids[0], ids[2]};
  auto rows = svc_->Read(ask, true);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0]->hero, "h2");
  EXPECT_FALSE((*rows)[1].has_value());
  EXPECT_EQ((*rows)[2]->hero, "h0");
  EXPECT_EQ((*rows)[3]->id, ids[2]);
}

TEST_F(ServiceTest, HandleProducesTheAssignmentShapes) {
  Response w = svc_->Handle(
      R"({"USE_CACHE": "True", "REQUEST": "write", "SQLS": [{"hero":"yes","name":"batman","power":"fly","color":"black","xp":"100"}]})");
  EXPECT_EQ(w.status, 200);
  EXPECT_EQ(w.body, R"({"statusCode": 200, "body": "write success", "ids": [1]})");
  Response r = svc_->Handle(R"({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [1, 2]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(
      r.body,
      R"({"statusCode": 200, "body": [{"id": 1, "hero": "yes", "power": "fly", "name": "batman", "xp": 100, "color": "black"}, null]})");
  Response bad = svc_->Handle(R"({"REQUEST": "read", "SQLS": ["a"]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body,
            R"({"statusCode": 400, "body": {"error": "SQLS[0]: expected an integer id, got \"a\""}})");
  Response empty = svc_->Handle(R"({"REQUEST": "read", "SQLS": []})");
  EXPECT_EQ(empty.body, R"({"statusCode": 200, "body": []})");
}

TEST_F(ServiceTest, WriteThroughPutsEveryNewRowInTheCache) {
  auto ids = WriteRows(2);
  for (size_t i = 0; i < ids.size(); ++i) {
    auto v = Cached(ids[i]);
    ASSERT_TRUE(v) << ids[i];
    auto row = RowFromJson(*v);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->id, ids[i]);
    EXPECT_EQ(row->hero, "h" + std::to_string(i));
  }
  EXPECT_EQ(metrics_->write_through_rows.load(), 2u);
  // Reads are then answered without the database.
  int before = store_->get_calls;
  auto rows = svc_->Read(ids, true);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(store_->get_calls, before);
  EXPECT_EQ(metrics_->cache_hits.load(), 2u);
}

TEST_F(ServiceTest, LazyLoadingQueriesOnlyDistinctMissesOnceThenHits) {
  auto ids = WriteRows(4, /*use_cache=*/false);
  EXPECT_EQ(cache_->set_calls, 0);  // write without cache leaves it untouched
  std::vector<int64_t> ask{ids[0], ids[1], ids[0], 424242};
  auto first = svc_->Read(ask, true);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(store_->get_calls, 1);
  EXPECT_EQ(store_->ids_requested, 3);  // ids[0], ids[1], 424242: distinct misses only
  EXPECT_EQ(cache_->mget_calls, 1);
  EXPECT_EQ(cache_->guarded_set_calls, 1);  // one pipelined fill
  EXPECT_TRUE(Cached(ids[0]));
  EXPECT_TRUE(Cached(ids[1]));
  EXPECT_FALSE(Cached(424242));  // no negative caching
  EXPECT_FALSE(Cached(ids[2]));

  auto second = svc_->Read(std::vector<int64_t>{ids[1], ids[0]}, true);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(store_->get_calls, 1);  // all hits
  EXPECT_EQ((*second)[0]->id, ids[1]);

  // Mixed: one hit, one miss -> the database sees only the miss.
  auto third = svc_->Read(std::vector<int64_t>{ids[0], ids[3]}, true);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(store_->get_calls, 2);
  EXPECT_EQ(store_->ids_requested, 4);
}

TEST_F(ServiceTest, UseCacheFalseReadsTheDatabaseOnlyAndLeavesTheCacheUntouched) {
  auto ids = WriteRows(2);
  int mget = cache_->mget_calls, set = cache_->set_calls;
  auto rows = svc_->Read(ids, false);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[1]->id, ids[1]);
  EXPECT_EQ(cache_->mget_calls, mget);
  EXPECT_EQ(cache_->set_calls, set);
  EXPECT_EQ(store_->get_calls, 1);
}

TEST_F(ServiceTest, AnUnknownIdReadBeforeItsInsertIsVisibleAfterIt) {
  auto none = svc_->Read(std::vector<int64_t>{1}, true);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE((*none)[0]);
  auto ids = WriteRows(1, /*use_cache=*/false);
  ASSERT_EQ(ids[0], 1);
  auto now = svc_->Read(std::vector<int64_t>{1}, true);
  ASSERT_TRUE(now.ok());
  ASSERT_TRUE((*now)[0]);
  EXPECT_EQ((*now)[0]->hero, "h0");
}

TEST_F(ServiceTest, TtlCarriesJitterWithinBounds) {
  ServiceOptions o;
  o.ttl_seconds = 100;
  o.ttl_jitter = 0.2;
  uint64_t next = 0;
  Build(o, [&] { return next; });
  next = 0;  // u = 0 -> lowest TTL
  WriteRows(1);
  EXPECT_EQ(cache_->last_ttl, 80);
  next = ~0ULL;  // u -> 1 -> highest TTL
  WriteRows(1);
  EXPECT_EQ(cache_->last_ttl, 120);
  next = 1ULL << 63;  // u = 0.5 -> the TTL itself
  WriteRows(1);
  EXPECT_EQ(cache_->last_ttl, 100);
}

TEST_F(ServiceTest, CacheDownOnReadFallsBackToTheDatabase) {
  auto ids = WriteRows(2);
  cache_->FailOn("mget");
  auto rows = svc_->Read(ids, true);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0]->id, ids[0]);
  EXPECT_EQ(store_->get_calls, 1);
  EXPECT_GE(metrics_->cache_errors.load(), 1u);
  Response r = svc_->Handle(R"({"REQUEST": "read", "SQLS": [1]})");
  EXPECT_EQ(r.status, 200);
}

TEST_F(ServiceTest, CacheFailureAfterCommitIsASuccessAndCannotHideTheRow) {
  // A value left under the next id by an earlier incarnation of the table.
  std::vector<CacheEntry> stale{{svc_->CacheKey(1), RowToJson(Row{1, "stale", "x", "x", 0, "x"}), 300}};
  ASSERT_TRUE(cache_->inner().SetMany(stale).ok());
  cache_->FailOn("set");
  Response w = svc_->Handle(
      R"({"REQUEST": "write", "SQLS": [{"hero":"fresh","power":"p","name":"n","xp":1,"color":"c"}]})");
  EXPECT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(metrics_->write_through_failures.load(), 1u);
  EXPECT_EQ(cache_->invalidate_calls, 1);
  EXPECT_EQ(svc_->PendingInvalidations(), 0u);
  cache_->Heal();
  auto rows = svc_->Read(std::vector<int64_t>{1}, true);
  ASSERT_TRUE(rows.ok());
  ASSERT_TRUE((*rows)[0]);
  EXPECT_EQ((*rows)[0]->hero, "fresh");
}

TEST_F(ServiceTest, InvalidateAllPendingForShutdown) {
  auto ids = WriteRows(3);
  ASSERT_TRUE(svc_->Read(ids, true).ok());  // cached
  cache_->FailOn("invalidate");
  std::vector<RowUpdate> ups;
  for (int64_t id : {ids[2], ids[0]}) {
    RowUpdate u;
    u.id = id;
    u.hero = "changed";
    ups.push_back(u);
  }
  ASSERT_TRUE(svc_->Update(ups).ok());
  ASSERT_EQ(svc_->PendingInvalidations(), 2u);
  // The cache still refuses: both ids are reported, ascending, and stay pending.
  Service::Unflushed left = svc_->InvalidateAllPending();
  EXPECT_EQ(left.ids, (std::vector<int64_t>{ids[0], ids[2]}));
  EXPECT_FALSE(left.overflowed);
  EXPECT_EQ(svc_->PendingInvalidations(), 2u);
  // Back: one attempt does them all, not only the due ones; the entries are gone.
  cache_->Heal();
  left = svc_->InvalidateAllPending();
  EXPECT_TRUE(left.ids.empty());
  EXPECT_EQ(svc_->PendingInvalidations(), 0u);
  auto entries = cache_->inner().MGet(
      std::vector<std::string>{svc_->CacheKey(ids[0]), svc_->CacheKey(ids[1]), svc_->CacheKey(ids[2])});
  ASSERT_TRUE(entries.ok());
  EXPECT_FALSE((*entries)[0]);
  EXPECT_TRUE((*entries)[1]);
  EXPECT_FALSE((*entries)[2]);
}

TEST(TestMutations, NamedAsTheirSwitchesAreSpelled) {
  EXPECT_EQ(TestMutationNamed(""), TestMutation::kNone);
  EXPECT_EQ(TestMutationNamed("insert-guard"), TestMutation::kInsertGuard);
  EXPECT_EQ(TestMutationNamed("fill-guard"), TestMutation::kFillGuard);
  EXPECT_EQ(TestMutationNamed("unknown-outcome"), TestMutation::kUnknownOutcome);
  EXPECT_EQ(TestMutationNamed("lease-release"), TestMutation::kLeaseRelease);
  EXPECT_EQ(TestMutationNamed("fill_guard"), std::nullopt);
  EXPECT_EQ(ServiceOptions{}.test_mutation, TestMutation::kNone);
}

TEST_F(ServiceTest, AParsedRequestIsAnsweredAndCountedAsItsText) {
  WriteRows(2);
  for (const std::string& body : {std::string(R"({"REQUEST": "read", "SQLS": [1, 2, 99]})"),
                                  std::string(R"({"REQUEST": "update", "SQLS": [{"id": 1, "xp": 5}]})"),
                                  std::string(R"({"USE_CACHE": "False", "REQUEST": "read", "SQLS": [1]})"),
                                  std::string(R"({"REQUEST": "delete", "SQLS": [2]})")}) {
    auto req = ParseRequest(body, svc_->options());
    ASSERT_TRUE(req.ok()) << body;
    Response parsed = svc_->Handle(*req);
    EXPECT_EQ(parsed.status, 200) << body << " -> " << parsed.body;
  }
  Response again = svc_->Handle(R"({"REQUEST": "read", "SQLS": [1, 2, 99]})");
  auto req = ParseRequest(R"({"REQUEST": "read", "SQLS": [1, 2, 99]})", svc_->options());
  EXPECT_EQ(svc_->Handle(*req).body, again.body);
  EXPECT_EQ(metrics_->Get(RequestKind::kRead, Outcome::kOk), 4u);
  EXPECT_EQ(metrics_->Get(RequestKind::kUpdate, Outcome::kOk), 1u);
  EXPECT_EQ(metrics_->Get(RequestKind::kDelete, Outcome::kOk), 1u);
}

TEST_F(ServiceTest, FillFailureDoesNotFailTheRead) {
  auto ids = WriteRows(1, false);
  cache_->FailOn("guarded_set");
  auto rows = svc_->Read(ids, true);
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE((*rows)[0]);
  EXPECT_EQ(metrics_->cache_errors.load(), 1u);
}

TEST_F(ServiceTest, DatabaseDownIs503ButCachedReadsStillWork) {
  auto ids = WriteRows(1);
  store_->FailOn("get");
  store_->FailOn("insert");
  Response cached = svc_->Handle(R"({"REQUEST": "read", "SQLS": [1]})");
  EXPECT_EQ(cached.status, 200) << cached.body;
  Response miss = svc_->Handle(R"({"REQUEST": "read", "SQLS": [1, 2]})");
  EXPECT_EQ(miss.status, 503);
  // The answer is generic; the store's message is for the log, under the answer's id.
  EXPECT_EQ(miss.body.find("database down"), std::string::npos) << miss.body;
  EXPECT_NE(miss.body.find("\"error\": \"the database is unavailable\", \"request_id\": \"" +
                           miss.request_id + "\""),
            std::string::npos)
      << miss.body;
  EXPECT_NE(ErrorLogLine(miss).find(miss.request_id + ": 503: injected: database down"), std::string::npos);
  Response w = svc_->Handle(
      R"({"REQUEST": "write", "SQLS": [{"hero":"a","power":"p","name":"n","xp":1,"color":"c"}]})");
  EXPECT_EQ(w.status, 503);
  EXPECT_EQ(metrics_->Get(RequestKind::kWrite, Outcome::kUnavailable), 1u);
  EXPECT_EQ(metrics_->Get(RequestKind::kRead, Outcome::kUnavailable), 1u);
  EXPECT_EQ(metrics_->Get(RequestKind::kRead, Outcome::kOk), 1u);
  // A front door's own request id (Lambda's) is the one the answer carries.
  Response given = svc_->Handle(R"({"REQUEST": "read", "SQLS": [3]})", "lambda-req-1");
  EXPECT_EQ(given.request_id, "lambda-req-1");
  EXPECT_NE(given.body.find("\"request_id\": \"lambda-req-1\""), std::string::npos);
}

// A read of more ids than the store binds in one query is split into
// queries of at most MaxIdsPerQuery() ids; the answer is the same.
TEST_F(ServiceTest, LargeReadsAreSplitIntoQueriesOfTheStoresLimit) {
  auto ids = WriteRows(8, /*use_cache=*/false);
  store_->max_ids_per_query = 3;
  std::vector<int64_t> ask = ids;
  ask.push_back(5000);    // no such row
  ask.push_back(ids[0]);  // repeated: asked once
  ask.push_back(6000);
  uint64_t queries = metrics_->db_queries.load();
  auto rows = svc_->Read(ask, /*use_cache=*/false);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(store_->get_sizes, (std::vector<size_t>{3, 3, 3, 1}));  // 10 distinct ids
  EXPECT_EQ(metrics_->db_queries.load() - queries, 4u);
  ASSERT_EQ(rows->size(), ask.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE((*rows)[i]) << i;
    EXPECT_EQ((*rows)[i]->id, ids[i]);
    EXPECT_EQ((*rows)[i]->hero, "h" + std::to_string(i));
  }
  EXPECT_FALSE((*rows)[8]);
  EXPECT_EQ((*rows)[9]->id, ids[0]);
  EXPECT_FALSE((*rows)[10]);

  // Through the cache: the misses are split the same way, and filled.
  store_->get_sizes.clear();
  rows = svc_->Read(ask, /*use_cache=*/true);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(store_->get_sizes, (std::vector<size_t>{3, 3, 3, 1}));
  store_->get_sizes.clear();
  rows = svc_->Read(ask, /*use_cache=*/true);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(store_->get_sizes, (std::vector<size_t>{2}));  // only the 2 unknown ids (never cached)
  EXPECT_EQ((*rows)[7]->hero, "h7");

  // A failure in a later query fails the read.
  store_->get_sizes.clear();
  int calls = 0;
  store_->before_get = [&] {
    if (++calls == 2) store_->FailOn("get");
  };
  auto failed = svc_->Read(ask, /*use_cache=*/false);
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(store_->get_sizes.size(), 2u);
  store_->before_get = nullptr;
  store_->Heal();
}

// 10,000 ids (more than the largest MySQL statement) through the embedded backends.
TEST_F(ServiceTest, TenThousandIdRead) {
  std::vector<Row> rows;
  for (int i = 0; i < 10000; ++i) rows.push_back(Row{0, "h", "p", "n", i, "c"});
  auto big_cache = NewMemoryCache(20000);
  ServiceOptions o;
  o.max_batch = 10000;
  Service svc(store_.get(), big_cache.get(), o, metrics_.get());
  auto ids = svc.Write(rows, /*use_cache=*/false);
  ASSERT_TRUE(ids.ok());
  std::string event = R"({"REQUEST": "read", "SQLS": [)";
  for (size_t i = 0; i < ids->size(); ++i) event += (i ? "," : "") + std::to_string((*ids)[i]);
  event += "]}";
  for (int pass = 0; pass < 2; ++pass) {  // misses, then hits
    Response r = svc.Handle(event);
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
    EXPECT_NE(r.body.find("\"xp\": 9999"), std::string::npos);
  }
  EXPECT_EQ(metrics_->cache_hits.load(), 10000u);
}

TEST_F(ServiceTest, CorruptCacheValueIsAMissNotAWrongAnswer) {
  auto ids = WriteRows(1, false);
  std::vector<CacheEntry> junk{{svc_->CacheKey(ids[0]), "not json", 300}};
  ASSERT_TRUE(cache_->inner().SetMany(junk).ok());
  // A well-formed row stored under another id's key is also refused.
  std::vector<CacheEntry> wrong{{svc_->CacheKey(77), RowToJson(Row{ids[0], "h", "p", "n", 1, "c"}), 300}};
  ASSERT_TRUE(cache_->inner().SetMany(wrong).ok());
  auto rows = svc_->Read(std::vector<int64_t>{ids[0], 77}, true);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0]->hero, "h0");
  EXPECT_FALSE((*rows)[1]);
  EXPECT_EQ(metrics_->cache_corrupt.load(), 2u);
}

TEST_F(ServiceTest, InvalidBatchWritesNothing) {
  Response w = svc_->Handle(R"({"REQUEST": "write", "SQLS": [
      {"hero":"a","power":"p","name":"n","xp":1,"color":"c"},
      {"hero":"b","power":"p","name":"n","xp":2,"color":"c"},
      {"hero":"c","power":"p","name":"n","xp":"x","color":"c"}]})");
  EXPECT_EQ(w.status, 400);
  EXPECT_NE(w.body.find("SQLS[2].xp"), std::string::npos);
  EXPECT_EQ(store_->insert_calls, 0);
  auto rows = svc_->Read(std::vector<int64_t>{1, 2, 3}, false);
  ASSERT_TRUE(rows.ok());
  for (const auto& r : *rows) EXPECT_FALSE(r);
  EXPECT_EQ(metrics_->Get(RequestKind::kWrite, Outcome::kClientError), 1u);
}

TEST_F(ServiceTest, LargeReadWithManyDuplicates) {
  auto ids = WriteRows(30);
  std::vector<int64_t> ask;
  for (int rep = 0; rep < 3; ++rep)
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) ask.push_back(*it);
  ask.push_back(5000);
  auto rows = svc_->Read(ask, true);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), ask.size());
  for (size_t i = 0; i + 1 < ask.size(); ++i) EXPECT_EQ((*rows)[i]->id, ask[i]);
  EXPECT_FALSE(rows->back());
}

TEST_F(ServiceTest, NoCacheConfigured) {
  auto s = OpenStore("sqlite::memory:");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->EnsureSchema().ok());
  Metrics m;
  Service svc(s->get(), nullptr, ServiceOptions{}, &m);
  Response w = svc.Handle(
      R"({"USE_CACHE": true, "REQUEST": "write", "SQLS": [{"hero":"a","power":"p","name":"n","xp":1,"color":"c"}]})");
  EXPECT_EQ(w.status, 200);
  Response r = svc.Handle(R"({"USE_CACHE": true, "REQUEST": "read", "SQLS": [1]})");
  EXPECT_NE(r.body.find("\"hero\": \"a\""), std::string::npos);
}

TEST_F(ServiceTest, MetricsRenderPrometheusText) {
  WriteRows(1);
  svc_->Handle(R"({"REQUEST": "read", "SQLS": [1]})");
  svc_->Handle("nonsense");
  std::string text = metrics_->Render();
  EXPECT_NE(text.find("rowcache_requests_total{kind=\"read\",outcome=\"ok\"} 1"), std::string::npos);
  EXPECT_NE(text.find("rowcache_requests_total{kind=\"invalid\",outcome=\"client_error\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("rowcache_cache_hits_total 1"), std::string::npos);
  EXPECT_NE(text.find("rowcache_request_duration_seconds_bucket{kind=\"read\",le=\"+Inf\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE rowcache_request_duration_seconds histogram"), std::string::npos);
}

}  // namespace
}  // namespace rowcache
