// The bench tool's pieces that need no network: the latency histogram, the key
// generators and the HTTP response parser.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "bench/histogram.h"
#include "bench/http_parse.h"
#include "bench/report.h"
#include "bench/zipf.h"

namespace rowcache::bench {
namespace {

TEST(BenchHistogram, ExactBelow256AndWithinOnePercentAbove) {
  for (int64_t v = 0; v < 256; ++v) {
    EXPECT_EQ(Histogram::LowestEquivalent(Histogram::IndexOf(v)), v);
    EXPECT_EQ(Histogram::HighestEquivalent(Histogram::IndexOf(v)), v);
  }
  for (int64_t v = 256; v <= Histogram::kMaxValue; v = v * 1.0137 + 1) {
    size_t i = Histogram::IndexOf(v);
    int64_t lo = Histogram::LowestEquivalent(i), hi = Histogram::HighestEquivalent(i);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    ASSERT_LE(static_cast<double>(hi - lo), 0.01 * static_cast<double>(v)) << v;
    if (i > 0) {
      ASSERT_EQ(Histogram::HighestEquivalent(i - 1) + 1, lo) << "buckets must tile the range";
    }
  }
  // 1 us .. 60 s in a few thousand counters.
  EXPECT_LT(Histogram::BucketCount(), 5000u);
}

TEST(BenchHistogram, PercentilesOfAKnownDistribution) {
  Histogram h;
  // 1..100000 ns once each: the q-th percentile is q * 1000 ns.
  for (int64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);
  EXPECT_EQ(h.count(), 100000u);
  for (double q : {50.0, 90.0, 99.0, 99.9}) {
    double want = q * 1000.0 * 1000.0;
    double got = static_cast<double>(h.Percentile(q));
    EXPECT_NEAR(got, want, want * 0.01) << q;
  }
  EXPECT_EQ(h.Percentile(100), 100000 * 1000);
  EXPECT_EQ(h.max(), 100000 * 1000);
  EXPECT_EQ(h.min(), 1000);
  EXPECT_NEAR(h.mean(), 50000.5 * 1000, 1);
  EXPECT_LE(h.Percentile(50), h.Percentile(99));
  EXPECT_LE(h.Percentile(99), h.max());
}

TEST(BenchHistogram, MergeClampAndEmpty) {
  Histogram a, b, empty;
  EXPECT_EQ(empty.Percentile(50), 0);
  EXPECT_EQ(empty.max(), 0);
  EXPECT_TRUE(empty.Distribution().empty());
  a.Record(5'000);
  b.Record(7'000'000);
  b.Record(3'600'000'000'000);  // an hour: clamped to 60 s
  a.Merge(b);
  a.Merge(empty);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.saturated(), 1u);
  EXPECT_EQ(a.min(), 5'000);
  EXPECT_EQ(a.max(), Histogram::kMaxValue);
  EXPECT_EQ(a.Percentile(0), 5'000);
  EXPECT_NEAR(static_cast<double>(a.Percentile(50)), 7e6, 7e4);
  auto d = a.Distribution();
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d.back().first, 100.0);
  for (size_t i = 1; i < d.size(); ++i) {
    EXPECT_GE(d[i].first, d[i - 1].first);
    EXPECT_GE(d[i].second, d[i - 1].second);
  }
  a.Reset();
  EXPECT_EQ(a.count(), 0u);
}

TEST(BenchKeys, UniformCoversTheRangeEvenly) {
  Rng rng(7);
  auto keys = UniformKeys(10);
  std::map<int64_t, int> n;
  for (int i = 0; i < 100000; ++i) ++n[keys->Next(rng)];
  ASSERT_EQ(n.size(), 10u);
  EXPECT_EQ(n.begin()->first, 1);
  EXPECT_EQ(n.rbegin()->first, 10);
  for (auto& [k, c] : n) EXPECT_NEAR(c, 10000, 500) << k;
}

TEST(BenchKeys, ZipfMatchesItsDistribution) {
  const int64_t kN = 1000;
  const double kS = 0.99;
  ZipfKeys z(kN, kS);
  double h = 0;
  for (int64_t k = 1; k <= kN; ++k) h += 1.0 / std::pow(static_cast<double>(k), kS);
  EXPECT_NEAR(z.Probability(1), 1.0 / h, 1e-12);
  EXPECT_NEAR(z.Probability(10) / z.Probability(1), std::pow(10.0, -kS), 1e-9);
  Rng rng(12345);
  const int kDraws = 200000;
  std::vector<int> n(kN + 1);
  for (int i = 0; i < kDraws; ++i) {
    int64_t k = z.Next(rng);
    ASSERT_GE(k, 1);
    ASSERT_LE(k, kN);
    ++n[static_cast<size_t>(k)];
  }
  // The head within 3 standard deviations of its expectation.
  for (int64_t k : {1, 2, 3, 10, 100}) {
    double p = z.Probability(k), want = p * kDraws, sd = std::sqrt(kDraws * p * (1 - p));
    EXPECT_NEAR(n[static_cast<size_t>(k)], want, 3 * sd + 1) << k;
  }
  // Skew: the top 10% of ids draw well over half of the traffic at s=0.99.
  int top = 0;
  for (int64_t k = 1; k <= kN / 10; ++k) top += n[static_cast<size_t>(k)];
  EXPECT_GT(top, kDraws * 0.6);
  // Same seed, same sequence.
  Rng a(99), b(99);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(z.Next(a), z.Next(b));
}

TEST(BenchHttpParse, CompleteIncompleteAndPipelined) {
  std::string one =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 22\r\n\r\n"
      "{\"statusCode\": 200, }x";
  one.pop_back();
  one += "!";
  auto r = ParseHttpResponse(one);
  ASSERT_EQ(r.state, HttpResponse::State::kComplete);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.consumed, one.size());
  EXPECT_EQ(r.body.size(), 22u);
  EXPECT_FALSE(r.close);
  // Every prefix is incomplete, never an error.
  for (size_t n = 0; n < one.size(); ++n) {
    EXPECT_EQ(ParseHttpResponse(std::string_view(one).substr(0, n)).state, HttpResponse::State::kIncomplete)
        << n;
  }
  // Two responses back to back: the first is parsed, the rest left.
  std::string two =
      one + "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  r = ParseHttpResponse(two);
  ASSERT_EQ(r.state, HttpResponse::State::kComplete);
  EXPECT_EQ(r.consumed, one.size());
  r = ParseHttpResponse(std::string_view(two).substr(one.size()));
  ASSERT_EQ(r.state, HttpResponse::State::kComplete);
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(r.close);
  EXPECT_TRUE(r.body.empty());
}

TEST(BenchHttpParse, Errors) {
  using S = HttpResponse::State;
  EXPECT_EQ(ParseHttpResponse("SMTP ready\r\n\r\n").state, S::kError);
  EXPECT_EQ(ParseHttpResponse("HTTP/1.1 200 OK\r\n\r\n").state, S::kError);  // no Content-Length
  EXPECT_EQ(ParseHttpResponse("HTTP/1.1 204 No Content\r\n\r\n").state, S::kComplete);
  EXPECT_EQ(ParseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").state, S::kError);
  EXPECT_EQ(ParseHttpResponse("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n").state, S::kError);
  EXPECT_EQ(ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n").state, S::kError);
  EXPECT_EQ(ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n").state,
            S::kError);
  EXPECT_EQ(ParseHttpResponse("HTTP/1.1 200 OK\r\nbroken\r\n\r\n").state, S::kError);
}

TEST(BenchHttpParse, BodyStatusCode) {
  EXPECT_EQ(BodyStatusCode(R"({"statusCode": 200, "body": []})"), 200);
  EXPECT_EQ(BodyStatusCode(R"( {"statusCode":503,"body":{}})"), 503);
  EXPECT_EQ(BodyStatusCode("ok"), -1);
  EXPECT_EQ(BodyStatusCode(R"({"body": 1, "statusCode": 200})"), -1);
  EXPECT_EQ(BodyStatusCode(""), -1);
}

TEST(BenchReport, ParseMetricsSumsLabelSets) {
  auto m = ParseMetrics(
      "# HELP rowcache_requests_total x\n# TYPE rowcache_requests_total counter\n"
      "rowcache_requests_total{kind=\"read\",outcome=\"ok\"} 10\n"
      "rowcache_requests_total{kind=\"write\",outcome=\"ok\"} 5\n"
      "rowcache_cache_hits_total 7\nrowcache_db_queries_total 3e2\n");
  EXPECT_EQ(m["rowcache_requests_total"], 15);
  EXPECT_EQ(m["rowcache_cache_hits_total"], 7);
  EXPECT_EQ(m["rowcache_db_queries_total"], 300);
}

}  // namespace
}  // namespace rowcache::bench
