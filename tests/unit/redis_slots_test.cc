// The Redis client's pure parts (no servers): key slots, the slot map from a
// CLUSTER SLOTS reply, MGET planning, error classes, URL options, health.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "redis/client.h"
#include "redis/health.h"
#include "redis/resp.h"
#include "redis/slots.h"
#include "rowcache/service.h"
#include "rowcache/url.h"

namespace rowcache::redis {
namespace {

// ---------------------------------------------------------------- key slots

TEST(RedisSlots, Crc16MatchesTheClusterSpecification) {
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Crc16(""), 0);
}

TEST(RedisSlots, KeySlotOfPlainKeys) {
  EXPECT_EQ(KeySlot("foo"), 12182);
  EXPECT_EQ(KeySlot("bar"), 5061);
  EXPECT_EQ(KeySlot("123456789"), 0x31C3 & (kSlots - 1));
  for (const char* k : {"", "a", "rowcache", "x:y:z", "\xff\xfe"}) {
    int s = KeySlot(k);
    EXPECT_GE(s, 0) << k;
    EXPECT_LT(s, kSlots) << k;
  }
}

TEST(RedisSlots, HashTags) {
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  // An empty tag: the whole key counts.
  EXPECT_EQ(KeySlot("foo{}{bar}"), Crc16("foo{}{bar}") & (kSlots - 1));
  EXPECT_NE(KeySlot("foo{}{bar}"), KeySlot("bar"));
  // From the first '{' to the next '}': the tag is "{bar".
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), Crc16("{bar") & (kSlots - 1));
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), KeySlot("{bar"));  // "{bar" has no '}': hashed whole
  // Only the first tag counts.
  EXPECT_EQ(KeySlot("foo{bar}{zap}"), KeySlot("bar"));
  // An unclosed brace: the whole key counts.
  EXPECT_EQ(KeySlot("foo{bar"), Crc16("foo{bar") & (kSlots - 1));
}

TEST(RedisSlots, TheServiceEntryAndItsGuardShareASlot) {
  for (int64_t id : {0, 7, 42, 1000, 123456789}) {
    std::string key = CacheKeyFor("rowcache:heroes:", id);
    EXPECT_EQ(key, "rowcache:heroes:{" + std::to_string(id) + "}");
    EXPECT_EQ(KeySlot(key), KeySlot(key + ":gen")) << key;
    EXPECT_EQ(KeySlot(key), KeySlot(std::to_string(id))) << key;
  }
  EXPECT_EQ(KeySlot("rowcache:heroes:{7}"), KeySlot("rowcache:heroes:{7}:gen"));
  // Different ids spread over slots (they are not all in one slot).
  std::set<int> slots;
  for (int64_t id = 0; id < 100; ++id) slots.insert(KeySlot(CacheKeyFor("rowcache:heroes:", id)));
  EXPECT_GT(slots.size(), 90u);
}

// ------------------------------------------------------ CLUSTER SLOTS replies

// Parses one reply from RESP wire text with hiredis's reader.
Reply Parse(const std::string& wire) {
  redisReader* r = redisReaderCreate();
  EXPECT_EQ(redisReaderFeed(r, wire.data(), wire.size()), REDIS_OK);
  void* reply = nullptr;
  EXPECT_EQ(redisReaderGetReply(r, &reply), REDIS_OK);
  EXPECT_NE(reply, nullptr) << "incomplete wire text";
  redisReaderFree(r);
  return Reply(static_cast<redisReply*>(reply));
}

std::string Bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }
std::string Int(long long v) { return ":" + std::to_string(v) + "\r\n"; }
// A node entry as Redis 7 sends it: host, port, id, and a map of extras.
std::string NodeEntry(const std::string& host, int port, const std::string& id) {
  return "*4\r\n" + Bulk(host) + Int(port) + Bulk(id) + "*0\r\n";
}
std::string Range(int lo, int hi, const std::string& master, const std::string& replica) {
  return "*4\r\n" + Int(lo) + Int(hi) + master + replica;
}

const NodeAddress kSeed{"seed.example", 7000};

TEST(RedisSlots, TopologyFromThreeRanges) {
  std::string wire = "*3\r\n" +
                     Range(0, 5460, NodeEntry("10.0.0.1", 7001, std::string(40, 'a')),
                           NodeEntry("10.0.0.4", 7004, std::string(40, 'd'))) +
                     Range(5461, 10922, NodeEntry("10.0.0.2", 7002, std::string(40, 'b')),
                           NodeEntry("10.0.0.5", 7005, std::string(40, 'e'))) +
                     Range(10923, 16383, NodeEntry("10.0.0.3", 7003, std::string(40, 'c')),
                           NodeEntry("10.0.0.6", 7006, std::string(40, 'f')));
  Reply reply = Parse(wire);
  ASSERT_TRUE(reply);
  auto t = TopologyFromClusterSlots(reply.get(), kSeed);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->cluster);
  ASSERT_EQ(t->nodes.size(), 3u);  // masters only
  ASSERT_EQ(t->owner.size(), static_cast<size_t>(kSlots));
  EXPECT_EQ(*t->NodeFor(0), (NodeAddress{"10.0.0.1", 7001}));
  EXPECT_EQ(*t->NodeFor(5460), (NodeAddress{"10.0.0.1", 7001}));
  EXPECT_EQ(*t->NodeFor(5461), (NodeAddress{"10.0.0.2", 7002}));
  EXPECT_EQ(*t->NodeFor(10922), (NodeAddress{"10.0.0.2", 7002}));
  EXPECT_EQ(*t->NodeFor(10923), (NodeAddress{"10.0.0.3", 7003}));
  EXPECT_EQ(*t->NodeFor(16383), (NodeAddress{"10.0.0.3", 7003}));
  EXPECT_EQ(*t->NodeFor(KeySlot("foo")), (NodeAddress{"10.0.0.3", 7003}));  // 12182
  for (const auto& n : t->nodes) EXPECT_NE(n.port % 1000, 4) << "a replica became a master: " << n.Id();
}

TEST(RedisSlots, TopologyWithSplitRangesAndAnUncoveredSlot) {
  // One master serving two ranges is one node; slot 100 is served by nobody.
  std::string wire = "*3\r\n" + Range(0, 99, NodeEntry("h1", 1, "x"), "*0\r\n") +
                     Range(101, 8000, NodeEntry("h2", 2, "y"), "*0\r\n") +
                     Range(8001, 16383, NodeEntry("h1", 1, "x"), "*0\r\n");
  // Range() says 4 elements; with an empty replica entry that is still valid RESP.
  Reply reply = Parse(wire);
  ASSERT_TRUE(reply);
  auto t = TopologyFromClusterSlots(reply.get(), kSeed);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->nodes.size(), 2u);
  EXPECT_EQ(*t->NodeFor(0), (NodeAddress{"h1", 1}));
  EXPECT_EQ(t->NodeFor(100), nullptr);
  EXPECT_EQ(*t->NodeFor(101), (NodeAddress{"h2", 2}));
  EXPECT_EQ(*t->NodeFor(16383), (NodeAddress{"h1", 1}));
}

TEST(RedisSlots, AnEmptyHostMeansTheSeedsHost) {
  std::string wire = "*2\r\n" + Range(0, 8191, NodeEntry("", 7001, "a"), NodeEntry("", 7004, "d")) +
                     Range(8192, 16383, NodeEntry("?", 7002, "b"), NodeEntry("?", 7005, "e"));
  Reply reply = Parse(wire);
  ASSERT_TRUE(reply);
  auto t = TopologyFromClusterSlots(reply.get(), kSeed);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->nodes.size(), 2u);
  EXPECT_EQ(*t->NodeFor(0), (NodeAddress{"seed.example", 7001}));
  EXPECT_EQ(*t->NodeFor(16383), (NodeAddress{"seed.example", 7002}));
}

TEST(RedisSlots, MalformedClusterSlotsRepliesAreInvalidArgument) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not an array", "+OK\r\n"},
      {"an error", "-ERR This instance has cluster support disabled\r\n"},
      {"no ranges", "*0\r\n"},
      {"a range that is not an array", "*1\r\n:5\r\n"},
      {"a range too short", "*1\r\n*2\r\n:0\r\n:16383\r\n"},
      {"slot as a string", "*1\r\n*3\r\n" + Bulk("0") + Int(16383) + NodeEntry("h", 1, "a")},
      {"slot beyond 16383", "*1\r\n*3\r\n" + Int(0) + Int(16384) + NodeEntry("h", 1, "a")},
      {"negative slot", "*1\r\n*3\r\n" + Int(-1) + Int(10) + NodeEntry("h", 1, "a")},
      {"low above high", "*1\r\n*3\r\n" + Int(10) + Int(5) + NodeEntry("h", 1, "a")},
      {"node not an array", "*1\r\n*3\r\n" + Int(0) + Int(16383) + Bulk("h:1")},
      {"node too short", "*1\r\n*3\r\n" + Int(0) + Int(16383) + "*1\r\n" + Bulk("h")},
      {"port as a string", "*1\r\n*3\r\n" + Int(0) + Int(16383) + "*2\r\n" + Bulk("h") + Bulk("7001")},
      {"port 0", "*1\r\n*3\r\n" + Int(0) + Int(16383) + NodeEntry("h", 0, "a")},
      {"port too big", "*1\r\n*3\r\n" + Int(0) + Int(16383) + NodeEntry("h", 70000, "a")},
  };
  for (const auto& [what, wire] : cases) {
    Reply reply = Parse(wire);
    ASSERT_TRUE(reply) << what;
    auto t = TopologyFromClusterSlots(reply.get(), kSeed);
    EXPECT_FALSE(t.ok()) << what;
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument) << what;
  }
  EXPECT_EQ(TopologyFromClusterSlots(nullptr, kSeed).status().code(), Code::kInvalidArgument);
}

TEST(RedisSlots, StandaloneTopologyServesEverySlotFromTheSeed) {
  Topology t = StandaloneTopology(kSeed);
  EXPECT_FALSE(t.cluster);
  ASSERT_EQ(t.nodes.size(), 1u);
  for (int s : {0, 1, 12182, kSlots - 1}) EXPECT_EQ(*t.NodeFor(s), kSeed);
  EXPECT_EQ(*t.NodeFor(-1), kSeed);  // a command with no key
}

// ------------------------------------------------------------ MGET planning

// The values of an MGET part, as a server would answer: "v:" + key.
std::string FakeMGetReply(const std::vector<std::string>& keys, const MGetPlan::Part& p) {
  std::string out = "*" + std::to_string(p.positions.size()) + "\r\n";
  for (uint32_t pos : p.positions)
    out += keys[pos].find("missing") != std::string::npos ? "$-1\r\n" : Bulk("v:" + keys[pos]);
  return out;
}

TEST(RedisSlots, PlanMGetStandaloneIsOneCommand) {
  std::vector<std::string> keys{"a", "{x}b", "c", "{y}d", "a"};
  MGetPlan plan = PlanMGet(keys, false);
  ASSERT_EQ(plan.parts.size(), 1u);
  EXPECT_EQ(plan.parts[0].positions, (std::vector<uint32_t>{0, 1, 2, 3, 4}));
  std::string want;
  AppendMGet(want, keys);
  EXPECT_EQ(plan.parts[0].wire, want);
  EXPECT_EQ(plan.parts[0].wire.substr(0, 14), "*6\r\n$4\r\nMGET\r\n");
  EXPECT_TRUE(PlanMGet(std::span<const std::string>(), false).parts.empty());
  EXPECT_TRUE(PlanMGet(std::span<const std::string>(), true).parts.empty());
}

TEST(RedisSlots, PlanMGetClusterIsOneCommandPerSlotAndReassembles) {
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("p:{" + std::to_string(i % 13) + "}:" + std::to_string(i));
  keys.push_back("p:{3}:missing");
  keys.push_back("p:{100}:missing");
  MGetPlan plan = PlanMGet(keys, true);
  std::set<int> want_slots;
  for (const auto& k : keys) want_slots.insert(KeySlot(k));
  ASSERT_EQ(plan.parts.size(), want_slots.size());

  std::vector<int> seen(keys.size(), 0);
  std::set<int> slots;
  for (const auto& p : plan.parts) {
    EXPECT_TRUE(slots.insert(p.slot).second) << "slot " << p.slot << " in two parts";
    ASSERT_FALSE(p.positions.empty());
    EXPECT_TRUE(std::is_sorted(p.positions.begin(), p.positions.end()));  // command order
    std::vector<std::string> part_keys;
    for (uint32_t pos : p.positions) {
      ASSERT_LT(pos, keys.size());
      ++seen[pos];
      EXPECT_EQ(KeySlot(keys[pos]), p.slot) << keys[pos];
      part_keys.push_back(keys[pos]);
    }
    std::string want;
    AppendMGet(want, part_keys);
    EXPECT_EQ(p.wire, want);
  }
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(seen[i], 1) << keys[i];

  // Answers per part, put back by positions: the values in key order.
  std::vector<std::optional<std::string>> values(keys.size());
  for (const auto& p : plan.parts) {
    Reply r = Parse(FakeMGetReply(keys, p));
    std::vector<std::optional<std::string>> part;
    ASSERT_TRUE(MGetValues(r.get(), p.positions.size(), &part));
    for (size_t k = 0; k < p.positions.size(); ++k) values[p.positions[k]] = part[k];
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].find("missing") != std::string::npos) {
      EXPECT_FALSE(values[i]) << keys[i];
    } else {
      EXPECT_EQ(values[i], "v:" + keys[i]);
    }
  }
}

TEST(RedisSlots, PlanMGetClusterWithOneSlotIsOneCommand) {
  std::vector<std::string> keys{"x{t}1", "x{t}2", "{t}"};
  MGetPlan plan = PlanMGet(keys, true);
  ASSERT_EQ(plan.parts.size(), 1u);
  EXPECT_EQ(plan.parts[0].slot, KeySlot("t"));
  EXPECT_EQ(plan.parts[0].positions, (std::vector<uint32_t>{0, 1, 2}));
}

TEST(RedisSlots, MakeCommandRoutesByTheKeysSlot) {
  Command c = MakeCommand({"SET", "rowcache:heroes:{7}", "v"}, "rowcache:heroes:{7}");
  EXPECT_EQ(c.slot, KeySlot("7"));
  std::string want;
  AppendCommand(want, {"SET", "rowcache:heroes:{7}", "v"});
  EXPECT_EQ(c.wire, want);
}

// ------------------------------------------------------------ error classes

TEST(RedisHealth, ClassifyReplyError) {
  EXPECT_EQ(ClassifyReplyError("MOVED 3999 127.0.0.1:6381"), ErrorClass::kRedirect);
  EXPECT_EQ(ClassifyReplyError("ASK 3999 127.0.0.1:6381"), ErrorClass::kRedirect);
  EXPECT_EQ(ClassifyReplyError("TRYAGAIN Multiple keys request during rehashing of slot"),
            ErrorClass::kRedirect);
  EXPECT_EQ(ClassifyReplyError("CROSSSLOT Keys in request don't hash to the same slot"),
            ErrorClass::kCrossSlot);
  EXPECT_EQ(ClassifyReplyError("CLUSTERDOWN The cluster is down"), ErrorClass::kClusterDown);
  EXPECT_EQ(ClassifyReplyError("CLUSTERDOWN Hash slot not served"), ErrorClass::kClusterDown);
  EXPECT_EQ(ClassifyReplyError("READONLY You can't write against a read only replica."),
            ErrorClass::kReadOnly);
  EXPECT_EQ(ClassifyReplyError("MASTERDOWN Link with MASTER is down"), ErrorClass::kReadOnly);
  EXPECT_EQ(ClassifyReplyError("NOAUTH Authentication required."), ErrorClass::kAuth);
  EXPECT_EQ(ClassifyReplyError("WRONGPASS invalid username-password pair or user is disabled."),
            ErrorClass::kAuth);
  EXPECT_EQ(ClassifyReplyError("NOPERM this user has no permissions to run the 'get' command"),
            ErrorClass::kAuth);
  EXPECT_EQ(ClassifyReplyError("ERR invalid password"), ErrorClass::kAuth);
  EXPECT_EQ(ClassifyReplyError("ERR SELECT is not allowed in cluster mode"), ErrorClass::kAuth);
  EXPECT_EQ(ClassifyReplyError("ERR DB index is out of range"), ErrorClass::kAuth);
  EXPECT_EQ(ClassifyReplyError("LOADING Redis is loading the dataset in memory"), ErrorClass::kLoading);
  EXPECT_EQ(ClassifyReplyError("ERR unknown command 'FOO'"), ErrorClass::kOther);
  EXPECT_EQ(ClassifyReplyError("WRONGTYPE Operation against a key holding the wrong kind of value"),
            ErrorClass::kOther);
  EXPECT_EQ(ClassifyReplyError(""), ErrorClass::kOther);
}

TEST(RedisHealth, ClassNames) {
  EXPECT_STREQ(ErrorClassName(ErrorClass::kTimeout), "timeout");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kConnection), "connection");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kTls), "tls");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kAuth), "auth");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kCrossSlot), "crossslot");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kRedirect), "redirect");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kClusterDown), "clusterdown");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kReadOnly), "readonly");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kLoading), "loading");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kProtocol), "protocol");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kOther), "other");
}

TEST(RedisHealth, ClassifyTransportError) {
  EXPECT_EQ(ClassifyTransportError("TLS handshake failed"), ErrorClass::kTls);
  EXPECT_EQ(ClassifyTransportError("certificate verify failed"), ErrorClass::kTls);
  EXPECT_EQ(ClassifyTransportError("timed out after 250 ms"), ErrorClass::kTimeout);
  // A slow handshake is a busy server (serve starts and retries), not a certificate problem (exit).
  EXPECT_EQ(ClassifyTransportError("tls: TLS handshake timed out"), ErrorClass::kTimeout);
  EXPECT_EQ(ClassifyTransportError("connect: Connection refused"), ErrorClass::kConnection);
  EXPECT_EQ(ClassifyTransportError("protocol error"), ErrorClass::kProtocol);
}

// ------------------------------------------------------------------ options

Result<Options> FromUrl(const std::string& text) {
  auto u = ParseUrl(text);
  if (!u.ok()) return u.status();
  return OptionsFromUrl(*u);
}

TEST(RedisOptions, Defaults) {
  auto o = FromUrl("redis://cache.example");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->seed, (NodeAddress{"cache.example", 6379}));
  EXPECT_FALSE(o->tls.enabled);
  EXPECT_TRUE(o->tls.verify);
  EXPECT_TRUE(o->tls.ca_file.empty());
  EXPECT_TRUE(o->tls.sni.empty());
  EXPECT_TRUE(o->user.empty());
  EXPECT_TRUE(o->password.empty());
  EXPECT_EQ(o->db, 0);
  EXPECT_EQ(o->timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(o->max_connections, 32);
  EXPECT_EQ(o->Describe(), "redis://cache.example:6379/0");

  auto t = FromUrl("rediss://cache.example:6380/");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->tls.enabled);
  EXPECT_TRUE(t->tls.verify);
  EXPECT_EQ(t->seed.port, 6380);
  EXPECT_EQ(t->db, 0);
  EXPECT_EQ(t->Describe(), "rediss://cache.example:6380/0");
}

TEST(RedisOptions, UserPasswordAndDb) {
  auto p = FromUrl("redis://:s3cret@h:7000/5");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->user.empty());
  EXPECT_EQ(p->password, "s3cret");
  EXPECT_EQ(p->db, 5);
  EXPECT_EQ(p->seed, (NodeAddress{"h", 7000}));

  auto u = FromUrl("rediss://app:p%40ss@h/15");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->user, "app");
  EXPECT_EQ(u->password, "p@ss");
  EXPECT_EQ(u->db, 15);
  // Describe never shows the password.
  EXPECT_EQ(u->Describe().find("p@ss"), std::string::npos);
  EXPECT_EQ(u->Describe(), "rediss://h:6379/15");
}

TEST(RedisOptions, TlsParameters) {
  auto o = FromUrl("rediss://h:6380/0?ca=/etc/ca.pem&sni=cache.internal&insecure=0");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(o->tls.sni, "cache.internal");
  EXPECT_TRUE(o->tls.verify);
  auto i = FromUrl("rediss://h?insecure=1");
  ASSERT_TRUE(i.ok()) << i.status().ToString();
  EXPECT_FALSE(i->tls.verify);
  EXPECT_EQ(FromUrl("rediss://h?insecure=yes").status().code(), Code::kInvalidArgument);
}

TEST(RedisOptions, TlsParametersNeedRediss) {
  for (const char* url : {"redis://h?ca=/etc/ca.pem", "redis://h?sni=x", "redis://h?insecure=1"}) {
    auto o = FromUrl(url);
    EXPECT_EQ(o.status().code(), Code::kInvalidArgument) << url;
    EXPECT_NE(o.status().message().find("rediss://"), std::string::npos) << o.status().message();
  }
  // insecure=0 is the default: harmless on redis://.
  EXPECT_TRUE(FromUrl("redis://h?insecure=0").ok());
}

TEST(RedisOptions, Refusals) {
  auto unknown = FromUrl("redis://h?timeout=5");
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("timeout"), std::string::npos) << unknown.status().message();
  for (const char* url :
       {"redis://h/x", "redis://h/1x", "redis://h/-1", "redis://h/1234567890", "redis://h/0/1"}) {
    EXPECT_EQ(FromUrl(url).status().code(), Code::kInvalidArgument) << url;
  }
  auto user_only = FromUrl("redis://app@h");
  EXPECT_EQ(user_only.status().code(), Code::kInvalidArgument);
  EXPECT_NE(user_only.status().message().find("password"), std::string::npos) << user_only.status().message();
  EXPECT_EQ(FromUrl("memcached://h").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(FromUrl("http://h").status().code(), Code::kInvalidArgument);
  // A refusal never shows the password.
  auto bad = FromUrl("redis://:topsecret@h?what=1");
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message().find("topsecret"), std::string::npos) << bad.status().message();
}

// ------------------------------------------------------------------- health

constexpr int64_t kSec = 1'000'000'000;

TEST(RedisHealth, DegradedOnlyWithinTheWindowAfterAFailure) {
  Health h;
  const int64_t t0 = 1000 * kSec + 123;
  auto s = h.Get(t0);
  EXPECT_FALSE(s.degraded);
  EXPECT_EQ(s.last_error_class, "");
  EXPECT_EQ(s.window_calls, 0u);

  for (int i = 0; i < 5; ++i) h.Success(t0 + i * kSec / 10);
  s = h.Get(t0 + kSec);
  EXPECT_FALSE(s.degraded);
  EXPECT_EQ(s.window_calls, 5u);
  EXPECT_EQ(s.window_failures, 0u);

  const int64_t tf = t0 + 2 * kSec;
  h.Failure(ErrorClass::kTimeout, tf);
  s = h.Get(tf);
  EXPECT_TRUE(s.degraded);
  EXPECT_EQ(s.last_error_class, "timeout");
  EXPECT_EQ(s.window_calls, 6u);
  EXPECT_EQ(s.window_failures, 1u);
  EXPECT_EQ(s.totals[static_cast<size_t>(ErrorClass::kTimeout)], 1u);

  // Still degraded just before the window has passed, successes or not.
  h.Success(tf + 5 * kSec);
  EXPECT_TRUE(h.Get(tf + Health::kWindowSeconds * kSec - 1).degraded);
  // Not degraded once kWindowSeconds have passed without a failure.
  s = h.Get(tf + Health::kWindowSeconds * kSec);
  EXPECT_FALSE(s.degraded);
  EXPECT_EQ(s.last_error_class, "timeout");  // remembered
  EXPECT_EQ(s.totals[static_cast<size_t>(ErrorClass::kTimeout)], 1u);
  s = h.Get(tf + 60 * kSec);
  EXPECT_FALSE(s.degraded);
  EXPECT_EQ(s.window_calls, 0u);  // every bucket is out of the window
  EXPECT_EQ(s.window_failures, 0u);

  // A new failure makes it degraded again; the last class follows.
  h.Failure(ErrorClass::kAuth, tf + 61 * kSec);
  h.Failure(ErrorClass::kAuth, tf + 61 * kSec + 1);
  s = h.Get(tf + 62 * kSec);
  EXPECT_TRUE(s.degraded);
  EXPECT_EQ(s.last_error_class, "auth");
  EXPECT_EQ(s.window_failures, 2u);
  EXPECT_EQ(s.window_calls, 2u);  // the old buckets were reset on reuse
  EXPECT_EQ(s.totals[static_cast<size_t>(ErrorClass::kAuth)], 2u);
  EXPECT_EQ(s.totals[static_cast<size_t>(ErrorClass::kTimeout)], 1u);
}

TEST(RedisHealth, WindowCountsOnlyTheLastSeconds) {
  Health h;
  const int64_t t0 = 50 * kSec;
  for (int sec = 0; sec < 20; ++sec) h.Success(t0 + sec * kSec);
  // At second 19, the window holds seconds 10..19.
  auto s = h.Get(t0 + 19 * kSec);
  EXPECT_EQ(s.window_calls, static_cast<uint64_t>(Health::kWindowSeconds));
  EXPECT_FALSE(s.degraded);
}

}  // namespace
}  // namespace rowcache::redis
