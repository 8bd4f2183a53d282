#include "api/metrics.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cdp::api {

// ---------------------------------------------------------------------------------------------
// LatencyHistogram

int64_t LatencyHistogram::BucketLower(size_t index) {
  const auto i = static_cast<int64_t>(index);
  if (i < kSubBuckets) return i;
  const int64_t shift = i / kSubBuckets - 1;
  return (i % kSubBuckets + kSubBuckets) << shift;
}

int64_t LatencyHistogram::BucketUpper(size_t index) {
  const auto i = static_cast<int64_t>(index);
  if (i < kSubBuckets) return i + 1;
  return BucketLower(index) + (int64_t{1} << (i / kSubBuckets - 1));
}

LatencyHistogram::Snapshot LatencyHistogram::Take() const {
  Snapshot snapshot;
  snapshot.buckets_.resize(kBucketCount);
  for (size_t i = 0; i < kBucketCount; ++i) {
    snapshot.buckets_[i] = buckets_[i].load(std::memory_order_relaxed);
    snapshot.count_ += snapshot.buckets_[i];
  }
  snapshot.sum_micros_ = sum_micros_.load(std::memory_order_relaxed);
  return snapshot;
}

double LatencyHistogram::Snapshot::Percentile(double p) const {
  if (count_ == 0) return 0;
  if (!(p > 0)) p = 0;  // also NaN
  if (p > 100) p = 100;
  // The rank (1-based) of the value asked for: the smallest that has p% of the values at or below.
  const auto rank = std::clamp<uint64_t>(
      static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))), 1, count_);
  uint64_t below = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const uint64_t in_bucket = buckets_[i];
    if (below + in_bucket < rank) {
      below += in_bucket;
      continue;
    }
    const auto lower = static_cast<double>(BucketLower(i));
    const auto width = static_cast<double>(BucketUpper(i) - BucketLower(i));
    if (width == 1) return lower;  // one value per bucket: exact
    // The values of a bucket are taken as spread evenly, each in the middle of its share.
    const double position =
        (static_cast<double>(rank - below) - 0.5) / static_cast<double>(in_bucket);
    return lower + width * position;
  }
  return static_cast<double>(kMaxTrackableMicros);  // not reached: the ranks add up to count_
}

uint64_t LatencyHistogram::Snapshot::CountAtOrBelow(int64_t micros) const {
  if (micros < 0) return 0;
  if (micros >= kMaxTrackableMicros) return count_;
  const size_t last = BucketIndex(micros);
  uint64_t total = 0;
  for (size_t i = 0; i <= last; ++i) total += buckets_[i];
  return total;
}

// ---------------------------------------------------------------------------------------------
// ServerMetrics

// Calls that ran are counted by the histogram itself, so a successful call costs two atomic adds:
// ok = latency count - errors. An error is added to the histogram before `errors` (release), and
// readers load `errors` (acquire) before the histogram, so they never see more errors than calls.
struct ServerMetrics::PerCall {
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> shed{0};
  LatencyHistogram latency;
};

struct ServerMetrics::Reading {
  uint64_t ok = 0;
  uint64_t errors = 0;
  uint64_t shed = 0;
  LatencyHistogram::Snapshot latency;
};

ServerMetrics::Reading ServerMetrics::Read(size_t call) const {
  const PerCall& c = calls_[call];
  Reading reading;
  reading.errors = c.errors.load(std::memory_order_acquire);
  reading.shed = c.shed.load(std::memory_order_relaxed);
  reading.latency = c.latency.Take();
  reading.ok = reading.latency.Count() - reading.errors;
  return reading;
}

namespace {

// The `le` bounds of the exported histogram: the label as Prometheus shows it, and the bound in µs.
struct LeBound {
  const char* label;
  int64_t micros;
};
constexpr LeBound kLeBounds[] = {
    {"0.00005", 50},  {"0.0001", 100},  {"0.00025", 250}, {"0.0005", 500},
    {"0.001", 1000},  {"0.0025", 2500}, {"0.005", 5000},  {"0.01", 10000},
    {"0.025", 25000}, {"0.05", 50000},  {"0.1", 100000},  {"0.25", 250000},
    {"0.5", 500000},  {"1", 1000000},   {"2.5", 2500000}, {"10", 10000000},
};

// A label value with \, " and newline escaped as the exposition format requires.
std::string EscapeLabel(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// cdp_<name> with every character outside [a-zA-Z0-9_] replaced by '_'.
std::string GaugeName(absl::string_view name) {
  std::string out = "cdp_";
  for (char c : name) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += keep ? c : '_';
  }
  return out;
}

}  // namespace

ServerMetrics::ServerMetrics(std::vector<std::string> call_names)
    : names_(std::move(call_names)), calls_(std::make_unique<PerCall[]>(names_.size())) {}

ServerMetrics::~ServerMetrics() = default;

std::optional<size_t> ServerMetrics::CallIndex(absl::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return i;
  }
  return std::nullopt;
}

void ServerMetrics::Record(size_t call, int64_t micros, CallResult result) {
  if (call >= names_.size()) return;
  PerCall& c = calls_[call];
  switch (result) {
    case CallResult::kOk:
      c.latency.Record(micros);
      break;
    case CallResult::kError:
      c.latency.Record(micros);
      c.errors.fetch_add(1, std::memory_order_release);
      break;
    case CallResult::kShed:
      c.shed.fetch_add(1, std::memory_order_relaxed);
      break;
  }
}

std::vector<ServerMetrics::CallSnapshot> ServerMetrics::Snapshot() const {
  std::vector<CallSnapshot> out;
  out.reserve(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) {
    const Reading reading = Read(i);
    CallSnapshot& s = out.emplace_back();
    s.call = names_[i];
    s.count = reading.ok + reading.errors + reading.shed;
    s.errors = reading.errors;
    s.shed = reading.shed;
    s.p50_us = reading.latency.Percentile(50);
    s.p99_us = reading.latency.Percentile(99);
    s.p999_us = reading.latency.Percentile(99.9);
  }
  return out;
}

std::string ServerMetrics::RenderPrometheus(
    const std::vector<std::pair<std::string, int64_t>>& extra_gauges) const {
  // One reading per call for all its lines, so that ok + error, +Inf and _count agree.
  std::vector<Reading> readings;
  readings.reserve(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) readings.push_back(Read(i));

  std::string out;
  absl::StrAppend(&out, "# HELP cdp_calls_total Thrift calls handled, by call and result.\n",
                  "# TYPE cdp_calls_total counter\n");
  for (size_t i = 0; i < names_.size(); ++i) {
    const std::string call = EscapeLabel(names_[i]);
    const Reading& r = readings[i];
    for (const auto& [result, value] :
         {std::pair{"ok", r.ok}, std::pair{"error", r.errors}, std::pair{"shed", r.shed}}) {
      absl::StrAppendFormat(&out, "cdp_calls_total{call=\"%s\",result=\"%s\"} %d\n", call, result,
                            value);
    }
  }

  absl::StrAppend(
      &out, "# HELP cdp_call_latency_seconds Latency of the Thrift calls that ran (not shed).\n",
      "# TYPE cdp_call_latency_seconds histogram\n");
  for (size_t i = 0; i < names_.size(); ++i) {
    const std::string call = EscapeLabel(names_[i]);
    const LatencyHistogram::Snapshot& latency = readings[i].latency;
    for (const LeBound& le : kLeBounds) {
      absl::StrAppendFormat(&out, "cdp_call_latency_seconds_bucket{call=\"%s\",le=\"%s\"} %d\n",
                            call, le.label, latency.CountAtOrBelow(le.micros));
    }
    absl::StrAppendFormat(&out, "cdp_call_latency_seconds_bucket{call=\"%s\",le=\"+Inf\"} %d\n",
                          call, latency.Count());
    absl::StrAppendFormat(&out, "cdp_call_latency_seconds_sum{call=\"%s\"} %.6f\n", call,
                          static_cast<double>(latency.SumMicros()) / 1e6);
    absl::StrAppendFormat(&out, "cdp_call_latency_seconds_count{call=\"%s\"} %d\n", call,
                          latency.Count());
  }

  for (const auto& [name, value] : extra_gauges) {
    const std::string metric = GaugeName(name);
    absl::StrAppendFormat(&out, "# HELP %s Server gauge %s.\n# TYPE %s gauge\n%s %d\n", metric,
                          metric, metric, metric, value);
  }
  return out;
}

}  // namespace cdp::api
