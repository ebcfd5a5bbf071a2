// The near cache's own rules: serving only when told, tickets refusing fills
// that an invalidation or flush overtook, LRU by bytes, TTL from Redis, and
// the decorator dropping entries on this instance's writes.
#include "cache/near_cache.h"

#include <gtest/gtest.h>

#include <limits>

#include "cache/memory_cache.h"
#include "rowcache/row.h"
#include "rowcache/service.h"

namespace rowcache {
namespace {

class NearCacheTest : public ::testing::Test {
 protected:
  int64_t now_ = 1'000'000'000;
  NearCache near_{NearCacheOptions{}, [this] { return now_; }};
};

TEST_F(NearCacheTest, ServesOnlyWhileServing) {
  near_.Put("k", "v", 1000, near_.TicketFor("k"));
  EXPECT_FALSE(near_.Get("k"));  // not serving yet: nothing stored
  near_.SetServing(true);
  near_.Put("k", "v", 1000, near_.TicketFor("k"));
  EXPECT_EQ(near_.Get("k"), "v");
  near_.SetServing(false);  // tracking lost: flushed and bypassed
  EXPECT_FALSE(near_.Get("k"));
  near_.SetServing(true);
  EXPECT_FALSE(near_.Get("k"));  // nothing from before survives
}

// A TTL Redis reports (PTTL) or a lag the configuration sets is any int64:
// past ~9.2e12 ms it no longer fits in nanoseconds, and the arithmetic
// saturates (an entry that long-lived is kept, not expired at once by a wrap
// into the past; UBSan sees no overflow).
TEST_F(NearCacheTest, HugeTtlsAndLagsSaturate) {
  near_.SetServing(true);
  for (int64_t ttl : {int64_t{9'300'000'000'000}, std::numeric_limits<int64_t>::max() / 1000,
                      std::numeric_limits<int64_t>::max()}) {
    std::string k = "k" + std::to_string(ttl);
    near_.Put(k, "v", ttl, near_.TicketFor(k));
    EXPECT_EQ(near_.Get(k), "v") << ttl;
  }
  near_.Put("neg", "v", std::numeric_limits<int64_t>::min(), near_.TicketFor("neg"));
  EXPECT_FALSE(near_.Get("neg"));
  now_ = std::numeric_limits<int64_t>::max() - 10;  // the end of time: the entries are still there
  EXPECT_FALSE(near_.serving());                    // coherent 9.2e18 ns ago
  near_.SetCoherentAsOf(now_);
  EXPECT_EQ(near_.Get("k" + std::to_string(std::numeric_limits<int64_t>::max())), "v");

  int64_t now = 1'000'000'000;
  NearCache lax(NearCacheOptions{100, 1 << 20, std::numeric_limits<int64_t>::max()}, [&] { return now; });
  lax.SetServing(true);
  now = std::numeric_limits<int64_t>::max();
  EXPECT_TRUE(lax.serving());
}

TEST_F(NearCacheTest, AnInvalidationOrFlushAfterTheTicketRefusesTheFill) {
  near_.SetServing(true);
  auto t = near_.TicketFor("k");
  near_.Invalidate("k");  // the change's invalidation overtook the Redis reply
  near_.Put("k", "old", 1000, t);
  EXPECT_FALSE(near_.Get("k"));
  t = near_.TicketFor("k");
  near_.Flush();
  near_.Put("k", "old", 1000, t);
  EXPECT_FALSE(near_.Get("k"));
  t = near_.TicketFor("k");
  near_.Put("k", "new", 1000, t);
  EXPECT_EQ(near_.Get("k"), "new");
  near_.Invalidate("k");
  EXPECT_FALSE(near_.Get("k"));
  EXPECT_EQ(near_.stats().refused, 2u);
}

TEST_F(NearCacheTest, EntriesExpireWithTheirRedisTtl) {
  near_.SetServing(true);
  near_.Put("k", "v", 500, near_.TicketFor("k"));
  near_.Put("gone", "v", -2, near_.TicketFor("gone"));  // no TTL known: not stored
  now_ += 499'000'000;
  near_.SetCoherentAsOf(now_);
  EXPECT_EQ(near_.Get("k"), "v");
  now_ += 2'000'000;
  EXPECT_FALSE(near_.Get("k"));
  EXPECT_FALSE(near_.Get("gone"));
}

// Entries are served only while the channel proved coherence recently: a
// tracker that stopped hearing PONGs (a silent partition, a stalled thread)
// stops the near cache within max_lag_ms.
TEST_F(NearCacheTest, NotServedWhenTheChannelHasNotProvedItselfRecently) {
  near_.SetServing(true);
  near_.Put("k", "v", 100000, near_.TicketFor("k"));
  EXPECT_EQ(near_.Get("k"), "v");
  now_ += 301'000'000;  // default max_lag_ms 300
  EXPECT_FALSE(near_.Get("k"));
  near_.SetCoherentAsOf(now_ - 10'000'000);
  EXPECT_EQ(near_.Get("k"), "v");
  near_.SetCoherentAsOf(now_ - 500'000'000);  // older than what it had: ignored
  EXPECT_EQ(near_.Get("k"), "v");
}

TEST_F(NearCacheTest, MemoryIsBoundedByBytesAndEntries) {
  NearCache small(NearCacheOptions{64 * 4, 1 << 20}, [this] { return now_; });  // 4 entries per shard
  small.SetServing(true);
  for (int i = 0; i < 5000; ++i) {
    std::string k = "key" + std::to_string(i);
    small.Put(k, std::string(100, 'x'), 10000, small.TicketFor(k));
  }
  auto st = small.stats();
  EXPECT_LE(st.entries, 64u * 4);
  NearCache fifty(NearCacheOptions{50, 1 << 20}, [this] { return now_; });  // fewer than the shards
  fifty.SetServing(true);
  for (int i = 0; i < 500; ++i) {
    std::string k = "key" + std::to_string(i);
    fifty.Put(k, "v", 10000, fifty.TicketFor(k));
  }
  EXPECT_LE(fifty.stats().entries, 50u);
  EXPECT_GT(fifty.stats().entries, 0u);
  EXPECT_LE(st.bytes, size_t{1} << 20);
  EXPECT_GT(st.evicted, 0u);
  NearCache tiny(NearCacheOptions{100000, 64 * 4096}, [this] { return now_; });  // 4 KiB per shard
  tiny.SetServing(true);
  for (int i = 0; i < 5000; ++i) {
    std::string k = "key" + std::to_string(i);
    tiny.Put(k, std::string(1000, 'x'), 10000, tiny.TicketFor(k));
  }
  EXPECT_LE(tiny.stats().bytes, size_t{64} * 4096);
  tiny.Put("huge", std::string(8192, 'x'), 10000, tiny.TicketFor("huge"));  // larger than a shard
  EXPECT_FALSE(tiny.Get("huge"));
}

TEST(NearCachedCache, OwnWritesDropNearEntriesEvenWhenTheInnerCacheFails) {
  auto near = std::make_shared<NearCache>(NearCacheOptions{});
  near->SetServing(true);
  auto cache = NewNearCachedCache(near, NewMemoryCache(100), "p");
  std::vector<KeyAndGuard> kg{{"p{1}", "p{1}:gen"}};
  const std::string v1 = RowToJson(Row{1, "h", "p", "n", 1, "c"});
  ASSERT_TRUE(cache->SetMany(std::vector<CacheEntry>{{"p{1}", v1, 100}, {"p{2}", v1, 100}}).ok());
  auto a = cache->GetOrLease(kg, "t", 1000);  // from the inner cache, with its TTL: fills the near cache
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)[0].value, v1);
  EXPECT_EQ(near->Get("p{1}"), v1);
  // A value that is not the canonical row of its key is answered but not kept.
  ASSERT_TRUE(cache->GetOrLease(std::vector<KeyAndGuard>{{"p{2}", "p{2}:gen"}}, "t", 1000).ok());
  EXPECT_FALSE(near->Get("p{2}"));
  ASSERT_TRUE(cache->Invalidate(kg).ok());
  EXPECT_FALSE(near->Get("p{1}"));
  auto b = cache->GetOrLease(kg, "t2", 1000);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE((*b)[0].value);
  EXPECT_TRUE((*b)[0].leased);
}

TEST(NearCachedCache, ReleaseLeasesReachesTheInnerCache) {
  auto near = std::make_shared<NearCache>(NearCacheOptions{});
  near->SetServing(true);
  auto cache = NewNearCachedCache(near, NewMemoryCache(100), "p");
  std::vector<KeyAndGuard> kg{{"p{1}", "p{1}:gen"}};
  ASSERT_TRUE((*cache->GetOrLease(kg, "t", 1000))[0].leased);
  std::vector<std::string> guard{"p{1}:gen"};
  EXPECT_EQ(*cache->ReleaseLeases(guard, "other"), 0u);
  EXPECT_EQ(*cache->ReleaseLeases(guard, "t"), 1u);
  EXPECT_FALSE((*cache->MGet(guard))[0]);
}

}  // namespace
}  // namespace rowcache

namespace rowcache {
namespace {

// Splicing canonical entries gives exactly the answer decoding them gives.
TEST(NearCachedCache, TrustedEntriesAnswerExactlyAsDecodedOnes) {
  auto store = OpenStore("sqlite::memory:");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->EnsureSchema().ok());
  auto cache = NewMemoryCache(100);
  Metrics m;
  Service svc(store->get(), cache.get(), ServiceOptions{}, &m);
  auto req = ParseRequest(R"({"REQUEST": "read", "SQLS": [2, 1, 2]})", svc.options());
  ASSERT_TRUE(req.ok());
  std::vector<std::optional<std::string>> entries{RowToJson(Row{2, "a\"b", "p", "n\u00e9", -5, "c"}),
                                                  RowToJson(Row{1, "h", "p", "n", 1, "c"})};
  EXPECT_TRUE(IsCanonicalEntry("rowcache:heroes:", "rowcache:heroes:{2}", *entries[0]));
  EXPECT_FALSE(IsCanonicalEntry("rowcache:heroes:", "rowcache:heroes:{3}", *entries[0]));
  EXPECT_FALSE(IsCanonicalEntry("rowcache:heroes:", "rowcache:heroes:{1}", " " + *entries[1]));
  auto a = svc.AnswerFromEntries(*req, entries, 0);
  auto b = svc.AnswerFromTrustedEntries(*req, entries, 0);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->body, b->body);
  EXPECT_EQ(a->status, b->status);
}

}  // namespace
}  // namespace rowcache
