// The Redis client (src/redis) against every server shape the test servers
// provide (scripts/servers.sh): plain, TLS + password, TLS + ACL user and db 2,
// a 3+3 cluster and a 3+3 cluster over TLS. Plus MOVED and ASK against the
// real plain cluster, by migrating one slot with redis-cli and back.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cache/cache_factory.h"
#include "cache/redis_cache.h"
#include "redis/async_client.h"
#include "redis/client.h"
#include "redis/health.h"
#include "redis/slots.h"
#include "rowcache/cache.h"
#include "rowcache/url.h"
#include "support/test_env.h"

namespace rowcache {
namespace {

using namespace std::chrono_literals;
using redis::Client;
using redis::Command;
using redis::KeySlot;
using redis::MakeCommand;
using redis::NodeAddress;

std::string RandomHex() {
  std::random_device rd;
  std::mt19937_64 g((static_cast<uint64_t>(rd()) << 32) ^ rd());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(g()));
  return buf;
}

std::string Sh(const std::string& cmd) { return testing::RunShell(cmd, /*with_stderr=*/true); }

// redis-cli against a plain (no TLS, no password) node on loopback.
std::string Cli(int port, const std::string& args) {
  return Sh("redis-cli -h 127.0.0.1 -p " + std::to_string(port) + " " + args);
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

bool IsStatus(const Reply& r, std::string_view text) {
  return r && r->type == REDIS_REPLY_STATUS && std::string_view(r->str, r->len) == text;
}

std::string Str(const Reply& r) {
  if (!r) return "<null>";
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "<nil>";
    default:
      return "<type " + std::to_string(r->type) + ">";
  }
}

// Runs the io_context in this thread until done() or the timeout.
void RunUntil(boost::asio::io_context& ioc, const std::function<bool()>& done,
              std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < until) {
    ioc.restart();
    ioc.run_for(5ms);
  }
}

// A port with nothing listening on 127.0.0.1.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// ------------------------------------------------------------------ modes

struct Mode {
  const char* name;
  const char* env;
  bool cluster;
  bool tls;
};

const Mode kModes[] = {
    {"Plain", "ROWCACHE_TEST_REDIS", false, false},
    {"Tls", "ROWCACHE_TEST_REDIS_TLS", false, true},
    {"TlsUser", "ROWCACHE_TEST_REDIS_TLS_USER", false, true},
    {"Cluster", "ROWCACHE_TEST_REDIS_CLUSTER", true, false},
    {"ClusterTls", "ROWCACHE_TEST_REDIS_CLUSTER_TLS", true, true},
};

std::string ModeName(const ::testing::TestParamInfo<Mode>& info) { return info.param.name; }
void PrintTo(const Mode& m, std::ostream* os) { *os << m.name << " (" << m.env << ")"; }

class RedisClientModeTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    ROWCACHE_REQUIRE_URL(GetParam().env, url_);
    p_ = "itest:" + RandomHex() + ":";
  }

  Url ParsedUrl() {
    auto u = ParseUrl(url_);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() ? u.value() : Url{};
  }

  // A client for url (default: this mode's), with a generous timeout (two
  // shared cores: TLS handshakes under load can take a while).
  std::shared_ptr<Client> NewClient(const Url& u, std::chrono::milliseconds timeout = 3000ms) {
    auto o = redis::OptionsFromUrl(u);
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    if (!o.ok()) return nullptr;
    o->timeout = timeout;
    return std::make_shared<Client>(std::move(o.value()));
  }
  std::shared_ptr<Client> StartedClient() {
    auto c = NewClient(ParsedUrl());
    if (!c) return nullptr;
    Status s = c->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? c : nullptr;
  }

  // The Cache over this mode's URL (not started), with a generous timeout.
  Result<OpenedCache> OpenModeCache() {
    CacheOptions opts;
    opts.timeout = 3000ms;
    return OpenCacheParts(url_, opts);
  }
  // Entry and guard keys of ids 0..n-1.
  std::vector<KeyAndGuard> KeysAndGuards(int n) {
    std::vector<KeyAndGuard> kg;
    for (int id = 0; id < n; ++id) {
      std::string k = p_ + "{" + std::to_string(id) + "}";
      kg.push_back({k, k + ":gen"});
    }
    return kg;
  }

  // Keys with distinct hash tags (in a cluster: spread over every master).
  std::vector<std::string> TaggedKeys(int n) {
    std::vector<std::string> keys;
    for (int i = 0; i < n; ++i) keys.push_back(p_ + "{" + std::to_string(i) + "}");
    return keys;
  }
  static std::string ValueFor(const std::string& key) { return std::string("v\r\n\0:", 5) + key; }

  void SetAll(Client& c, const std::vector<std::string>& keys) {
    std::vector<Command> cmds;
    for (const auto& k : keys) cmds.push_back(MakeCommand({"SET", k, ValueFor(k), "EX", "120"}, k));
    auto r = c.Run(cmds);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->size(), keys.size());
    for (size_t i = 0; i < keys.size(); ++i)
      EXPECT_TRUE(IsStatus((*r)[i], "OK")) << keys[i] << ": " << Str((*r)[i]);
  }

  void DelAll(Client& c, const std::vector<std::string>& keys) {
    std::vector<Command> cmds;
    for (const auto& k : keys) cmds.push_back(MakeCommand({"DEL", k}, k));
    auto r = c.Run(cmds);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }

  // One command, routed by key; its reply.
  Reply One(Client& c, std::initializer_list<std::string_view> args, std::string_view key) {
    Command cmd = MakeCommand(args, key);
    auto r = c.Run(std::span(&cmd, 1));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return nullptr;
    return std::move((*r)[0]);
  }

  static void ExpectNoFailures(Client& c) {
    auto h = c.health().Get(SteadyNanos());
    EXPECT_FALSE(h.degraded) << "last error class: " << h.last_error_class;
    EXPECT_EQ(h.window_failures, 0u);
    EXPECT_EQ(h.last_error_class, "");
    for (size_t i = 0; i < h.totals.size(); ++i) {
      EXPECT_EQ(h.totals[i], 0u) << redis::ErrorClassName(static_cast<redis::ErrorClass>(i));
    }
  }

  std::string url_, p_;
};

TEST_P(RedisClientModeTest, StartLearnsTheTopology) {
  auto c = StartedClient();
  ASSERT_TRUE(c);
  auto t = c->topology();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->cluster, GetParam().cluster);
  if (GetParam().cluster) {
    EXPECT_EQ(t->nodes.size(), 3u);
    std::set<std::string> ids;
    for (const auto& n : t->nodes) ids.insert(n.Id());
    EXPECT_EQ(ids.size(), t->nodes.size());
    for (int s = 0; s < redis::kSlots; ++s) ASSERT_NE(t->NodeFor(s), nullptr) << "slot " << s;
  } else {
    ASSERT_EQ(t->nodes.size(), 1u);
    EXPECT_EQ(t->nodes[0], c->options().seed);
  }
  // Describe never shows a password.
  auto u = ParsedUrl();
  if (!u.password.empty()) {
    EXPECT_EQ(c->Describe().find(u.password), std::string::npos);
  }
  EXPECT_EQ(c->Describe().substr(0, GetParam().tls ? 9 : 8), GetParam().tls ? "rediss://" : "redis://");
  ExpectNoFailures(*c);
}

TEST_P(RedisClientModeTest, RunThenMGetInOneCallAcrossNodes) {
  auto c = StartedClient();
  ASSERT_TRUE(c);
  auto keys = TaggedKeys(50);
  if (GetParam().cluster) {
    std::set<std::string> nodes;
    for (const auto& k : keys) nodes.insert(c->topology()->NodeFor(KeySlot(k))->Id());
    ASSERT_EQ(nodes.size(), 3u) << "the keys should spread over every master";
  }
  SetAll(*c, keys);

  // All 50, with missing keys (same and new hash tags) among them, in one call.
  std::vector<std::string> query;
  for (size_t i = 0; i < keys.size(); ++i) {
    query.push_back(keys[i]);
    if (i % 7 == 0) query.push_back(keys[i] + ":missing");
  }
  query.push_back(p_ + "{nope}");
  query.insert(query.begin(), keys[3]);  // a key twice
  auto got = c->MGet(query);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), query.size());
  for (size_t i = 0; i < query.size(); ++i) {
    bool missing =
        query[i].find("missing") != std::string::npos || query[i].find("nope") != std::string::npos;
    if (missing) {
      EXPECT_FALSE((*got)[i]) << query[i];
    } else {
      EXPECT_EQ((*got)[i], ValueFor(query[i])) << query[i];
    }
  }
  // Replies come back in the order of the commands, whichever node ran them.
  std::vector<Command> gets;
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) gets.push_back(MakeCommand({"GET", *it}, *it));
  auto r = c->Run(gets);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (size_t i = 0; i < gets.size(); ++i) EXPECT_EQ(Str((*r)[i]), ValueFor(keys[keys.size() - 1 - i]));
  // An error reply that is the caller's to judge comes back as a reply.
  Reply wrong = One(*c, {"LPUSH", keys[0], "x"}, keys[0]);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->type, REDIS_REPLY_ERROR);
  EXPECT_NE(Str(wrong).find("WRONGTYPE"), std::string::npos) << Str(wrong);

  DelAll(*c, keys);
  got = c->MGet(keys);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  for (const auto& v : *got) EXPECT_FALSE(v);
  EXPECT_TRUE(c->MGet(std::vector<std::string>{}).ok());
  EXPECT_TRUE(c->Run(std::span<const Command>()).ok());
  // WRONGTYPE is not a failure of the client: no error class counted.
  ExpectNoFailures(*c);
  EXPECT_GT(c->health().Get(SteadyNanos()).window_calls, 0u);
}

TEST_P(RedisClientModeTest, TheDatabaseFromTheUrlIsSelected) {
  auto c = StartedClient();
  ASSERT_TRUE(c);
  std::string k = p_ + "{db}";
  ASSERT_TRUE(IsStatus(One(*c, {"SET", k, "x", "EX", "60"}, k), "OK"));
  // Every connection of this client sees the key: SELECT ran on each.
  Reply info = One(*c, {"CLIENT", "INFO"}, k);
  ASSERT_TRUE(info);
  std::string db = " db=" + std::to_string(c->options().db) + " ";
  EXPECT_NE(Str(info).find(db), std::string::npos) << Str(info);
  if (!GetParam().cluster && c->options().db == 0) {
    // db 2 must not see it (and a client on db 2 must not see db 0's key).
    auto u = ParsedUrl();
    u.path = "2";
    auto other = NewClient(u);
    ASSERT_TRUE(other);
    auto v = other->MGet(std::vector<std::string>{k});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_FALSE((*v)[0]);
  }
  DelAll(*c, {k});
}

TEST_P(RedisClientModeTest, CacheInterfaceRoundTrip) {
  auto parts = OpenModeCache();
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_TRUE(parts->cache);
  ASSERT_TRUE(parts->redis);
  ASSERT_TRUE(parts->redis->Start().ok());
  Cache& cache = *parts->cache;
  Client& c = *parts->redis;
  // Entries and guards as the service names them: prefix + "{id}" (+ ":gen").
  auto key = [&](int id) { return p_ + "{" + std::to_string(id) + "}"; };
  auto guard = [&](int id) { return key(id) + ":gen"; };
  std::vector<KeyAndGuard> kg;
  for (int id = 1; id <= 6; ++id) kg.push_back({key(id), guard(id)});

  // Nothing cached: every lookup takes the lease.
  auto l1 = cache.GetOrLease(kg, "tokA", 5000);
  ASSERT_TRUE(l1.ok()) << l1.status().ToString();
  ASSERT_EQ(l1->size(), kg.size());
  for (const auto& l : *l1) {
    EXPECT_FALSE(l.value);
    EXPECT_TRUE(l.leased);
  }
  EXPECT_EQ(Str(One(c, {"GET", guard(1)}, guard(1))), "tokA");
  int pttl = std::stoi(Str(One(c, {"PTTL", guard(1)}, guard(1))));
  EXPECT_GT(pttl, 3000);
  EXPECT_LE(pttl, 5000);
  // A second reader finds the lease taken.
  auto l2 = cache.GetOrLease(kg, "tokB", 5000);
  ASSERT_TRUE(l2.ok()) << l2.status().ToString();
  for (const auto& l : *l2) {
    EXPECT_FALSE(l.value);
    EXPECT_FALSE(l.leased);
  }
  // Fills: under the held lease (lands, uses the lease up), under someone
  // else's lease (refused), under a lease that is absent (refused).
  std::vector<LeasedEntry> fills{{key(1), "row1", 100, guard(1), "tokA"},
                                 {key(2), "row2", 100, guard(2), "tokB"},
                                 {key(3), "row3", 100, guard(3), "tokA"}};
  One(c, {"DEL", guard(3)}, guard(3));  // guard 3's lease is gone (evicted, expired)
  auto stored = cache.SetIfLeaseHeld(fills);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, 1u);
  EXPECT_EQ(Str(One(c, {"GET", key(1)}, key(1))), "row1");
  EXPECT_EQ(Str(One(c, {"EXISTS", guard(1)}, guard(1))), "0");
  int ttl = std::stoi(Str(One(c, {"TTL", key(1)}, key(1))));
  EXPECT_GT(ttl, 90);
  EXPECT_LE(ttl, 100);
  EXPECT_EQ(Str(One(c, {"EXISTS", key(2)}, key(2))), "0");
  EXPECT_EQ(Str(One(c, {"EXISTS", key(3)}, key(3))), "0");

  // A cached entry is returned (and takes no lease).
  auto l3 = cache.GetOrLease(std::vector<KeyAndGuard>{kg[0], kg[1]}, "tokC", 5000);
  ASSERT_TRUE(l3.ok()) << l3.status().ToString();
  EXPECT_EQ((*l3)[0].value, "row1");
  EXPECT_FALSE((*l3)[0].leased);
  EXPECT_EQ(Str(One(c, {"EXISTS", guard(1)}, guard(1))), "0");
  EXPECT_FALSE((*l3)[1].value);
  EXPECT_FALSE((*l3)[1].leased);  // tokA still holds guard 2

  // A writer's lease replaces whatever the guard held: the reader's fill under
  // the old lease is refused.
  ASSERT_TRUE(cache.Lease(std::vector<std::string>{guard(2), guard(4)}, "writer", 5000).ok());
  EXPECT_EQ(Str(One(c, {"GET", guard(2)}, guard(2))), "writer");
  stored = cache.SetIfLeaseHeld(std::vector<LeasedEntry>{{key(4), "stale", 100, guard(4), "tokA"}});
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, 0u);
  EXPECT_EQ(Str(One(c, {"EXISTS", key(4)}, key(4))), "0");

  // Invalidate deletes the entry and the guard: no earlier lease can land.
  ASSERT_TRUE(cache.Invalidate(std::vector<KeyAndGuard>{kg[0], kg[4]}).ok());
  EXPECT_EQ(Str(One(c, {"EXISTS", key(1)}, key(1))), "0");
  EXPECT_EQ(Str(One(c, {"EXISTS", guard(5)}, guard(5))), "0");
  stored = cache.SetIfLeaseHeld(std::vector<LeasedEntry>{{key(5), "late", 100, guard(5), "tokA"}});
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, 0u);
  auto mg = cache.MGet(std::vector<std::string>{key(1), key(5)});
  ASSERT_TRUE(mg.ok()) << mg.status().ToString();
  EXPECT_FALSE((*mg)[0]);
  EXPECT_FALSE((*mg)[1]);

  // SetMany, MGet, Del.
  std::vector<CacheEntry> entries;
  for (int id = 10; id < 30; ++id) entries.push_back({key(id), "e" + std::to_string(id), 100});
  ASSERT_TRUE(cache.SetMany(entries).ok());
  std::vector<std::string> keys;
  for (const auto& e : entries) keys.push_back(e.key);
  mg = cache.MGet(keys);
  ASSERT_TRUE(mg.ok()) << mg.status().ToString();
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ((*mg)[i], entries[i].value);
  ASSERT_TRUE(cache.Del(keys).ok());
  mg = cache.MGet(keys);
  ASSERT_TRUE(mg.ok());
  for (const auto& v : *mg) EXPECT_FALSE(v);
  EXPECT_TRUE(cache.Ping().ok());

  auto h = cache.Health();
  EXPECT_FALSE(h.degraded) << h.last_error_class;
  EXPECT_EQ(h.window_failures, 0u);
  EXPECT_EQ(cache.Describe().find("cluster") != std::string::npos, GetParam().cluster) << cache.Describe();

  std::vector<std::string> all;
  for (int id = 1; id <= 6; ++id) {
    all.push_back(key(id));
    all.push_back(guard(id));
  }
  EXPECT_TRUE(cache.Del(all).ok());
}

// The Cache contract does not require Start(): the first call of a fresh
// cache (what `rowcache load` does) must work in every mode.
TEST_P(RedisClientModeTest, CacheWorksWithoutStart) {
  auto parts = OpenModeCache();
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  Cache& cache = *parts->cache;
  auto kg = KeysAndGuards(8);
  auto l = cache.GetOrLease(kg, "tok", 5000);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  for (const auto& x : *l) EXPECT_TRUE(x.leased);
  EXPECT_TRUE(cache.Invalidate(kg).ok());
}

// ReleaseLeases deletes only the guards still holding the caller's token,
// in every mode (in a cluster each script goes to its guard's own node).
TEST_P(RedisClientModeTest, ReleaseLeasesIsACompareAndDelete) {
  auto parts = OpenModeCache();
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  Cache& cache = *parts->cache;
  auto kg = KeysAndGuards(40);
  std::vector<std::string> guards, writers;
  for (size_t i = 0; i < kg.size(); ++i) {
    guards.push_back(kg[i].guard_key);
    if (i % 10 == 0) writers.push_back(kg[i].guard_key);
  }
  auto l = cache.GetOrLease(kg, "reader", 5000);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  for (const auto& x : *l) ASSERT_TRUE(x.leased);
  ASSERT_TRUE(cache.Lease(writers, "writer", 5000).ok());
  auto n = cache.ReleaseLeases(guards, "reader");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, guards.size() - writers.size());
  auto v = cache.MGet(guards);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  for (size_t i = 0; i < guards.size(); ++i) {
    if (i % 10 == 0) {
      EXPECT_EQ((*v)[i], "writer") << guards[i];
    } else {
      EXPECT_FALSE((*v)[i]) << guards[i];
    }
  }
  EXPECT_EQ(*cache.ReleaseLeases(guards, "reader"), 0u);
  EXPECT_TRUE(cache.Del(guards).ok());
}

TEST_P(RedisClientModeTest, AsyncClientMGetAcrossSlots) {
  auto c = StartedClient();
  ASSERT_TRUE(c);
  auto keys = TaggedKeys(30);
  SetAll(*c, keys);
  std::vector<std::string> query;
  for (size_t i = 0; i < keys.size(); i += 3) {
    query.push_back(keys[i]);
    query.push_back(keys[i] + ":missing");
  }
  if (GetParam().cluster) {
    std::set<int> slots;
    for (const auto& k : query) slots.insert(KeySlot(k));
    ASSERT_GE(slots.size(), 5u);
  }
  boost::asio::io_context ioc;
  {
    redis::AsyncClient ac(ioc, c);
    ASSERT_TRUE(ac.Usable());
    EXPECT_EQ(ac.OldestLookupNanos(), 0);
    for (bool with_ttl : {false, true}) {
      std::optional<Result<redis::Found>> got;
      ac.MGet(query, with_ttl, [&](Result<redis::Found> r) { got.emplace(std::move(r)); });
      RunUntil(
          ioc, [&] { return got.has_value(); }, 10s);
      ASSERT_TRUE(got.has_value()) << "no completion";
      ASSERT_TRUE(got->ok()) << got->status().ToString();
      const auto& values = (*got)->values;
      ASSERT_EQ(values.size(), query.size());
      ASSERT_EQ((*got)->ttl_ms.size(), with_ttl ? query.size() : 0u);
      for (size_t i = 0; i < query.size(); ++i) {
        if (query[i].find("missing") != std::string::npos) {
          EXPECT_FALSE(values[i]) << query[i];
          if (with_ttl) {
            EXPECT_EQ((*got)->ttl_ms[i], -2) << query[i];
          }
        } else {
          EXPECT_EQ(values[i], ValueFor(query[i])) << query[i];
          if (with_ttl) {
            EXPECT_TRUE((*got)->ttl_ms[i] == -1 || (*got)->ttl_ms[i] > 0) << query[i];
          }
        }
      }
    }

    // Many lookups at once share writes (pipelining); each completes with
    // its own values, in order.
    constexpr int kLookups = 40;
    std::vector<std::optional<Result<redis::Found>>> many(kLookups);
    std::vector<std::vector<std::string>> asked(kLookups);
    for (int i = 0; i < kLookups; ++i) {
      asked[i] = {keys[static_cast<size_t>(i) % keys.size()],
                  keys[static_cast<size_t>(i * 7 + 1) % keys.size()],
                  p_ + "{absent" + std::to_string(i) + "}"};
      ac.MGet(asked[i], false,
              [&many, i](Result<redis::Found> r) { many[static_cast<size_t>(i)].emplace(std::move(r)); });
    }
    EXPECT_NE(ac.OldestLookupNanos(), 0);
    int done = 0;
    RunUntil(
        ioc,
        [&] {
          done = 0;
          for (const auto& m : many) done += m.has_value();
          return done == kLookups;
        },
        10s);
    ASSERT_EQ(done, kLookups);
    for (int i = 0; i < kLookups; ++i) {
      const auto& m = *many[static_cast<size_t>(i)];
      ASSERT_TRUE(m.ok()) << i << ": " << m.status().ToString();
      const auto& v = m.value().values;
      ASSERT_EQ(v.size(), 3u);
      EXPECT_EQ(v[0], ValueFor(asked[i][0]));
      EXPECT_EQ(v[1], ValueFor(asked[i][1]));
      EXPECT_FALSE(v[2]);
    }
    EXPECT_EQ(ac.OldestLookupNanos(), 0);
  }
  DelAll(*c, keys);
  ExpectNoFailures(*c);
}

// "Completes on the io_context's thread with the values in order, or an
// error": a lookup of no keys too (the blocking MGet answers it at once).
TEST_P(RedisClientModeTest, AsyncClientEmptyLookupCompletes) {
  auto c = StartedClient();
  ASSERT_TRUE(c);
  boost::asio::io_context ioc;
  redis::AsyncClient ac(ioc, c);
  ASSERT_TRUE(ac.Usable());
  std::optional<Result<redis::Found>> empty;
  ac.MGet(std::vector<std::string>{}, false, [&](Result<redis::Found> r) { empty.emplace(std::move(r)); });
  RunUntil(
      ioc, [&] { return empty.has_value(); }, 2s);
  ASSERT_TRUE(empty.has_value()) << "a lookup of no keys never completed";
  ASSERT_TRUE(empty->ok()) << empty->status().ToString();
  EXPECT_TRUE((*empty)->values.empty());
}

TEST_P(RedisClientModeTest, WrongPasswordIsAnAuthFailure) {
  auto u = ParsedUrl();
  u.password = "wrong-" + RandomHex();
  auto c = NewClient(u);
  ASSERT_TRUE(c);
  Status s = c->Start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("auth"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find(u.password), std::string::npos) << "the password leaked: " << s.message();
  auto h = c->health().Get(SteadyNanos());
  EXPECT_EQ(h.last_error_class, "auth") << s.message();
  EXPECT_TRUE(h.degraded);
  EXPECT_GE(h.totals[static_cast<size_t>(redis::ErrorClass::kAuth)], 1u);
  // And a call on it fails the same way, quickly.
  auto r = c->MGet(std::vector<std::string>{p_ + "k"});
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
}

TEST_P(RedisClientModeTest, AClosedPortIsAConnectionFailureQuickly) {
  auto u = ParsedUrl();
  u.host = "127.0.0.1";
  u.port = ClosedPort();
  auto c = NewClient(u, 200ms);
  ASSERT_TRUE(c);
  auto start = std::chrono::steady_clock::now();
  Status s = c->Start();
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(u.port)), std::string::npos) << s.message();
  EXPECT_LT(took, 2s);
  EXPECT_EQ(c->health().Get(SteadyNanos()).last_error_class, "connection") << s.message();
  start = std::chrono::steady_clock::now();
  auto r = c->MGet(std::vector<std::string>{"k"});
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

INSTANTIATE_TEST_SUITE_P(Modes, RedisClientModeTest, ::testing::ValuesIn(kModes), ModeName);

// TLS modes only.
class RedisClientTlsTest : public RedisClientModeTest {};

TEST_P(RedisClientTlsTest, WithoutTheCaTheCertificateIsRefused) {
  auto u = ParsedUrl();
  ASSERT_EQ(u.scheme, "rediss");
  ASSERT_EQ(u.query.count("ca"), 1u) << "the test URL should carry ?ca=";
  u.query.erase("ca");  // the test CA is not in the system store
  auto c = NewClient(u);
  ASSERT_TRUE(c);
  Status s = c->Start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("certificate verification"), std::string::npos) << s.message();
  EXPECT_EQ(c->health().Get(SteadyNanos()).last_error_class, "tls") << s.message();
}

TEST_P(RedisClientTlsTest, AWrongServerNameIsRefused) {
  auto u = ParsedUrl();
  u.query["sni"] = "not-the-server.example";
  auto c = NewClient(u);
  ASSERT_TRUE(c);
  Status s = c->Start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(c->health().Get(SteadyNanos()).last_error_class, "tls") << s.message();
}

// (Every TLS mode here also has a password.) A rotated password: the client
// starts with a stale one, and refresh_credentials hands it the current one.
TEST_P(RedisClientTlsTest, ARefusedPasswordIsRefreshedOnceAndUsedFromThenOn) {
  auto u = ParsedUrl();
  ASSERT_FALSE(u.password.empty());
  std::string current = u.password;
  u.password = "stale-" + RandomHex();
  auto o = redis::OptionsFromUrl(u);
  ASSERT_TRUE(o.ok());
  o->timeout = 3000ms;
  std::atomic<int> calls{0};
  o->refresh_credentials = [&]() -> std::optional<Credentials> {
    ++calls;
    return Credentials{"", current};
  };
  auto c = std::make_shared<Client>(std::move(o.value()));
  Status s = c->Start();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(c->credentials().password, current);
  EXPECT_EQ(c->credentials().user, u.user) << "an empty user in the refresh keeps the URL's";
  auto keys = TaggedKeys(6);
  SetAll(*c, keys);
  auto r = c->MGet(keys);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ((*r)[i].value_or(""), ValueFor(keys[i]));
  EXPECT_EQ(calls.load(), 1) << "later connections use the refreshed password";
  DelAll(*c, keys);
}

TEST_P(RedisClientTlsTest, ARefreshWithNothingNewFailsAndIsRateLimited) {
  auto u = ParsedUrl();
  u.password = "stale-" + RandomHex();
  auto o = redis::OptionsFromUrl(u);
  ASSERT_TRUE(o.ok());
  o->timeout = 3000ms;
  std::atomic<int> calls{0};
  std::string stale = u.password;
  o->refresh_credentials = [&]() -> std::optional<Credentials> {
    ++calls;
    return calls == 1 ? std::nullopt : std::optional<Credentials>(Credentials{"", stale});
  };
  auto c = std::make_shared<Client>(std::move(o.value()));
  EXPECT_FALSE(c->Start().ok());
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(c->MGet(std::vector<std::string>{p_ + "k"}).ok());
  EXPECT_EQ(calls.load(), 1) << "at most one refresh a second";
  EXPECT_EQ(c->health().Get(SteadyNanos()).last_error_class, "auth");
  std::this_thread::sleep_for(1100ms);
  EXPECT_FALSE(c->MGet(std::vector<std::string>{p_ + "k"}).ok()) << "the same stale password again: refused";
  EXPECT_EQ(calls.load(), 2);
}

const Mode kTlsModes[] = {kModes[1], kModes[2], kModes[4]};
INSTANTIATE_TEST_SUITE_P(Modes, RedisClientTlsTest, ::testing::ValuesIn(kTlsModes), ModeName);

// Cluster modes only.
class RedisClientClusterModeTest : public RedisClientModeTest {};

TEST_P(RedisClientClusterModeTest, ADatabaseOtherThanZeroIsInvalid) {
  auto u = ParsedUrl();
  u.path = "3";
  auto c = NewClient(u);
  ASSERT_TRUE(c);
  Status s = c->Start();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("database"), std::string::npos) << s.message();
}

TEST_P(RedisClientClusterModeTest, ACrossSlotCommandIsReportedAsSuch) {
  auto c = StartedClient();
  ASSERT_TRUE(c);
  // Two keys in different slots in one command, routed by the first.
  std::string a = p_ + "{a}", b = p_ + "{b}";
  ASSERT_NE(KeySlot(a), KeySlot(b));
  Command cmd = MakeCommand({"MGET", a, b}, a);
  auto r = c->Run(std::span(&cmd, 1));
  // Either the node refuses it (CROSSSLOT) or redirects it; never a wrong answer.
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  auto h = c->health().Get(SteadyNanos());
  EXPECT_TRUE(h.last_error_class == "crossslot" || h.last_error_class == "redirect") << h.last_error_class;
}

const Mode kClusterModes[] = {kModes[3], kModes[4]};
INSTANTIATE_TEST_SUITE_P(Modes, RedisClientClusterModeTest, ::testing::ValuesIn(kClusterModes), ModeName);

// ------------------------------------------------------- MOVED and ASK

struct ClusterNode {
  std::string id;
  int port = 0;
  bool master = false;
  bool failing = false;
  std::vector<std::string> slot_tokens;  // "0-5460", "7", "[7->-id]", "[7-<-id]"
};

std::vector<ClusterNode> ParseClusterNodes(const std::string& text) {
  std::vector<ClusterNode> out;
  for (const auto& line : Lines(text)) {
    auto f = Words(line);
    if (f.size() < 8 || f[0].size() != 40) continue;
    ClusterNode n;
    n.id = f[0];
    size_t colon = f[1].rfind(':', f[1].find('@'));
    if (colon == std::string::npos) continue;
    n.port = std::atoi(f[1].c_str() + colon + 1);
    n.master = f[2].find("master") != std::string::npos;
    n.failing = f[2].find("fail") != std::string::npos || f[2].find("noaddr") != std::string::npos;
    for (size_t i = 8; i < f.size(); ++i) n.slot_tokens.push_back(f[i]);
    out.push_back(std::move(n));
  }
  return out;
}

bool TokenHasSlot(const std::string& t, int slot) {
  if (t.empty() || t[0] == '[') return false;
  size_t dash = t.find('-');
  int lo = std::atoi(t.c_str());
  int hi = dash == std::string::npos ? lo : std::atoi(t.c_str() + dash + 1);
  return lo <= slot && slot <= hi;
}

bool TokenOpensSlot(const std::string& t, int slot) {
  return t.rfind("[" + std::to_string(slot) + "-", 0) == 0;
}

// What the node at port believes about slot: its owner's id, and whether
// any node is importing or migrating it (as far as this node knows).
struct SlotView {
  std::string owner;
  bool open = false;
  bool ok = false;
};

SlotView ViewOf(int port, int slot) {
  SlotView v;
  auto nodes = ParseClusterNodes(Cli(port, "CLUSTER NODES"));
  if (nodes.empty()) return v;
  v.ok = true;
  for (const auto& n : nodes) {
    for (const auto& t : n.slot_tokens) {
      if (TokenHasSlot(t, slot)) v.owner = n.id;
      if (TokenOpensSlot(t, slot)) v.open = true;
    }
  }
  return v;
}

// How many error replies of this kind (MOVED, ASK) the node has sent.
long ErrorStat(int port, const std::string& kind) {
  for (const auto& line : Lines(Cli(port, "INFO errorstats"))) {
    std::string p = "errorstat_" + kind + ":count=";
    if (line.rfind(p, 0) == 0) return std::atol(line.c_str() + p.size());
  }
  return 0;
}

std::vector<int> PortsFromEnv(const char* var) {
  std::vector<int> ports;
  const char* v = std::getenv(var);
  if (!v) return ports;
  for (const auto& w : Words(v)) ports.push_back(std::atoi(w.c_str()));
  return ports;
}

class RedisClusterRedirectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ROWCACHE_REQUIRE_URL("ROWCACHE_TEST_REDIS_CLUSTER", url_);
    std::string ports_text;
    ROWCACHE_REQUIRE_URL("ROWCACHE_TEST_REDIS_CLUSTER_PORTS", ports_text);
    ports_ = PortsFromEnv("ROWCACHE_TEST_REDIS_CLUSTER_PORTS");
    ASSERT_EQ(ports_.size(), 6u) << ports_text;
    ASSERT_NE(Sh("command -v redis-cli"), "") << "redis-cli is needed to migrate a slot";
    // Start from a settled cluster.
    ASSERT_TRUE(WaitClusterClean(30s))
        << Sh("redis-cli --cluster check 127.0.0.1:" + std::to_string(ports_[0]));

    auto nodes = ParseClusterNodes(Cli(ports_[0], "CLUSTER NODES"));
    for (const auto& n : nodes) {
      if (n.master && !n.failing && !n.slot_tokens.empty()) masters_.push_back(n);
    }
    ASSERT_EQ(masters_.size(), 3u) << Cli(ports_[0], "CLUSTER NODES");

    // A hash tag of our own, in a slot that holds no keys (so that moving it
    // moves only ours, and nobody else's keys are in flight meanwhile).
    for (int attempt = 0; attempt < 50 && slot_ < 0; ++attempt) {
      std::string tag = "mig" + RandomHex();
      int slot = KeySlot(tag);
      const ClusterNode* owner = OwnerOf(slot);
      if (!owner) continue;
      if (Cli(owner->port, "CLUSTER COUNTKEYSINSLOT " + std::to_string(slot)) != "0") continue;
      slot_ = slot;
      key_ = "itest:{" + tag + "}:k";
      missing_ = "itest:{" + tag + "}:missing";
      src_ = *owner;
    }
    ASSERT_GE(slot_, 0) << "no empty slot found";
    for (const auto& m : masters_) {
      if (m.id != src_.id) {
        dst_ = m;
        break;
      }
    }
    ASSERT_FALSE(dst_.id.empty());
  }

  void TearDown() override {
    if (state_ == State::kUntouched) return;
    // Put the slot back where it was, whatever step the test stopped at.
    if (state_ == State::kOpen) MoveSlot(src_, dst_, /*open=*/false);
    MoveSlot(dst_, src_, /*open=*/true);
    EXPECT_TRUE(WaitAgreement(src_.id, 30s)) << "slot " << slot_ << " not back on " << src_.port;
    EXPECT_TRUE(WaitClusterClean(30s))
        << Sh("redis-cli --cluster check 127.0.0.1:" + std::to_string(ports_[0]));
    Cli(src_.port, "DEL " + key_);
  }

  const ClusterNode* OwnerOf(int slot) const {
    for (const auto& m : masters_) {
      for (const auto& t : m.slot_tokens) {
        if (TokenHasSlot(t, slot)) return &m;
      }
    }
    return nullptr;
  }
  std::vector<const ClusterNode*> Masters() const {
    std::vector<const ClusterNode*> out;
    for (const auto& m : masters_) out.push_back(&m);
    return out;
  }

  // The documented manual procedure: IMPORTING on the target, MIGRATING on
  // the source, MIGRATE every key, then SETSLOT NODE on the target, the
  // source and every other master. With open=false the first step (already
  // done) is left out.
  void MoveSlot(const ClusterNode& from, const ClusterNode& to, bool open) {
    std::string s = std::to_string(slot_);
    if (open) {
      EXPECT_EQ(Cli(to.port, "CLUSTER SETSLOT " + s + " IMPORTING " + from.id), "OK");
      EXPECT_EQ(Cli(from.port, "CLUSTER SETSLOT " + s + " MIGRATING " + to.id), "OK");
    }
    for (int round = 0; round < 100; ++round) {
      auto keys = Lines(Cli(from.port, "CLUSTER GETKEYSINSLOT " + s + " 100"));
      if (keys.empty()) break;
      std::string args;
      for (const auto& k : keys) args += " '" + k + "'";
      std::string r =
          Cli(from.port, "MIGRATE 127.0.0.1 " + std::to_string(to.port) + " \"\" 0 5000 KEYS" + args);
      EXPECT_EQ(r, "OK") << "MIGRATE" << args;
      if (r != "OK") break;
    }
    EXPECT_EQ(Cli(to.port, "CLUSTER SETSLOT " + s + " NODE " + to.id), "OK");
    EXPECT_EQ(Cli(from.port, "CLUSTER SETSLOT " + s + " NODE " + to.id), "OK");
    for (const auto& m : masters_) {
      if (m.id != from.id && m.id != to.id) {
        EXPECT_EQ(Cli(m.port, "CLUSTER SETSLOT " + s + " NODE " + to.id), "OK");
      }
    }
  }

  // Every node (replicas too: the client may ask one for the slot map) names
  // owner_id for the slot, with no migration open.
  bool WaitAgreement(const std::string& owner_id, std::chrono::seconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      bool all = true;
      for (int p : ports_) {
        SlotView v = ViewOf(p, slot_);
        if (!v.ok || v.owner != owner_id || v.open) all = false;
      }
      if (all) return true;
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(100ms);
    }
  }

  bool WaitClusterClean(std::chrono::seconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::string out = Sh("redis-cli --cluster check 127.0.0.1:" + std::to_string(ports_[0]));
      if (out.find("[OK] All nodes agree about slots configuration.") != std::string::npos &&
          out.find("[OK] All 16384 slots covered.") != std::string::npos &&
          out.find("[WARNING]") == std::string::npos && out.find("[ERR]") == std::string::npos) {
        return true;
      }
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(200ms);
    }
  }

  std::shared_ptr<Client> StartedClient() {
    auto u = ParseUrl(url_);
    EXPECT_TRUE(u.ok());
    auto o = redis::OptionsFromUrl(*u);
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    o->timeout = 3000ms;
    auto c = std::make_shared<Client>(std::move(o.value()));
    Status s = c->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? c : nullptr;
  }

  static NodeAddress Addr(const ClusterNode& n) { return NodeAddress{"127.0.0.1", n.port}; }

  enum class State { kUntouched, kOpen, kMoved };
  std::string url_;
  std::vector<int> ports_;
  std::vector<ClusterNode> masters_;
  ClusterNode src_, dst_;
  int slot_ = -1;
  std::string key_, missing_;
  State state_ = State::kUntouched;
};

TEST_F(RedisClusterRedirectTest, AskDuringAMigrationAndMovedAfterIt) {
  // Clients that learn the slot map before the move.
  auto reader = StartedClient();
  auto writer = StartedClient();
  auto async_base = StartedClient();
  ASSERT_TRUE(reader && writer && async_base);
  ASSERT_EQ(*reader->topology()->NodeFor(slot_), Addr(src_));
  ASSERT_EQ(*writer->topology()->NodeFor(slot_), Addr(src_));
  {
    Command set = MakeCommand({"SET", key_, "before", "EX", "300"}, key_);
    auto r = writer->Run(std::span(&set, 1));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(IsStatus((*r)[0], "OK"));
  }
  ASSERT_EQ(Cli(src_.port, "GET " + key_), "before");

  // Open the migration: the source still has key_, not missing_.
  std::string s = std::to_string(slot_);
  state_ = State::kOpen;
  ASSERT_EQ(Cli(dst_.port, "CLUSTER SETSLOT " + s + " IMPORTING " + src_.id), "OK");
  ASSERT_EQ(Cli(src_.port, "CLUSTER SETSLOT " + s + " MIGRATING " + dst_.id), "OK");
  ASSERT_NE(Cli(src_.port, "GET " + missing_).find("ASK " + s), std::string::npos)
      << "the source should redirect a missing key with -ASK";

  // ASK: followed with ASKING on the target; a missing key is nullopt.
  long asks = ErrorStat(src_.port, "ASK");
  auto got = reader->MGet(std::vector<std::string>{missing_});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_FALSE((*got)[0]);
  EXPECT_GT(ErrorStat(src_.port, "ASK"), asks) << "the client was not redirected with ASK";
  // A key still on the source is read there.
  got = reader->MGet(std::vector<std::string>{key_});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)[0], "before");
  // ASK does not change the slot map.
  EXPECT_EQ(*reader->topology()->NodeFor(slot_), Addr(src_));
  auto h = reader->health().Get(SteadyNanos());
  EXPECT_EQ(h.window_failures, 0u) << h.last_error_class;

  // Finish the move: MIGRATE the key, then SETSLOT NODE on every master.
  ASSERT_EQ(Cli(src_.port, "MIGRATE 127.0.0.1 " + std::to_string(dst_.port) + " \"\" 0 5000 KEYS " + key_),
            "OK");
  ASSERT_EQ(Cli(dst_.port, "CLUSTER SETSLOT " + s + " NODE " + dst_.id), "OK");
  ASSERT_EQ(Cli(src_.port, "CLUSTER SETSLOT " + s + " NODE " + dst_.id), "OK");
  state_ = State::kMoved;
  for (const auto& m : masters_) {
    if (m.id != src_.id && m.id != dst_.id) {
      ASSERT_EQ(Cli(m.port, "CLUSTER SETSLOT " + s + " NODE " + dst_.id), "OK");
    }
  }
  ASSERT_TRUE(WaitAgreement(dst_.id, 30s)) << "the nodes do not agree on the new owner";
  ASSERT_EQ(Cli(dst_.port, "GET " + key_), "before");
  // The clients still believe the old owner.
  ASSERT_EQ(*reader->topology()->NodeFor(slot_), Addr(src_));
  ASSERT_EQ(*writer->topology()->NodeFor(slot_), Addr(src_));
  // Slot-map refreshes are rate-limited to one per 100 ms: be past that.
  std::this_thread::sleep_for(150ms);

  // MOVED on a read: retried at the new owner, and the map is refreshed.
  long moved = ErrorStat(src_.port, "MOVED");
  got = reader->MGet(std::vector<std::string>{key_, missing_});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)[0], "before");
  EXPECT_FALSE((*got)[1]);
  EXPECT_GT(ErrorStat(src_.port, "MOVED"), moved) << "the reader was not redirected with MOVED";
  EXPECT_EQ(*reader->topology()->NodeFor(slot_), Addr(dst_));

  // MOVED on a write: the same.
  moved = ErrorStat(src_.port, "MOVED");
  {
    Command set = MakeCommand({"SET", key_, "after", "EX", "300"}, key_);
    auto r = writer->Run(std::span(&set, 1));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(IsStatus((*r)[0], "OK")) << Str((*r)[0]);
  }
  EXPECT_GT(ErrorStat(src_.port, "MOVED"), moved) << "the writer was not redirected with MOVED";
  EXPECT_EQ(*writer->topology()->NodeFor(slot_), Addr(dst_));
  EXPECT_EQ(Cli(dst_.port, "GET " + key_), "after");
  EXPECT_EQ(Cli(src_.port, "CLUSTER COUNTKEYSINSLOT " + s), "0");
  got = reader->MGet(std::vector<std::string>{key_});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)[0], "after");
  // Redirects that were followed are not failures of the blocking client.
  h = reader->health().Get(SteadyNanos());
  EXPECT_EQ(h.window_failures, 0u) << h.last_error_class;
  h = writer->health().Get(SteadyNanos());
  EXPECT_EQ(h.window_failures, 0u) << h.last_error_class;

  // An asynchronous lookup on the old map fails (MOVED: the fast path does
  // not follow redirects) and marks the map stale, so that the next blocking
  // call refreshes it.
  {
    boost::asio::io_context ioc;
    redis::AsyncClient ac(ioc, async_base);
    ASSERT_TRUE(ac.Usable());
    std::optional<Result<redis::Found>> r;
    ac.MGet(std::vector<std::string>{key_}, false, [&](Result<redis::Found> x) { r.emplace(std::move(x)); });
    RunUntil(
        ioc, [&] { return r.has_value(); }, 10s);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->ok());
    EXPECT_NE(r->status().message().find("MOVED"), std::string::npos) << r->status().ToString();
    EXPECT_EQ(async_base->health().Get(SteadyNanos()).last_error_class, "redirect");
  }
  std::this_thread::sleep_for(150ms);
  got = async_base->MGet(std::vector<std::string>{key_});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)[0], "after");
  EXPECT_EQ(*async_base->topology()->NodeFor(slot_), Addr(dst_));
  {
    boost::asio::io_context ioc;
    redis::AsyncClient ac(ioc, async_base);
    std::optional<Result<redis::Found>> r;
    ac.MGet(std::vector<std::string>{key_}, false, [&](Result<redis::Found> x) { r.emplace(std::move(x)); });
    RunUntil(
        ioc, [&] { return r.has_value(); }, 10s);
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(r->ok()) << r->status().ToString();
    EXPECT_EQ((*r)->values[0], "after");
  }
  // A client that starts now learns the new owner directly.
  auto fresh = StartedClient();
  ASSERT_TRUE(fresh);
  EXPECT_EQ(*fresh->topology()->NodeFor(slot_), Addr(dst_));
}

}  // namespace
}  // namespace rowcache
