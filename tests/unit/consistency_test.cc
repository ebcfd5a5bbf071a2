// Update/delete with invalidation, the stale-set race, retried invalidations,
// single-flight, and the cache circuit breaker.
#include <gtest/gtest.h>

#include <thread>

#include "cache/circuit_breaker.h"
#include "cache/memory_cache.h"
#include "rowcache/service.h"
#include "support/fakes.h"

namespace rowcache {
namespace {

using testing::FaultyCache;
using testing::FaultyStore;

class ConsistencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = OpenStore("sqlite::memory:");
    ASSERT_TRUE(s.ok());
    store_ = std::make_unique<FaultyStore>(std::move(s.value()));
    ASSERT_TRUE(store_->EnsureSchema().ok());
    cache_ = std::make_unique<FaultyCache>(NewMemoryCache(1000));
    ServiceOptions o;
    o.invalidation_retry_nanos = 0;  // retry on every request
    svc_ = std::make_unique<Service>(store_.get(), cache_.get(), o, &metrics_);
  }

  int64_t Insert(const std::string& hero) {
    auto ids = svc_->Write(std::vector<Row>{{0, hero, "p", "n", 1, "c"}}, true);
    EXPECT_TRUE(ids.ok());
    return ids.ok() ? (*ids)[0] : 0;
  }
  std::string HeroOf(int64_t id, bool use_cache = true) {
    auto rows = svc_->Read(std::vector<int64_t>{id}, use_cache);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() && (*rows)[0] ? (*rows)[0]->hero : "<none>";
  }
  Status SetHero(int64_t id, const std::string& hero) {
    RowUpdate u;
    u.id = id;
    u.hero = hero;
    return svc_->Update(std::vector<RowUpdate>{u});
  }

  Metrics metrics_;
  std::unique_ptr<FaultyStore> store_;
  std::unique_ptr<FaultyCache> cache_;
  std::unique_ptr<Service> svc_;
};

TEST_F(ConsistencyTest, UpdateAndDeleteInvalidateTheCache) {
  int64_t id = Insert("old");
  EXPECT_EQ(HeroOf(id), "old");  // cached by write-through
  ASSERT_TRUE(SetHero(id, "new").ok());
  EXPECT_EQ(HeroOf(id), "new");
  EXPECT_EQ(HeroOf(id), "new");  // refilled and served from the cache
  EXPECT_GE(metrics_.cache_hits.load(), 2u);
  auto gone = svc_->Delete(std::vector<int64_t>{id, 999});
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(*gone, std::vector<int64_t>{id});  // only the id that had a row
  EXPECT_EQ(HeroOf(id), "<none>");
}

TEST_F(ConsistencyTest, UpdateOfAMissingRowChangesNothing) {
  int64_t id = Insert("a");
  Response r = svc_->Handle(R"({"REQUEST":"update","SQLS":[{"id":)" + std::to_string(id) +
                            R"(,"hero":"b"},{"id":4242,"hero":"c"}]})");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("no row with id 4242"), std::string::npos) << r.body;
  EXPECT_EQ(HeroOf(id, false), "a");
  Response ok = svc_->Handle(R"({"REQUEST":"update","SQLS":[{"id":)" + std::to_string(id) + R"(,"xp":7}]})");
  EXPECT_EQ(ok.body, R"({"statusCode": 200, "body": "update success", "ids": [)" + std::to_string(id) + "]}");
  Response del = svc_->Handle(R"({"REQUEST":"delete","SQLS":[)" + std::to_string(id) + "]}");
  EXPECT_EQ(del.body,
            R"({"statusCode": 200, "body": "delete success", "ids": [)" + std::to_string(id) + "]}");
}

// The stale-set race: a reader misses, reads the old row from the database,
// a writer updates the row and invalidates, and only then does the reader's
// fill reach the cache. The invalidation deleted the reader's lease, so the
// fill is a no-op.
TEST_F(ConsistencyTest, AFillThatRacedAnUpdateDoesNotInstallOldData) {
  int64_t id = Insert("v1");
  ASSERT_TRUE(cache_->inner().Del(std::vector<std::string>{svc_->CacheKey(id)}).ok());
  bool raced = false;
  cache_->before_guarded_set = [&] {
    if (raced) return;
    raced = true;
    ASSERT_TRUE(SetHero(id, "v2").ok());  // commits and invalidates between read and fill
  };
  EXPECT_EQ(HeroOf(id), "v1");  // the read began before the update: old value is fine
  EXPECT_TRUE(raced);
  EXPECT_EQ(metrics_.cache_fills_refused.load(), 1u);
  cache_->before_guarded_set = nullptr;
  EXPECT_EQ(HeroOf(id), "v2");  // never the stale v1 from the cache
  EXPECT_EQ(HeroOf(id), "v2");
}

TEST_F(ConsistencyTest, FailedInvalidationsBypassTheCacheUntilRetriedSuccessfully) {
  int64_t id = Insert("v1");
  cache_->FailOn("invalidate");
  ASSERT_TRUE(SetHero(id, "v2").ok());  // committed: a success even though the cache is unreachable
  EXPECT_EQ(svc_->PendingInvalidations(), 1u);
  // The cache still holds v1, but this id now bypasses it.
  EXPECT_TRUE(cache_->inner().MGet(std::vector<std::string>{svc_->CacheKey(id)}).value()[0].has_value());
  EXPECT_EQ(HeroOf(id), "v2");
  EXPECT_EQ(HeroOf(id), "v2");
  cache_->Heal();
  svc_->RetryPendingInvalidations();
  EXPECT_EQ(svc_->PendingInvalidations(), 0u);
  EXPECT_FALSE(cache_->inner().MGet(std::vector<std::string>{svc_->CacheKey(id)}).value()[0].has_value());
  EXPECT_EQ(HeroOf(id), "v2");
  EXPECT_EQ(HeroOf(id), "v2");
  EXPECT_GE(metrics_.cache_hits.load(), 1u);
}

// An insert's write-through raced by an update of the new row (possible once
// the insert committed): the write-through must not land after the update's
// invalidation. It is conditional on the writer's lease, taken before COMMIT.
TEST_F(ConsistencyTest, AnInsertWriteThroughRacedByAnUpdateDoesNotLand) {
  int64_t id = 0;
  bool raced = false;
  cache_->before_guarded_set = [&] {
    if (raced) return;
    raced = true;
    auto rows = store_->Get(std::vector<int64_t>{1});  // the insert committed: the row is visible
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    id = (*rows)[0].id;
    ASSERT_TRUE(SetHero(id, "updated").ok());
  };
  int64_t inserted = Insert("inserted");
  EXPECT_TRUE(raced);
  EXPECT_EQ(inserted, id);
  cache_->before_guarded_set = nullptr;
  EXPECT_EQ(metrics_.cache_fills_refused.load(), 1u);
  EXPECT_FALSE(cache_->inner().MGet(std::vector<std::string>{svc_->CacheKey(id)}).value()[0].has_value());
  EXPECT_EQ(HeroOf(id), "updated");
  EXPECT_EQ(HeroOf(id), "updated");
}

// A reader's lease lost between its lookup and its fill (evicted, flushed,
// a restart without persistence) must refuse the fill: absence is never
// taken as proof that nothing changed.
TEST_F(ConsistencyTest, AFillWhoseLeaseWasLostIsRefused) {
  int64_t id = Insert("v1");
  ASSERT_TRUE(cache_->inner().Del(std::vector<std::string>{svc_->CacheKey(id)}).ok());
  bool raced = false;
  store_->before_get = [&] {
    if (raced) return;
    raced = true;
    // Another process commits v2 and invalidates; then the guard key is
    // lost (here: deleted, as an eviction or FLUSHALL would).
    ASSERT_TRUE(store_->Update(std::vector<RowUpdate>{{id, std::string("v2"), {}, {}, {}, {}}}).ok());
    ASSERT_TRUE(cache_->inner().Del(std::vector<std::string>{svc_->GuardKey(id)}).ok());
  };
  HeroOf(id);  // read before or after v2: either is right for this read
  EXPECT_TRUE(raced);
  store_->before_get = nullptr;
  EXPECT_EQ(metrics_.cache_fills.load(), 0u);
  EXPECT_EQ(HeroOf(id), "v2");
}

std::vector<int64_t> FreshIds(int64_t first, size_t n) {
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = first + static_cast<int64_t>(i);
  return ids;
}

// A read of ids that have no row takes a lease per id; it gives each back,
// so nothing is left in the cache (no guard, no negative entry). With the
// release switched off (the "lease-release" mutation) the guards stay.
TEST_F(ConsistencyTest, AReadOfMissingIdsLeavesNothingInTheCache) {
  auto ids = FreshIds(1'000'000, 300);
  std::vector<std::string> keys;
  for (int64_t id : ids) {
    keys.push_back(svc_->CacheKey(id));
    keys.push_back(svc_->GuardKey(id));
  }
  auto count = [&] {
    auto v = cache_->inner().MGet(keys);
    EXPECT_TRUE(v.ok());
    return std::count_if(v->begin(), v->end(), [](const auto& e) { return e.has_value(); });
  };
  auto rows = svc_->Read(ids, true);
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(std::all_of(rows->begin(), rows->end(), [](const auto& r) { return !r; }));
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(metrics_.cache_leases_released.load(), ids.size());
  EXPECT_EQ(cache_->release_calls.load(), 1);  // one call for the whole read

  ServiceOptions o;
  o.test_mutation = TestMutation::kLeaseRelease;
  Service kept(store_.get(), cache_.get(), o, &metrics_);
  ASSERT_TRUE(kept.Read(ids, true).ok());
  EXPECT_EQ(count(), static_cast<long>(ids.size()));  // the check above can fail
}

// Reads of missing ids do not push real entries out of the cache: each
// holds its leases only while it runs (here 500 at a time in a cache of
// 1000 entries; kept, 10 reads would leave 5000).
TEST_F(ConsistencyTest, ReadsOfMissingIdsDoNotEvictRealEntries) {
  int64_t id = Insert("kept");  // written through: cached
  for (int round = 0; round < 10; ++round)
    ASSERT_TRUE(svc_->Read(FreshIds(2'000'000 + round * 500, 500), true).ok());
  auto v = cache_->inner().MGet(std::vector<std::string>{svc_->CacheKey(id)});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE((*v)[0].has_value());
  uint64_t hits = metrics_.cache_hits.load();
  EXPECT_EQ(HeroOf(id), "kept");
  EXPECT_EQ(metrics_.cache_hits.load(), hits + 1);
}

// The release is a compare-and-delete of this read's token: a writer whose
// lease replaced it (its insert is about to commit) keeps its lease, and its
// write-through still lands.
TEST_F(ConsistencyTest, ReleasingAReadersLeaseNeverRemovesAWritersLease) {
  const int64_t id = 3'000'000;
  const std::string guard = svc_->GuardKey(id);
  cache_->before_release = [&] {
    ASSERT_TRUE(cache_->inner().Lease(std::vector<std::string>{guard}, "writer-token", 15000).ok());
  };
  auto rows = svc_->Read(std::vector<int64_t>{id}, true);
  ASSERT_TRUE(rows.ok());
  EXPECT_FALSE((*rows)[0]);
  EXPECT_EQ(cache_->release_calls.load(), 1);
  EXPECT_EQ(metrics_.cache_leases_released.load(), 0u);
  auto v = cache_->inner().MGet(std::vector<std::string>{guard});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[0], "writer-token");
  auto stored = cache_->inner().SetIfLeaseHeld(
      std::vector<LeasedEntry>{{svc_->CacheKey(id), "{}", 100, guard, "writer-token"}});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, 1u);
}

// A lease taken for a read whose database query failed is given back too.
TEST_F(ConsistencyTest, ADatabaseErrorAlsoReleasesTheLeases) {
  store_->FailOn("get");
  auto ids = FreshIds(4'000'000, 10);
  EXPECT_FALSE(svc_->Read(ids, true).ok());
  EXPECT_EQ(metrics_.cache_leases_released.load(), ids.size());
}

// A write whose COMMIT outcome is unknown (the connection was lost after it
// was sent) may have committed: its ids are invalidated in the cache (so
// other processes do not serve the old row) and bypassed here.
TEST_F(ConsistencyTest, AWriteWithAnUnknownOutcomeIsInvalidated) {
  int64_t id = Insert("v1");
  int64_t gone = Insert("doomed");
  EXPECT_EQ(HeroOf(id), "v1");
  store_->FailOn("commit_unknown");
  EXPECT_FALSE(SetHero(id, "v2").ok());
  EXPECT_FALSE(svc_->Delete(std::vector<int64_t>{gone}).ok());
  store_->Heal();
  EXPECT_EQ(metrics_.writes_unknown_outcome.load(), 2u);
  EXPECT_FALSE(cache_->inner().MGet(std::vector<std::string>{svc_->CacheKey(id)}).value()[0].has_value());
  EXPECT_FALSE(cache_->inner().MGet(std::vector<std::string>{svc_->CacheKey(gone)}).value()[0].has_value());
  // Another process sharing the cache sees the committed values.
  Metrics other_metrics;
  Service other(store_.get(), cache_.get(), ServiceOptions{}, &other_metrics);
  auto rows = other.Read(std::vector<int64_t>{id, gone}, true);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0]->hero, "v2");
  EXPECT_FALSE((*rows)[1].has_value());
  EXPECT_EQ(HeroOf(id), "v2");
  EXPECT_GE(svc_->PendingInvalidations(), 1u);  // invalidated again once the database is surely done
}

// A retry of failed invalidations must not drop a newer failed invalidation
// of the same id that arrived after the retry's own invalidation was sent.
TEST_F(ConsistencyTest, ARetryKeepsANewerPendingInvalidation) {
  int64_t id = Insert("v1");
  cache_->FailOn("invalidate");
  ASSERT_TRUE(SetHero(id, "v2").ok());
  EXPECT_EQ(svc_->PendingInvalidations(), 1u);
  cache_->Heal();
  bool raced = false;
  cache_->after_invalidate = [&] {
    if (raced) return;
    raced = true;
    cache_->FailOn("invalidate");
    ASSERT_TRUE(SetHero(id, "v3").ok());  // committed after the retry's invalidation; its own fails
    cache_->Heal();
  };
  svc_->RetryPendingInvalidations();
  cache_->after_invalidate = nullptr;
  EXPECT_TRUE(raced);
  EXPECT_EQ(svc_->PendingInvalidations(), 1u);  // v3's invalidation is still owed
  svc_->RetryPendingInvalidations();
  EXPECT_EQ(svc_->PendingInvalidations(), 0u);
  EXPECT_EQ(HeroOf(id), "v3");
}

// A lookup sent while an id's invalidation was pending, whose reply arrives
// after a retry cleared it, must not be used: the reply may predate the DEL.
TEST_F(ConsistencyTest, ALookupSentWhileAnInvalidationWasPendingIsNotUsed) {
  int64_t id = Insert("v1");
  cache_->FailOn("invalidate");
  ASSERT_TRUE(SetHero(id, "v2").ok());
  EXPECT_EQ(svc_->PendingInvalidations(), 1u);
  cache_->Heal();
  bool raced = false;
  cache_->after_get_or_lease = [&] {
    if (raced) return;
    raced = true;
    svc_->RetryPendingInvalidations();  // clears the id after the reply (holding v1) was produced
  };
  EXPECT_EQ(HeroOf(id), "v2");
  EXPECT_TRUE(raced);
  cache_->after_get_or_lease = nullptr;
  EXPECT_EQ(svc_->PendingInvalidations(), 0u);
  EXPECT_EQ(HeroOf(id), "v2");
}

// Past max_pending_invalidations the whole cache is bypassed; the fast read
// path (CacheOnlyKeys / AnswerFromEntries) must respect that too, not only
// the count of tracked ids.
TEST_F(ConsistencyTest, TheFastPathRespectsAnOverflowedPendingSet) {
  ServiceOptions o;
  o.max_pending_invalidations = 0;  // every failed invalidation overflows
  Service svc(store_.get(), cache_.get(), o, &metrics_);
  auto ids = svc.Write(std::vector<Row>{{0, "v1", "p", "n", 1, "c"}}, true);
  ASSERT_TRUE(ids.ok());
  auto req = ParseRequest("{\"REQUEST\": \"read\", \"SQLS\": [" + std::to_string((*ids)[0]) + "]}", o);
  ASSERT_TRUE(req.ok());
  EXPECT_TRUE(svc.CacheOnlyKeys(*req).has_value());
  cache_->FailOn("invalidate");
  RowUpdate u;
  u.id = (*ids)[0];
  u.hero = "v2";
  ASSERT_TRUE(svc.Update(std::vector<RowUpdate>{u}).ok());
  cache_->Heal();
  EXPECT_EQ(svc.PendingInvalidations(), 0u);  // nothing tracked: overflowed
  EXPECT_FALSE(svc.CacheOnlyKeys(*req).has_value());
  std::vector<std::optional<std::string>> stale{RowToJson(Row{(*ids)[0], "v1", "p", "n", 1, "c"})};
  EXPECT_FALSE(svc.AnswerFromEntries(*req, stale, 0).has_value());
  auto rows = svc.Read(std::vector<int64_t>{(*ids)[0]}, true);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0]->hero, "v2");
}

// Readers that were all invoked before the query began share it. (The clock
// is frozen, so every reader counts as invoked no later than the query.)
TEST_F(ConsistencyTest, ConcurrentMissesOnOneIdShareOneQuery) {
  Service svc(store_.get(), cache_.get(), ServiceOptions{}, &metrics_, [] { return int64_t{1}; });
  auto ids = svc.Write(std::vector<Row>{{0, "x", "p", "n", 1, "c"}}, false);
  ASSERT_TRUE(ids.ok());
  int64_t id = (*ids)[0];
  constexpr int kReaders = 8;
  std::atomic<bool> first{true};
  store_->before_get = [&] {
    if (!first.exchange(false)) return;
    // Hold the first query until every other reader has joined it.
    for (int i = 0; i < 5000 && metrics_.db_coalesced.load() < kReaders - 1; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int i = 0; i < kReaders; ++i) {
    threads.emplace_back([&] {
      auto rows = svc.Read(std::vector<int64_t>{id}, /*use_cache=*/false);
      if (rows.ok() && (*rows)[0] && (*rows)[0]->hero == "x") ++right;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(right.load(), kReaders);
  EXPECT_EQ(metrics_.db_coalesced.load(), static_cast<uint64_t>(kReaders - 1));
  EXPECT_EQ(store_->get_calls.load(), 1);
}

// A reader invoked after a query began does not join it: another process
// may have acknowledged a write in between, which this process cannot see
// (its query, begun earlier, may not show that write).
TEST_F(ConsistencyTest, AReadNeverJoinsAQueryThatBeganBeforeIt) {
  std::atomic<int64_t> clock{1};
  Service svc(store_.get(), cache_.get(), ServiceOptions{}, &metrics_, [&] { return clock.load(); });
  auto ids = svc.Write(std::vector<Row>{{0, "old", "p", "n", 1, "c"}}, false);
  ASSERT_TRUE(ids.ok());
  int64_t id = (*ids)[0];
  std::atomic<int> phase{0};
  std::thread second;
  store_->before_get = [&] {
    if (phase.exchange(1) != 0) return;
    // The first query is in flight. Time passes (another process could
    // commit and acknowledge here); then a second read is invoked.
    clock += 1000;
    second = std::thread([&] { ASSERT_TRUE(svc.Read(std::vector<int64_t>{id}, false).ok()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // long enough to join, if it would
  };
  ASSERT_TRUE(svc.Read(std::vector<int64_t>{id}, false).ok());
  second.join();
  EXPECT_EQ(metrics_.db_coalesced.load(), 0u);
  EXPECT_EQ(store_->get_calls.load(), 2);
}

TEST_F(ConsistencyTest, AReadAfterAnAcknowledgedUpdateNeverJoinsAnOlderQuery) {
  int64_t id = Insert("old");
  std::atomic<int> phase{0};
  store_->before_get = [&] {
    if (phase.load() != 0) return;
    phase = 1;  // the first query is in flight (it may or may not see the update)
    while (phase.load() != 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  std::thread slow([&] { HeroOf(id, false); });
  while (phase.load() != 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(SetHero(id, "new").ok());
  std::string seen;
  std::thread fresh([&] { seen = HeroOf(id, false); });
  fresh.join();  // must not wait for the held query: it runs its own
  phase = 2;
  slow.join();
  EXPECT_EQ(seen, "new");
  EXPECT_EQ(metrics_.db_coalesced.load(), 0u);
  EXPECT_EQ(store_->get_calls.load(), 2);
}

TEST(CircuitBreaker, OpensAfterFailuresFailsFastThenProbesAndCloses) {
  int64_t now = 0;
  Metrics m;
  auto faulty = std::make_unique<FaultyCache>(NewMemoryCache(10));
  FaultyCache* f = faulty.get();
  auto c = NewCircuitBreakerCache(std::move(faulty), BreakerOptions{3, std::chrono::milliseconds(1000)}, &m,
                                  [&] { return now; });
  std::vector<std::string> keys{"k"};
  f->FailOn("mget");
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(c->MGet(keys).ok());
  EXPECT_EQ(f->mget_calls, 3);
  EXPECT_EQ(m.cache_breaker_state.load(), 1);
  // Open: refused without touching the cache.
  auto r = c->MGet(keys);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("circuit open"), std::string::npos);
  EXPECT_EQ(f->mget_calls, 3);
  EXPECT_EQ(m.cache_short_circuits.load(), 1u);
  // After open_for, one probe; it fails, so the breaker opens again.
  now += 1'000'000'000;
  EXPECT_FALSE(c->MGet(keys).ok());
  EXPECT_EQ(f->mget_calls, 4);
  EXPECT_FALSE(c->MGet(keys).ok());
  EXPECT_EQ(f->mget_calls, 4);
  // The cache is back: the next probe succeeds and closes the breaker.
  f->Heal();
  now += 1'000'000'000;
  EXPECT_TRUE(c->MGet(keys).ok());
  EXPECT_TRUE(c->MGet(keys).ok());
  EXPECT_EQ(f->mget_calls, 6);
  EXPECT_EQ(m.cache_breaker_state.load(), 0);
  EXPECT_EQ(m.cache_breaker_opens.load(), 2u);
}

// An open breaker refuses reads at once, but never an invalidation: the
// breaker may have opened on errors of a cache that still accepts DEL (a full
// Redis answering OOM), and a refused invalidation would leave other
// processes serving the old row.
TEST(CircuitBreaker, InvalidationsAreAttemptedEvenWhenOpen) {
  int64_t now = 0;
  Metrics m;
  auto faulty = std::make_unique<FaultyCache>(NewMemoryCache(10));
  FaultyCache* f = faulty.get();
  auto c = NewCircuitBreakerCache(std::move(faulty), BreakerOptions{3, std::chrono::milliseconds(1000)}, &m,
                                  [&] { return now; });
  f->FailOn("mget");
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(c->MGet(std::vector<std::string>{"k"}).ok());
  EXPECT_EQ(m.cache_breaker_state.load(), 1);
  ASSERT_TRUE(f->inner().SetMany(std::vector<CacheEntry>{{"p{1}", "old", 100}}).ok());
  EXPECT_TRUE(c->Invalidate(std::vector<KeyAndGuard>{{"p{1}", "p{1}:gen"}}).ok());
  EXPECT_EQ(f->invalidate_calls.load(), 1);
  EXPECT_FALSE(f->inner().MGet(std::vector<std::string>{"p{1}"}).value()[0].has_value());
}

TEST(CircuitBreaker, AServiceBehindAnOpenBreakerStillAnswersFromTheDatabase) {
  auto s = OpenStore("sqlite::memory:");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->EnsureSchema().ok());
  Metrics m;
  auto faulty = std::make_unique<FaultyCache>(NewMemoryCache(10));
  FaultyCache* f = faulty.get();
  auto c = NewCircuitBreakerCache(std::move(faulty), BreakerOptions{}, &m);
  Service svc(s->get(), c.get(), ServiceOptions{}, &m);
  f->FailOn("mget");
  f->FailOn("set");
  f->FailOn("invalidate");
  f->FailOn("guarded_set");
  for (int i = 0; i < 20; ++i) {
    Response w =
        svc.Handle(R"({"REQUEST":"write","SQLS":[{"hero":"h","power":"p","name":"n","xp":1,"color":"c"}]})");
    ASSERT_EQ(w.status, 200) << w.body;
    Response r = svc.Handle(R"({"REQUEST":"read","SQLS":[1]})");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  EXPECT_GT(m.cache_short_circuits.load(), 0u);
  EXPECT_LT(f->mget_calls.load(), 20);
}

}  // namespace
}  // namespace rowcache
