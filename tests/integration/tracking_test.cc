// The near cache's invalidation channel against real Redis: standalone and
// cluster. A write by anyone under the prefix arrives as an invalidation; a
// lost subscriber resets (the near cache flushes) and tracking comes back.
#include "redis/tracking.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "support/test_env.h"

namespace rowcache {
namespace {

using namespace std::chrono_literals;

struct Seen {
  std::set<std::string> keys;
  int resets = 0, readies = 0;
};

std::string Prefix() {
  std::random_device rd;
  return "trk:" + std::to_string(rd()) + ":";
}

// Ids of the pub/sub clients a node has now (CLIENT LIST TYPE pubsub).
std::set<std::string> PubSubIds(const std::string& cli) {
  std::set<std::string> ids;
  std::istringstream in(testing::RunShell(cli + " CLIENT LIST TYPE pubsub"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("id=", 0) == 0) ids.insert(line.substr(3, line.find(' ') - 3));
  }
  return ids;
}

class TrackingTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ROWCACHE_REQUIRE_URL(GetParam(), url_);
    auto u = ParseUrl(url_);
    ASSERT_TRUE(u.ok());
    auto o = redis::OptionsFromUrl(*u);
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    client_ = std::make_shared<redis::Client>(*o);
    ASSERT_TRUE(client_->Start().ok());
    prefix_ = Prefix();
    redis::Tracker::Callbacks cb;
    cb.invalidate = [this](std::string_view k) { seen_.keys.insert(std::string(k)); };
    cb.reset = [this] { ++seen_.resets; };
    cb.ready = [this] { ++seen_.readies; };
    tracker_ = std::make_unique<redis::Tracker>(client_, prefix_, cb);
  }

  // Polls until pred or the time is up.
  template <class Pred>
  bool PollUntil(Pred pred, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      tracker_->Poll(20ms);
      if (pred()) return true;
    }
    return pred();
  }

  Status Set(const std::string& key, const std::string& value) {
    auto r =
        client_->Run(std::vector<redis::Command>{redis::MakeCommand({"SET", key, value, "EX", "60"}, key)});
    return r.ok() ? Status::OK() : r.status();
  }

  std::string url_, prefix_;
  std::shared_ptr<redis::Client> client_;
  std::unique_ptr<redis::Tracker> tracker_;
  Seen seen_;
};

TEST_P(TrackingTest, WritesUnderThePrefixArriveAndALostChannelResets) {
  // Keys on every master (distinct hash tags).
  std::vector<std::string> keys;
  for (int i = 0; i < 12; ++i) keys.push_back(prefix_ + "{" + std::to_string(i) + "}");
  auto topo = client_->topology();
  const redis::NodeAddress* node = topo->NodeFor(redis::KeySlot(keys[0]));
  ASSERT_NE(node, nullptr);
  std::string cli = "redis-cli -h " + node->host + " -p " + std::to_string(node->port);
  if (client_->options().tls.enabled) {
    cli += " --tls --cacert " + client_->options().tls.ca_file + " --sni localhost";
  }
  if (!client_->options().password.empty()) {
    cli += " --no-auth-warning -a " + client_->options().password;
    if (!client_->options().user.empty()) cli += " --user " + client_->options().user;
  }
  // Other processes' subscribers on that node (left alone below).
  std::set<std::string> others = PubSubIds(cli);

  ASSERT_TRUE(PollUntil([&] { return tracker_->healthy(); }, 5s));
  EXPECT_EQ(seen_.readies, 1);
  for (const auto& k : keys) ASSERT_TRUE(Set(k, "v").ok());  // written by another client
  ASSERT_TRUE(Set("other:" + prefix_, "v").ok());            // outside the prefix: not reported
  ASSERT_TRUE(PollUntil([&] { return seen_.keys.size() >= keys.size(); }, 5s)) << seen_.keys.size();
  for (const auto& k : keys) EXPECT_EQ(seen_.keys.count(k), 1u) << k;
  EXPECT_EQ(seen_.keys.count("other:" + prefix_), 0u);

  // Our subscriber on that node killed: reset, then back.
  std::set<std::string> ours;
  for (const auto& id : PubSubIds(cli)) {
    if (!others.count(id)) ours.insert(id);
  }
  ASSERT_EQ(ours.size(), 1u) << cli;
  int resets = seen_.resets;
  testing::RunShell(cli + " CLIENT KILL ID " + *ours.begin());
  ASSERT_TRUE(PollUntil([&] { return !tracker_->healthy(); }, 5s));
  EXPECT_GT(seen_.resets, resets);
  ASSERT_TRUE(PollUntil([&] { return tracker_->healthy(); }, 10s));
  EXPECT_GE(seen_.readies, 2);
  seen_.keys.clear();
  ASSERT_TRUE(Set(keys[0], "v2").ok());
  ASSERT_TRUE(PollUntil([&] { return seen_.keys.count(keys[0]) > 0; }, 5s));
  for (const auto& k : keys) {
    (void)client_->Run(std::vector<redis::Command>{redis::MakeCommand({"DEL", k}, k)});
  }
}

// Any client that may PUBLISH can send messages on __redis__:invalidate:
// they are counted and ignored (no reset, so the near cache is not
// flushed, and no invalidation), and a real change still arrives after them.
TEST_P(TrackingTest, AStormOfPublishedMessagesIsCountedAndIgnored) {
  ASSERT_TRUE(PollUntil([&] { return tracker_->healthy(); }, 5s));
  int resets = seen_.resets, readies = seen_.readies;
  const std::string key = prefix_ + "{1}";
  std::vector<redis::Command> storm;
  for (int i = 0; i < 2000; ++i) {
    std::string payload = i % 3 == 0 ? key : i % 3 == 1 ? std::string() : std::string(1000, 'x');
    storm.push_back(redis::MakeCommand({"PUBLISH", "__redis__:invalidate", payload}, key));
  }
  auto r = client_->Run(storm);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Each master's subscriber sees each message (PUBLISH reaches the whole cluster).
  const uint64_t want = 2000 * client_->topology()->nodes.size();
  ASSERT_TRUE(PollUntil([&] { return tracker_->malformed() >= want; }, 10s)) << tracker_->malformed();
  EXPECT_EQ(tracker_->malformed(), want);
  EXPECT_TRUE(tracker_->healthy());
  EXPECT_EQ(seen_.resets, resets);
  EXPECT_EQ(seen_.readies, readies);
  EXPECT_TRUE(seen_.keys.empty());  // a PUBLISHed key name invalidates nothing
  ASSERT_TRUE(Set(key, "v").ok());
  ASSERT_TRUE(PollUntil([&] { return seen_.keys.count(key) > 0; }, 5s));
  EXPECT_EQ(seen_.resets, resets);
  (void)client_->Run(std::vector<redis::Command>{redis::MakeCommand({"DEL", key}, key)});
}

INSTANTIATE_TEST_SUITE_P(Redis, TrackingTest,
                         ::testing::Values("ROWCACHE_TEST_REDIS", "ROWCACHE_TEST_REDIS_TLS",
                                           "ROWCACHE_TEST_REDIS_CLUSTER"),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n == "ROWCACHE_TEST_REDIS"       ? std::string("Single")
                                  : n == "ROWCACHE_TEST_REDIS_TLS" ? std::string("Tls")
                                                                   : std::string("Cluster");
                         });

}  // namespace
}  // namespace rowcache
