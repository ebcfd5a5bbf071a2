// RedisCache against a real Redis (ROWCACHE_TEST_REDIS), plus servers the
// tests start themselves (password, a server that never answers).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "net/transport.h"
#include "rowcache/cache.h"
#include "rowcache/service.h"
#include "rowcache/store.h"
#include "support/fakes.h"
#include "support/test_env.h"

namespace rowcache {
namespace {

std::string Prefix() {
  std::random_device rd;
  return "itest:" + std::to_string(rd()) + ":";
}

std::string RedisCli(const std::string& args) {
  const char* port = std::getenv("ROWCACHE_TEST_REDIS_PORT");
  return testing::RunShell("redis-cli -p " + std::string(port ? port : "16379") + " " + args);
}

class RedisCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ROWCACHE_REQUIRE_URL("ROWCACHE_TEST_REDIS", url_);
    auto c = OpenCache(url_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cache_ = std::move(c.value());
    p_ = Prefix();
  }
  std::string url_, p_;
  std::unique_ptr<Cache> cache_;
};

TEST_F(RedisCacheTest, MGetInOrderWithHitsAndMissesAndBinarySafeValues) {
  std::string binary("a\r\nb\0c\xF0\x9F\x98\x80", 11);
  std::vector<CacheEntry> e{{p_ + "1", "one", 100}, {p_ + "2", binary, 100}};
  ASSERT_TRUE(cache_->SetMany(e).ok());
  std::vector<std::string> keys{p_ + "2", p_ + "missing", p_ + "1"};
  auto got = cache_->MGet(keys);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0], binary);
  EXPECT_FALSE((*got)[1]);
  EXPECT_EQ((*got)[2], "one");
  int ttl = std::stoi(RedisCli("TTL " + p_ + "1"));
  EXPECT_GT(ttl, 90);
  EXPECT_LE(ttl, 100);
  ASSERT_TRUE(cache_->Del(std::vector<std::string>{p_ + "1"}).ok());
  EXPECT_FALSE((*cache_->MGet(std::vector<std::string>{p_ + "1"}))[0]);
  EXPECT_TRUE(cache_->Ping().ok());
  EXPECT_TRUE(cache_->MGet(std::vector<std::string>{}).ok());
}

TEST_F(RedisCacheTest, LeasedFillsAndInvalidation) {
  std::string k = p_ + "{7}", g = p_ + "{7}:gen";
  std::vector<KeyAndGuard> kg{{k, g}};
  // A miss takes the lease; a second reader's miss does not.
  auto a = cache_->GetOrLease(kg, "tokA", 5000);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_FALSE((*a)[0].value);
  EXPECT_TRUE((*a)[0].leased);
  EXPECT_EQ(RedisCli("GET " + g), "tokA");
  int pttl = std::stoi(RedisCli("PTTL " + g));
  EXPECT_GT(pttl, 4000);
  EXPECT_LE(pttl, 5000);
  auto b = cache_->GetOrLease(kg, "tokB", 5000);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE((*b)[0].leased);
  // Only the holder's fill lands, and it uses the lease up.
  auto s = cache_->SetIfLeaseHeld(std::vector<LeasedEntry>{{k, "stale", 100, g, "tokB"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(*s, 0u);
  s = cache_->SetIfLeaseHeld(std::vector<LeasedEntry>{{k, "v1", 100, g, "tokA"}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 1u);
  EXPECT_EQ(RedisCli("GET " + k), "v1");
  EXPECT_EQ(RedisCli("EXISTS " + g), "0");
  // A hit returns the entry and takes no lease.
  auto hit = cache_->GetOrLease(kg, "tokC", 5000);
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ((*hit)[0].value, "v1");
  EXPECT_FALSE((*hit)[0].leased);
  EXPECT_EQ(RedisCli("EXISTS " + g), "0");
  // Invalidation deletes entry and guard: a fill under a lease taken before it is refused.
  ASSERT_TRUE(cache_->Invalidate(kg).ok());
  auto c = cache_->GetOrLease(kg, "tokD", 5000);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)[0].leased);
  ASSERT_TRUE(cache_->Invalidate(kg).ok());
  EXPECT_EQ(RedisCli("EXISTS " + k), "0");
  EXPECT_EQ(RedisCli("EXISTS " + g), "0");
  s = cache_->SetIfLeaseHeld(std::vector<LeasedEntry>{{k, "stale", 100, g, "tokD"}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 0u);
  // A lost lease (evicted, flushed) refuses the fill too: absence is never proof.
  ASSERT_TRUE(cache_->Lease(std::vector<std::string>{g}, "tokW", 5000).ok());
  EXPECT_EQ(RedisCli("GET " + g), "tokW");
  RedisCli("DEL " + g);
  s = cache_->SetIfLeaseHeld(std::vector<LeasedEntry>{{k, "v2", 100, g, "tokW"}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 0u);
  EXPECT_EQ(RedisCli("EXISTS " + k), "0");
  // A writer's lease overrides a reader's.
  ASSERT_TRUE(cache_->GetOrLease(kg, "tokR", 5000).ok());
  ASSERT_TRUE(cache_->Lease(std::vector<std::string>{g}, "tokW2", 5000).ok());
  s = cache_->SetIfLeaseHeld(std::vector<LeasedEntry>{{k, "w", 100, g, "tokW2"}, {k, "r", 100, g, "tokR"}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 1u);
  EXPECT_EQ(RedisCli("GET " + k), "w");
}

TEST_F(RedisCacheTest, UnavailableQuicklyOnAClosedPort) {
  CacheOptions o;
  o.timeout = std::chrono::milliseconds(200);
  auto c = OpenCache("redis://127.0.0.1:1/0", o);
  ASSERT_TRUE(c.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = (*c)->MGet(std::vector<std::string>{"k"});
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("127.0.0.1:1"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(RedisCacheTest, AServerThatNeverAnswersTimesOut) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);  // accepts (in the kernel) and never answers
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  CacheOptions o;
  o.timeout = std::chrono::milliseconds(150);
  auto c = OpenCache("redis://127.0.0.1:" + std::to_string(ntohs(a.sin_port)), o);
  ASSERT_TRUE(c.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = (*c)->MGet(std::vector<std::string>{"k"});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
  EXPECT_LT(took, std::chrono::seconds(3));
  ::close(fd);
}

TEST_F(RedisCacheTest, PoolRecoversAfterTheServerKillsConnections) {
  ASSERT_TRUE(cache_->SetMany(std::vector<CacheEntry>{{p_ + "a", "1", 100}}).ok());
  RedisCli("CLIENT KILL TYPE normal");
  // Idle connections are checked once they have been idle 100 ms.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  // The pooled connection was closed by the server while idle: it is noticed
  // when drawn from the pool and replaced, so not even the first call fails
  // (this is what a Lambda environment thawed after a server timeout sees).
  auto r = cache_->MGet(std::vector<std::string>{p_ + "a"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], "1");
}

TEST_F(RedisCacheTest, PasswordAndDatabaseSelection) {
  RedisCli("ACL SETUSER " + p_.substr(6, 8) + "u on '>s3cret' '~*' '+@all'");
  const char* port = std::getenv("ROWCACHE_TEST_REDIS_PORT");
  std::string base =
      "redis://" + p_.substr(6, 8) + "u:s3cret@127.0.0.1:" + std::string(port ? port : "16379");
  auto c = OpenCache(base + "/3");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->SetMany(std::vector<CacheEntry>{{p_ + "db3", "x", 100}}).ok());
  EXPECT_EQ(RedisCli("-n 3 GET " + p_ + "db3"), "x");
  EXPECT_EQ(RedisCli("-n 0 EXISTS " + p_ + "db3"), "0");
  auto wrong =
      OpenCache("redis://" + p_.substr(6, 8) + "u:nope@127.0.0.1:" + std::string(port ? port : "16379"));
  ASSERT_TRUE(wrong.ok());
  auto r = (*wrong)->Ping();
  EXPECT_EQ(r.code(), Code::kUnavailable);
  EXPECT_NE(r.message().find("AUTH"), std::string::npos) << r.message();
  RedisCli("ACL DELUSER " + p_.substr(6, 8) + "u");
  EXPECT_EQ(OpenCache("redis://h/x").status().code(), Code::kInvalidArgument);
}

TEST_F(RedisCacheTest, ConcurrentUse) {
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string k = p_ + std::to_string(t) + ":" + std::to_string(i);
        if (!cache_->SetMany(std::vector<CacheEntry>{{k, k, 100}}).ok()) ++bad;
        auto r = cache_->MGet(std::vector<std::string>{k});
        if (!r.ok() || (*r)[0] != k) ++bad;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

// How many keys start with prefix (SCAN: other tests share the server).
int KeysUnder(const std::string& prefix) {
  std::string out = RedisCli("--scan --pattern '" + prefix + "*' | wc -l");
  return std::stoi(out);
}

// A service over SQLite with this Redis as its cache (through a FaultyCache,
// to interleave a writer).
struct RedisService {
  explicit RedisService(std::unique_ptr<Cache> redis, const std::string& prefix,
                        TestMutation mutation = TestMutation::kNone) {
    auto s = OpenStore("sqlite::memory:");
    EXPECT_TRUE(s.ok());
    store = std::move(s.value());
    EXPECT_TRUE(store->EnsureSchema().ok());
    cache = std::make_unique<testing::FaultyCache>(std::move(redis));
    ServiceOptions o;
    o.key_prefix = prefix;
    o.test_mutation = mutation;
    svc = std::make_unique<Service>(store.get(), cache.get(), o, &metrics);
  }
  Metrics metrics;
  std::unique_ptr<Store> store;
  std::unique_ptr<testing::FaultyCache> cache;
  std::unique_ptr<Service> svc;
};

// The reproduction: ten reads of 11,056 ids that have no row used to
// leave 110,560 guard keys in Redis. Each read now gives its leases back.
TEST_F(RedisCacheTest, ReadsOfMissingIdsLeaveNoKeyInRedis) {
  RedisService rs(std::move(cache_), p_);
  auto ids = std::vector<int64_t>(11056);
  for (int round = 0; round < 10; ++round) {
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = 1'000'000 + round * 100'000 + static_cast<int64_t>(i);
    auto rows = rs.svc->Read(ids, true);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_FALSE((*rows)[0]);
  }
  EXPECT_EQ(KeysUnder(p_), 0);
  EXPECT_EQ(rs.metrics.cache_leases_released.load(), 10u * ids.size());
  EXPECT_EQ(rs.metrics.cache_errors.load(), 0u);
}

// The same with the release switched off ("lease-release" mutation): the
// guards stay, so the check above can fail.
TEST_F(RedisCacheTest, WithoutTheReleaseMissingIdsLeaveGuards) {
  RedisService rs(std::move(cache_), p_, TestMutation::kLeaseRelease);
  std::vector<int64_t> ids{5, 6, 7};
  ASSERT_TRUE(rs.svc->Read(ids, true).ok());
  EXPECT_EQ(KeysUnder(p_), 3);
  RedisCli("DEL " + rs.svc->GuardKey(5) + " " + rs.svc->GuardKey(6) + " " + rs.svc->GuardKey(7));
}

// A writer's lease taken between the read's lookup and its release (it
// replaced the reader's) is not removed, and the writer's fill lands.
TEST_F(RedisCacheTest, ReleasingAReadersLeaseLeavesAWritersLease) {
  RedisService rs(std::move(cache_), p_);
  const int64_t id = 42;
  const std::string guard = rs.svc->GuardKey(id);
  rs.cache->before_release = [&] {
    EXPECT_EQ(RedisCli("EXISTS " + guard), "1");  // the reader's lease, about to be released
    ASSERT_TRUE(rs.cache->inner().Lease(std::vector<std::string>{guard}, "writer-token", 15000).ok());
  };
  auto rows = rs.svc->Read(std::vector<int64_t>{id, id + 1}, true);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rs.cache->release_calls.load(), 1);
  EXPECT_EQ(rs.metrics.cache_leases_released.load(), 1u);  // id + 1's only
  EXPECT_EQ(RedisCli("GET " + guard), "writer-token");
  EXPECT_EQ(RedisCli("EXISTS " + rs.svc->GuardKey(id + 1)), "0");
  auto stored = rs.cache->inner().SetIfLeaseHeld(
      std::vector<LeasedEntry>{{rs.svc->CacheKey(id), "{}", 100, guard, "writer-token"}});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, 1u);
  RedisCli("DEL " + rs.svc->CacheKey(id));
}

}  // namespace
}  // namespace rowcache

namespace rowcache {
namespace {

// Without lookups_need_ttl a large lookup is an MGET, then the script for the
// misses only: the same answers (hits, leases taken, a guard already held
// left alone), hits without a TTL; and the MGET round trip is really taken
// (the server's MGET count grows).
TEST_F(RedisCacheTest, LargeLookupsWithoutTtlAreAnMgetThenTheScriptForMisses) {
  CacheOptions o;
  o.lookups_need_ttl = false;
  auto c = OpenCache(url_, o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::vector<KeyAndGuard> kg;
  std::vector<CacheEntry> present;
  for (int i = 0; i < 200; ++i) {
    std::string k = p_ + "{" + std::to_string(i) + "}";
    kg.push_back({k, k + ":gen"});
    if (i % 2 == 0) present.push_back({k, "v" + std::to_string(i), 100});
  }
  ASSERT_TRUE((*c)->SetMany(present).ok());
  ASSERT_TRUE((*c)->Lease(std::vector<std::string>{kg[1].guard_key}, "writer", 5000).ok());
  auto mgets = [] {
    std::string s = RedisCli("INFO commandstats");
    size_t at = s.find("cmdstat_mget:calls=");
    return at == std::string::npos ? 0L : std::stol(s.substr(at + 19));
  };
  long before = mgets();
  auto got = (*c)->GetOrLease(kg, "reader", 5000);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(mgets(), before + 1);
  for (int i = 0; i < 200; ++i) {
    const LeasedLookup& l = (*got)[static_cast<size_t>(i)];
    if (i % 2 == 0) {
      EXPECT_EQ(l.value, "v" + std::to_string(i));
      EXPECT_FALSE(l.leased);
      EXPECT_EQ(l.ttl_ms, -1);
    } else {
      EXPECT_FALSE(l.value) << i;
      EXPECT_EQ(l.leased, i != 1) << i;  // id 1's guard holds the writer's lease
    }
  }
  EXPECT_EQ(RedisCli("GET " + kg[3].guard_key), "reader");
  EXPECT_EQ(RedisCli("GET " + kg[1].guard_key), "writer");
  // A small lookup, and any lookup with lookups_need_ttl (the default), stays one script with TTLs.
  before = mgets();
  auto small = (*c)->GetOrLease(std::span<const KeyAndGuard>(kg).first(3), "r2", 5000);
  ASSERT_TRUE(small.ok());
  EXPECT_GT((*small)[0].ttl_ms, 0);
  auto with_ttl = cache_->GetOrLease(kg, "r3", 5000);
  ASSERT_TRUE(with_ttl.ok());
  EXPECT_GT((*with_ttl)[0].ttl_ms, 0);
  EXPECT_EQ(mgets(), before);
}

}  // namespace
}  // namespace rowcache
