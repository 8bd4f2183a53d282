// LatencyHistogram (bucket geometry, percentiles against exact ones, extremes, concurrency) and
// ServerMetrics (snapshots, the Prometheus text checked line by line). The HTTP endpoint is in
// metrics_http_test.cc.

#include "api/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cdp::api {
namespace {

using ::testing::HasSubstr;

// The widest bucket is 1/32 of its lower bound; percentiles may be off by that much.
constexpr double kBucketError = 1.0 / 32;

double ExactPercentile(std::vector<int64_t> values, double p) {
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return static_cast<double>(values[std::max<size_t>(rank, 1) - 1]);
}

void ExpectPercentilesNearExact(const std::vector<int64_t>& values) {
  LatencyHistogram histogram;
  for (int64_t v : values) histogram.Record(v);
  ASSERT_EQ(histogram.Count(), values.size());
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    const double exact = ExactPercentile(values, p);
    EXPECT_NEAR(histogram.Percentile(p), exact, exact * kBucketError + 1e-9) << "p" << p;
  }
}

TEST(LatencyHistogramTest, BucketsAreContiguousAndNarrow) {
  EXPECT_EQ(LatencyHistogram::BucketLower(0), 0);
  for (size_t i = 0; i < LatencyHistogram::kBucketCount; ++i) {
    const int64_t lower = LatencyHistogram::BucketLower(i);
    const int64_t upper = LatencyHistogram::BucketUpper(i);
    ASSERT_LT(lower, upper) << i;
    EXPECT_EQ(LatencyHistogram::BucketIndex(lower), i);
    EXPECT_EQ(LatencyHistogram::BucketIndex(upper - 1), i);
    if (i + 1 < LatencyHistogram::kBucketCount) {
      EXPECT_EQ(upper, LatencyHistogram::BucketLower(i + 1)) << i;
    }
    if (lower >= LatencyHistogram::kSubBuckets) {
      EXPECT_LE(static_cast<double>(upper - lower) / static_cast<double>(lower), kBucketError);
    }
  }
  EXPECT_EQ(LatencyHistogram::BucketUpper(LatencyHistogram::kBucketCount - 1),
            LatencyHistogram::kMaxTrackableMicros + 1);
  // 100 s is inside the tracked range.
  EXPECT_GT(LatencyHistogram::kMaxTrackableMicros, 100'000'000);
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZero) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.Count(), 0u);
  EXPECT_EQ(histogram.SumMicros(), 0);
  EXPECT_EQ(histogram.Percentile(0), 0);
  EXPECT_EQ(histogram.Percentile(50), 0);
  EXPECT_EQ(histogram.Percentile(100), 0);
  EXPECT_EQ(histogram.Take().CountAtOrBelow(1'000'000), 0u);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (int64_t v = 0; v < 32; ++v) histogram.Record(v);
  EXPECT_EQ(histogram.Percentile(0), 0);
  EXPECT_EQ(histogram.Percentile(50), 15);  // rank 16 of 32
  EXPECT_EQ(histogram.Percentile(100), 31);
  EXPECT_EQ(histogram.SumMicros(), 31 * 32 / 2);
}

TEST(LatencyHistogramTest, PercentilesOfUniformValuesWithinBucketError) {
  std::vector<int64_t> values;
  for (int64_t v = 1; v <= 100'000; ++v) values.push_back(v);
  ExpectPercentilesNearExact(values);
}

TEST(LatencyHistogramTest, PercentilesOfLogNormalValuesWithinBucketError) {
  // Latency-like: median ~1 ms, a long tail into seconds.
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> distribution(std::log(1000.0), 1.5);
  std::vector<int64_t> values;
  for (int i = 0; i < 200'000; ++i) values.push_back(static_cast<int64_t>(distribution(rng)));
  ExpectPercentilesNearExact(values);
}

TEST(LatencyHistogramTest, ConstantValueStaysInItsBucket) {
  LatencyHistogram histogram;
  for (int i = 0; i < 10'000; ++i) histogram.Record(1000);
  for (double p : {0.0, 50.0, 99.9, 100.0}) {
    EXPECT_NEAR(histogram.Percentile(p), 1000, 1000 * kBucketError) << "p" << p;
  }
  EXPECT_EQ(histogram.SumMicros(), 10'000'000);
}

TEST(LatencyHistogramTest, ExtremeValuesAreClamped) {
  LatencyHistogram histogram;
  histogram.Record(-5);
  histogram.Record(std::numeric_limits<int64_t>::min());
  histogram.Record(std::numeric_limits<int64_t>::max());
  histogram.Record(LatencyHistogram::kMaxTrackableMicros + 1);
  EXPECT_EQ(histogram.Count(), 4u);
  EXPECT_EQ(histogram.SumMicros(), 2 * LatencyHistogram::kMaxTrackableMicros);
  EXPECT_EQ(histogram.Percentile(0), 0);
  EXPECT_EQ(histogram.Percentile(50), 0);
  const double max = static_cast<double>(LatencyHistogram::kMaxTrackableMicros);
  EXPECT_NEAR(histogram.Percentile(100), max, max * kBucketError);
  EXPECT_LE(histogram.Percentile(100), max + 1);
}

TEST(LatencyHistogramTest, PercentileArgumentIsClamped) {
  LatencyHistogram histogram;
  for (int64_t v : {10, 20, 30}) histogram.Record(v);
  EXPECT_EQ(histogram.Percentile(-1), 10);
  EXPECT_EQ(histogram.Percentile(std::nan("")), 10);
  EXPECT_EQ(histogram.Percentile(250), 30);
}

TEST(LatencyHistogramTest, CountAtOrBelowIsCumulative) {
  LatencyHistogram histogram;
  for (int64_t v : {0, 10, 49, 50, 51, 1000, 5'000'000}) histogram.Record(v);
  const LatencyHistogram::Snapshot snapshot = histogram.Take();
  EXPECT_EQ(snapshot.CountAtOrBelow(-1), 0u);
  EXPECT_EQ(snapshot.CountAtOrBelow(0), 1u);
  EXPECT_EQ(snapshot.CountAtOrBelow(50), 4u);  // below 64 µs buckets are exact
  EXPECT_EQ(snapshot.CountAtOrBelow(900), 5u);
  EXPECT_EQ(snapshot.CountAtOrBelow(999), 6u);  // 1000 shares the bucket [992, 1008) with 999
  EXPECT_EQ(snapshot.CountAtOrBelow(10'000'000), 7u);
  EXPECT_EQ(snapshot.CountAtOrBelow(std::numeric_limits<int64_t>::max()), 7u);
}

TEST(LatencyHistogramTest, ConcurrentRecordsSumExactly) {
  LatencyHistogram histogram;
  constexpr int kThreads = 4;
  constexpr int64_t kPerThread = 200'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&histogram, t] {
      for (int64_t i = 0; i < kPerThread; ++i) histogram.Record((i * 7 + t) % 5000);
    });
  }
  for (std::thread& thread : threads) thread.join();
  int64_t expected_sum = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int64_t i = 0; i < kPerThread; ++i) expected_sum += (i * 7 + t) % 5000;
  }
  EXPECT_EQ(histogram.Count(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(histogram.SumMicros(), expected_sum);
}

TEST(ServerMetricsTest, SnapshotCountsEachResultAndExcludesShedFromLatency) {
  ServerMetrics metrics({"getContext", "track"});
  ASSERT_EQ(metrics.CallIndex("track"), 1u);
  EXPECT_EQ(metrics.CallIndex("nope"), std::nullopt);
  for (int i = 0; i < 98; ++i) metrics.Record(0, 100, CallResult::kOk);
  metrics.Record(0, 10'000, CallResult::kError);
  metrics.Record(0, 10'000, CallResult::kError);
  for (int i = 0; i < 500; ++i) metrics.Record(0, 1, CallResult::kShed);
  metrics.Record(7, 100, CallResult::kOk);  // out of range: ignored

  const std::vector<ServerMetrics::CallSnapshot> snapshot = metrics.Snapshot();
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot[0].call, "getContext");
  EXPECT_EQ(snapshot[0].count, 600u);
  EXPECT_EQ(snapshot[0].errors, 2u);
  EXPECT_EQ(snapshot[0].shed, 500u);
  EXPECT_NEAR(snapshot[0].p50_us, 100, 100 * kBucketError);  // the 1 µs shed calls don't count
  EXPECT_NEAR(snapshot[0].p99_us, 10'000, 10'000 * kBucketError);
  EXPECT_NEAR(snapshot[0].p999_us, 10'000, 10'000 * kBucketError);
  EXPECT_EQ(snapshot[1].call, "track");
  EXPECT_EQ(snapshot[1].count, 0u);
  EXPECT_EQ(snapshot[1].p50_us, 0);
}

// One parsed sample line: name{labels} value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the exposition text, failing the test on any line that is neither a # HELP / # TYPE
// comment nor a sample, or on a sample of a metric whose TYPE was not declared before it.
std::vector<Sample> ParseExposition(const std::string& text) {
  static const std::regex kSampleLine(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$)");
  static const std::regex kLabel(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?)re");
  static const std::regex kComment(R"(^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  std::vector<Sample> samples;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  while (std::getline(in, line)) {
    std::smatch match;
    if (std::regex_match(line, match, kComment)) {
      if (match[1] == "TYPE") types[match[2]] = line.substr(line.rfind(' ') + 1);
      continue;
    }
    if (!std::regex_match(line, match, kSampleLine)) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    Sample sample;
    sample.name = match[1];
    const std::string labels = match[3];
    for (auto it = std::sregex_iterator(labels.begin(), labels.end(), kLabel);
         it != std::sregex_iterator(); ++it) {
      sample.labels[(*it)[1]] = (*it)[2];
    }
    sample.value = match[4] == "+Inf" ? INFINITY : std::stod(match[4]);
    std::string family = sample.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (!types.count(family) && family.ends_with(suffix)) {
        family.resize(family.size() - std::strlen(suffix));
      }
    }
    EXPECT_TRUE(types.count(family)) << "no # TYPE before " << line;
    samples.push_back(std::move(sample));
  }
  return samples;
}

TEST(ServerMetricsTest, PrometheusTextParsesAndHistogramsAreCumulative) {
  ServerMetrics metrics({"getContext", "track"});
  for (int64_t micros : {40, 200, 2000, 2000, 3'000'000, 500'000'000}) {
    metrics.Record(0, micros, CallResult::kOk);
  }
  metrics.Record(0, 7, CallResult::kError);
  metrics.Record(0, 7, CallResult::kShed);
  const std::string text = metrics.RenderPrometheus({{"inflight", 3}, {"queue.depth-x", -7}});
  const std::vector<Sample> samples = ParseExposition(text);

  std::map<std::string, std::vector<std::pair<double, double>>> buckets;  // call -> (le, count)
  std::map<std::string, double> counts, sums;
  std::map<std::string, double> calls;  // "call/result" -> value
  std::map<std::string, double> gauges;
  for (const Sample& s : samples) {
    if (s.name == "cdp_call_latency_seconds_bucket") {
      const std::string& le = s.labels.at("le");
      buckets[s.labels.at("call")].emplace_back(le == "+Inf" ? INFINITY : std::stod(le), s.value);
    } else if (s.name == "cdp_call_latency_seconds_count") {
      counts[s.labels.at("call")] = s.value;
    } else if (s.name == "cdp_call_latency_seconds_sum") {
      sums[s.labels.at("call")] = s.value;
    } else if (s.name == "cdp_calls_total") {
      calls[s.labels.at("call") + "/" + s.labels.at("result")] = s.value;
    } else {
      gauges[s.name] = s.value;
    }
  }

  EXPECT_EQ(calls["getContext/ok"], 6);
  EXPECT_EQ(calls["getContext/error"], 1);
  EXPECT_EQ(calls["getContext/shed"], 1);
  EXPECT_EQ(calls["track/ok"], 0);
  EXPECT_EQ(calls.size(), 6u);
  ASSERT_EQ(buckets.size(), 2u);
  for (const auto& [call, series] : buckets) {
    ASSERT_FALSE(series.empty());
    for (size_t i = 1; i < series.size(); ++i) {
      EXPECT_LT(series[i - 1].first, series[i].first) << call;
      EXPECT_LE(series[i - 1].second, series[i].second) << call;
    }
    EXPECT_TRUE(std::isinf(series.back().first)) << call;
    EXPECT_EQ(series.back().second, counts.at(call)) << call;
  }
  // getContext ran 7 times (6 ok + 1 error; the shed one has no latency).
  EXPECT_EQ(counts["getContext"], 7);
  EXPECT_EQ(counts["track"], 0);
  EXPECT_NEAR(
      sums["getContext"],
      (7 + 40 + 200 + 2000 + 2000 + 3'000'000 + LatencyHistogram::kMaxTrackableMicros) / 1e6, 1e-6);
  const std::map<double, double> context(buckets["getContext"].begin(),
                                         buckets["getContext"].end());
  EXPECT_EQ(context.at(0.00005), 2);  // 7 µs and 40 µs
  EXPECT_EQ(context.at(0.00025), 3);
  EXPECT_EQ(context.at(0.0025), 5);
  EXPECT_EQ(context.at(1), 5);
  EXPECT_EQ(context.at(10), 6);  // the 500 s call only in +Inf
  EXPECT_EQ(gauges["cdp_inflight"], 3);
  EXPECT_EQ(gauges["cdp_queue_depth_x"], -7);
  EXPECT_EQ(gauges.size(), 2u);
  EXPECT_THAT(text, HasSubstr("# TYPE cdp_call_latency_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("cdp_calls_total{call=\"getContext\",result=\"ok\"} 6\n"));
}

TEST(ServerMetricsTest, PrometheusLabelValuesAreEscaped) {
  ServerMetrics metrics({"we\"ird\\call\n"});
  metrics.Record(0, 1, CallResult::kOk);
  const std::string text = metrics.RenderPrometheus({});
  EXPECT_THAT(text, HasSubstr(R"(cdp_calls_total{call="we\"ird\\call\n",result="ok"} 1)"));
  ParseExposition(text);
}

}  // namespace
}  // namespace cdp::api
