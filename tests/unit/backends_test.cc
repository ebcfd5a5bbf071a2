// The embedded backends: SQLite store and in-process memory cache.
#include <gtest/gtest.h>

#include <filesystem>

#include "cache/cache_stack.h"
#include "cache/memory_cache.h"
#include "rowcache/cache.h"
#include "rowcache/store.h"

namespace rowcache {
namespace {

TEST(SqliteStore, InsertGetLoadAndIdsNeverReused) {
  auto tmp =
      std::filesystem::temp_directory_path() / ("rowcache_sqlite_" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(tmp);
  {
    auto s = OpenStore("sqlite:" + tmp.string());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    Store& st = **s;
    ASSERT_TRUE(st.EnsureSchema().ok());
    ASSERT_TRUE(st.EnsureSchema().ok());  // idempotent
    std::vector<Row> rows{{0, "a", "b", "c", 1, "d"}, {0, "é😀", "'; DROP TABLE heroes; --", "q\"\\", -5, ""}};
    auto ids = st.Insert(rows);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, (std::vector<int64_t>{1, 2}));
    std::vector<int64_t> ask{2, 3, 1};
    auto got = st.Get(ask);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 2u);
    for (const Row& r : *got) {
      Row want = rows[r.id - 1];
      want.id = r.id;
      EXPECT_EQ(r, want);
    }
    std::vector<Row> load{{2, "x", "x", "x", 0, "x"}, {10, "y", "y", "y", 0, "y"}};
    auto skip = st.Load(load, LoadMode::kSkipExisting);
    ASSERT_TRUE(skip.ok());
    EXPECT_EQ(skip->inserted, 1);
    EXPECT_EQ(skip->skipped, 1);
    std::vector<int64_t> two{2};
    EXPECT_EQ((*st.Get(two))[0].hero, "é😀");
    auto rep = st.Load(load, LoadMode::kReplace);
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->replaced, 2);
    EXPECT_EQ(rep->inserted, 0);
    EXPECT_EQ((*st.Get(two))[0].hero, "x");
    // New ids continue after the highest id ever used.
    auto next = st.Insert(std::vector<Row>{{0, "n", "n", "n", 0, "n"}});
    ASSERT_TRUE(next.ok());
    EXPECT_EQ((*next)[0], 11);
  }
  // Data survives reopening the file.
  auto again = OpenStore("sqlite:" + tmp.string());
  ASSERT_TRUE(again.ok());
  std::vector<int64_t> ask{11};
  auto got = (*again)->Get(ask);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 1u);
  std::filesystem::remove(tmp);
}

TEST(SqliteStore, BadUrlsAndTables) {
  EXPECT_EQ(OpenStore("sqlite:").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(OpenStore("sqlite::memory:?table=bad-name").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(OpenStore("postgres://x/y").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(OpenStore("sqlite:/nonexistent-dir/x.db").status().code(), Code::kUnavailable);
  auto t = OpenStore("sqlite::memory:?table=other_table");
  ASSERT_TRUE(t.ok());
  EXPECT_NE((*t)->Describe().find("table=other_table"), std::string::npos);
}

TEST(MemoryCache, TtlLruAndDelete) {
  auto now = std::chrono::steady_clock::time_point{};
  auto c = NewMemoryCache(2, [&] { return now; });
  std::vector<CacheEntry> e{{"a", "1", 10}, {"b", "2", 20}};
  ASSERT_TRUE(c->SetMany(e).ok());
  std::vector<std::string> keys{"a", "b", "zz"};
  auto v = c->MGet(keys);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[0], "1");
  EXPECT_EQ((*v)[1], "2");
  EXPECT_FALSE((*v)[2]);
  now += std::chrono::seconds(15);  // a expired, b alive
  v = c->MGet(keys);
  EXPECT_FALSE((*v)[0]);
  EXPECT_EQ((*v)[1], "2");
  // LRU: with b recently used, adding c and d evicts b only when full.
  std::vector<CacheEntry> more{{"c", "3", 100}, {"d", "4", 100}};
  ASSERT_TRUE(c->SetMany(more).ok());
  std::vector<std::string> all{"b", "c", "d"};
  v = c->MGet(all);
  EXPECT_FALSE((*v)[0]);
  EXPECT_EQ((*v)[1], "3");
  EXPECT_EQ((*v)[2], "4");
  std::vector<std::string> del{"c"};
  ASSERT_TRUE(c->Del(del).ok());
  v = c->MGet(all);
  EXPECT_FALSE((*v)[1]);
}

// Compare-and-delete: only the caller's own lease goes.
TEST(MemoryCache, ReleaseLeasesDeletesOnlyTheCallersToken) {
  auto c = NewMemoryCache(100);
  std::vector<KeyAndGuard> kg{{"k{1}", "k{1}:gen"}, {"k{2}", "k{2}:gen"}};
  auto got = c->GetOrLease(kg, "mine", 10000);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE((*got)[0].leased && (*got)[1].leased);
  ASSERT_TRUE(
      c->Lease(std::vector<std::string>{"k{2}:gen"}, "writer", 10000).ok());  // a writer took k{2}'s guard
  std::vector<std::string> guards{"k{1}:gen", "k{2}:gen", "k{3}:gen"};
  auto n = c->ReleaseLeases(guards, "mine");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  auto v = c->MGet(guards);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE((*v)[0]);
  EXPECT_EQ((*v)[1], "writer");
  EXPECT_FALSE((*v)[2]);
  EXPECT_EQ(*c->ReleaseLeases(guards, "mine"), 0u);  // nothing left of ours
}

TEST(OpenCache, Urls) {
  auto none = OpenCache("none");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->get(), nullptr);
  auto mem = OpenCache("memory://?max_entries=5");
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ((*mem)->Describe(), "memory://?max_entries=5");
  EXPECT_EQ(OpenCache("memory://?max_entries=0").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(OpenCache("memcached://x").status().code(), Code::kInvalidArgument);
}

TEST(OpenCacheStack, LocalCachesHaveNoRedisBreakerOrNearCache) {
  CacheStackOptions o;
  o.url = "none";
  auto none = OpenCacheStack(o, nullptr);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->cache, nullptr);
  EXPECT_EQ(none->redis, nullptr);
  o.url = "memory://";
  o.near_cache = true;  // needs Redis: ignored for a local cache
  auto mem = OpenCacheStack(o, nullptr);
  ASSERT_TRUE(mem.ok()) << mem.status().ToString();
  ASSERT_NE(mem->cache, nullptr);
  EXPECT_EQ(mem->cache->Describe(), "memory://?max_entries=100000");
  EXPECT_EQ(mem->redis, nullptr);
  EXPECT_EQ(mem->near, nullptr);
  EXPECT_EQ(mem->tracker, nullptr);
  EXPECT_TRUE(mem->warning.empty());
  o.url = "memcached://x";
  EXPECT_EQ(OpenCacheStack(o, nullptr).status().code(), Code::kInvalidArgument);
}

TEST(OpenCacheStack, UnreachableRedisIsAWarningBehindTheBreakerAndTheNearCache) {
  CacheStackOptions o;
  o.url = "redis://127.0.0.1:1/0";
  o.cache.timeout = std::chrono::milliseconds(100);
  o.breaker.failures_to_open = 1;
  o.breaker.open_for = std::chrono::hours(1);
  o.near_cache = true;
  o.key_prefix = "p:";
  Metrics metrics;
  auto s = OpenCacheStack(o, &metrics);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_NE(s->warning.find("unreachable at start"), std::string::npos) << s->warning;
  ASSERT_NE(s->redis, nullptr);
  ASSERT_NE(s->near, nullptr);
  ASSERT_NE(s->tracker, nullptr);
  ASSERT_NE(s->cache, nullptr);
  std::vector<std::string> keys{"p:1"};
  EXPECT_FALSE(s->cache->MGet(keys).ok());
  auto refused = s->cache->MGet(keys);  // the breaker opened after one failure
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("circuit open"), std::string::npos)
      << refused.status().ToString();

  o.breaker.failures_to_open = 0;  // no breaker: every call goes to Redis
  o.near_cache = false;
  auto bare = OpenCacheStack(o, nullptr);
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ(bare->near, nullptr);
  EXPECT_EQ(bare->tracker, nullptr);
  for (int i = 0; i < 2; ++i) {
    auto r = bare->cache->MGet(keys);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message().find("circuit open"), std::string::npos) << r.status().ToString();
  }
}

}  // namespace
}  // namespace rowcache
