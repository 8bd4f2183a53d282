#pragma once
// Per-call metrics of the Thrift server: a call counter by result and a latency histogram per call,
// read by the `stats` call (ServerMetrics::Snapshot) and by the Prometheus endpoint
// (ServerMetrics::RenderPrometheus, served by api/metrics_http.h).
//
// LatencyHistogram is log-linear like HdrHistogram: values below 64 µs have a bucket each, every
// larger power of two is cut into 32 equal sub-buckets, so a bucket is at most 1/32 (3.1%) of its
// lower bound wide. Values are tracked up to kMaxTrackableMicros (~134 s); larger ones are recorded
// as kMaxTrackableMicros, negative ones as 0.
//
// Thread safety: every method of both classes may be called concurrently. Recording is lock-free
// and allocation-free because it runs on every RPC: two atomic adds for a call that ran (bucket and
// sum; the histogram is the call counter), one more for an error, one alone for a shed call.
// Readers see each bucket atomically but not all buckets at one instant: a reading that races with
// recording may miss the values recorded meanwhile, never invent any.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace cdp::api {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 5;
  static constexpr int64_t kSubBuckets = int64_t{1} << kSubBucketBits;  // 32
  static constexpr int kMaxValueBits = 27;                              // 2^27 µs = 134 s
  static constexpr int64_t kMaxTrackableMicros = (int64_t{1} << kMaxValueBits) - 1;
  static constexpr size_t kBucketCount =
      static_cast<size_t>(kSubBuckets * (kMaxValueBits - kSubBucketBits + 1));  // 736

  // An immutable copy of the buckets, to read several statistics that agree with each other.
  class Snapshot {
   public:
    uint64_t Count() const { return count_; }
    int64_t SumMicros() const { return sum_micros_; }
    // The value below which p percent of the recorded values lie (p clamped to [0, 100]), in µs,
    // interpolated inside its bucket (exact below 64 µs); 0 when nothing was recorded.
    double Percentile(double p) const;
    // How many recorded values are <= `micros`. Buckets that straddle `micros` count as below
    // when their lower bound is <= `micros`, so this may include values up to 3.1% above it.
    uint64_t CountAtOrBelow(int64_t micros) const;

   private:
    friend class LatencyHistogram;
    std::vector<uint64_t> buckets_;
    uint64_t count_ = 0;
    int64_t sum_micros_ = 0;
  };

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Lock-free; `micros` < 0 counts as 0, > kMaxTrackableMicros as kMaxTrackableMicros.
  void Record(int64_t micros) {
    const int64_t v =
        micros < 0 ? 0 : (micros > kMaxTrackableMicros ? kMaxTrackableMicros : micros);
    buckets_[BucketIndex(v)].fetch_add(1, std::memory_order_relaxed);
    sum_micros_.fetch_add(v, std::memory_order_relaxed);
  }

  uint64_t Count() const { return Take().Count(); }
  int64_t SumMicros() const { return sum_micros_.load(std::memory_order_relaxed); }
  double Percentile(double p) const { return Take().Percentile(p); }
  Snapshot Take() const;

  // Bucket geometry, exposed for tests: the bucket of value v (0 <= v <= kMaxTrackableMicros) and
  // the half-open value range [BucketLower(i), BucketUpper(i)) of bucket i.
  static size_t BucketIndex(int64_t v);
  static int64_t BucketLower(size_t index);
  static int64_t BucketUpper(size_t index);

 private:
  std::array<std::atomic<uint64_t>, kBucketCount> buckets_{};
  std::atomic<int64_t> sum_micros_{0};
};

inline size_t LatencyHistogram::BucketIndex(int64_t v) {
  if (v < kSubBuckets) return static_cast<size_t>(v);
  // v has `shift` more significant bits than a sub-bucket index; keep the top kSubBucketBits + 1.
  const int shift = 63 - __builtin_clzll(static_cast<uint64_t>(v)) - kSubBucketBits;
  return static_cast<size_t>(shift * kSubBuckets + (v >> shift));
}

enum class CallResult { kOk, kError, kShed };

// Counters and latency histograms for a fixed set of calls, addressed by index (the position of
// the call's name in the constructor's list) so that the hot path does no lookup.
class ServerMetrics {
 public:
  struct CallSnapshot {
    std::string call;
    uint64_t count = 0;   // every call: ok + errors + shed
    uint64_t errors = 0;  // failed with an error (reported to the caller)
    uint64_t shed = 0;    // refused by load shedding without being run
    // Latency percentiles in µs over the calls that ran (ok and errors; shed calls are excluded
    // so that a burst of refusals does not make the server look fast); 0 when none ran.
    double p50_us = 0;
    double p99_us = 0;
    double p999_us = 0;
  };

  explicit ServerMetrics(std::vector<std::string> call_names);
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;
  ~ServerMetrics();

  // The index of `name` for Record; nullopt when it was not in the constructor's list.
  std::optional<size_t> CallIndex(absl::string_view name) const;
  size_t call_count() const { return names_.size(); }

  // Lock-free. `call` out of range is a programming error and is ignored. `micros` is the time the
  // call took; it is not recorded for kShed.
  void Record(size_t call, int64_t micros, CallResult result);

  // One entry per call, in constructor order.
  std::vector<CallSnapshot> Snapshot() const;

  // Prometheus text exposition format 0.0.4: cdp_calls_total{call,result} counters, the
  // cdp_call_latency_seconds{call} histogram (buckets from 50 µs to 10 s, +Inf, _sum, _count) and
  // each of `extra_gauges` as a gauge named cdp_<name>, the name reduced to [a-zA-Z0-9_].
  std::string RenderPrometheus(
      const std::vector<std::pair<std::string, int64_t>>& extra_gauges) const;

 private:
  struct PerCall;
  struct Reading;  // one call's counters and histogram, read together
  Reading Read(size_t call) const;

  std::vector<std::string> names_;
  std::unique_ptr<PerCall[]> calls_;
};

}  // namespace cdp::api
