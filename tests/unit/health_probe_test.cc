#include "http/health_probe.h"

#include <gtest/gtest.h>

#include <thread>

#include "cache/memory_cache.h"
#include "rowcache/metrics.h"
#include "support/fakes.h"

namespace rowcache {
namespace {

using testing::FaultyCache;
using testing::FaultyStore;

class HealthProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = OpenStore("sqlite::memory:");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::make_unique<FaultyStore>(std::move(s.value()));
    cache_ = std::make_unique<FaultyCache>(NewMemoryCache(100));
    svc_ = std::make_unique<Service>(store_.get(), cache_.get(), ServiceOptions{}, &metrics_);
  }
  std::unique_ptr<FaultyStore> store_;
  std::unique_ptr<FaultyCache> cache_;
  Metrics metrics_;
  std::unique_ptr<Service> svc_;
  std::vector<std::string> lines_;
};

TEST_F(HealthProbeTest, AnswersFromTheLastProbeWithoutCallingABackend) {
  HealthProbe p(*svc_, nullptr, {}, [this](const std::string& line) { lines_.push_back(line); });
  p.ProbeOnce();
  int pings = store_->ping_calls.load();
  for (int i = 0; i < 1000; ++i) {
    HealthAnswer a = p.Report();
    ASSERT_EQ(a.http_status, 200);
    ASSERT_EQ(a.body, R"({"status": "ok", "db": "ok", "cache": "ok"})");
  }
  EXPECT_EQ(store_->ping_calls.load(), pings);
  EXPECT_TRUE(lines_.empty()) << lines_[0];
}

TEST_F(HealthProbeTest, OneLogLinePerChangeOfStateAndTheRequestIdWhileFailing) {
  HealthProbe p(*svc_, nullptr, {}, [this](const std::string& line) { lines_.push_back(line); });
  p.ProbeOnce();
  store_->FailOn("ping");
  for (int i = 0; i < 5; ++i) p.ProbeOnce();
  HealthAnswer down = p.Report();
  EXPECT_EQ(down.http_status, 503);
  EXPECT_NE(down.body.find(R"("db": "unavailable")"), std::string::npos) << down.body;
  ASSERT_EQ(lines_.size(), 1u);
  auto at = down.body.find(R"("request_id": ")");
  ASSERT_NE(at, std::string::npos) << down.body;
  std::string id = down.body.substr(at + 15, 16);
  EXPECT_NE(lines_[0].find("request " + id + ": 503: GET /healthz: db: "), std::string::npos) << lines_[0];
  cache_->FailOn("ping");
  for (int i = 0; i < 5; ++i) p.ProbeOnce();
  EXPECT_EQ(lines_.size(), 2u);
  EXPECT_NE(p.Report().body.find(R"("cache": "unavailable")"), std::string::npos);
  store_->Heal();
  cache_->Heal();
  for (int i = 0; i < 5; ++i) p.ProbeOnce();
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_NE(lines_[2].find(R"("status": "ok")"), std::string::npos) << lines_[2];
  EXPECT_EQ(p.Report().http_status, 200);
}

TEST_F(HealthProbeTest, StaleWhenNoProbeFinishedRecently) {
  HealthProbe p(*svc_, nullptr, {std::chrono::milliseconds(1000), std::chrono::milliseconds(20)},
                [this](const std::string& line) { lines_.push_back(line); });
  EXPECT_EQ(p.Report().http_status, 503);  // none yet
  EXPECT_NE(p.Report().body.find(R"("status": "stale")"), std::string::npos);
  p.ProbeOnce();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  HealthAnswer a = p.Report();
  EXPECT_EQ(a.http_status, 503);
  EXPECT_NE(a.body.find(R"("status": "stale")"), std::string::npos) << a.body;
}

TEST_F(HealthProbeTest, TheThreadProbesEveryIntervalAndStops) {
  HealthProbe p(*svc_, nullptr, {std::chrono::milliseconds(5), std::chrono::milliseconds(5000)},
                [this](const std::string& line) { lines_.push_back(line); });
  p.Start();
  while (p.probes() < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  p.Stop();
  uint64_t n = p.probes();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(p.probes(), n);
  EXPECT_EQ(p.Report().http_status, 200);
}

}  // namespace
}  // namespace rowcache
