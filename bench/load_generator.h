#pragma once
// A load generator for RPC benchmarks: N connections, each driven by its own thread with one
// blocking client, in one of two modes.
//
// - Closed loop (rate_per_second == 0): each connection sends its next call as soon as the
//   previous one answers. Measures the most the server answers at this concurrency; latency is
//   send to answer.
// - Fixed rate: the total rate is split evenly over the connections, and each connection's calls
//   are scheduled on a fixed timeline (connection c sends call k at start + (k + c / N) * N /
//   rate). Latency is measured from the *scheduled* send time, so when the server (or the client)
//   falls behind, the wait before sending counts: coordinated omission is not hidden. Calls
//   scheduled before the end that could not be sent within a grace period of twice the duration are
//   counted as missed.
//
// Threads sleep with a 1 µs timer slack (PR_SET_TIMERSLACK) so the default 50 µs slack does not
// delay scheduled sends.
//
// Thread safety: RunLoad is called from one thread; it calls the factory and each call function
// from the connection's own thread only.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cdp::bench {

struct LoadOptions {
  size_t connections = 8;
  double seconds = 10;         // measured duration (the schedule's length in fixed-rate mode)
  double rate_per_second = 0;  // total calls/s over all connections; 0 = closed loop
};

struct LoadResult {
  uint64_t ok = 0;
  uint64_t errors = 0;              // calls that failed (not in the latencies)
  uint64_t missed = 0;              // fixed rate: scheduled calls never sent (see above)
  double seconds = 0;               // first send to last answer
  double client_cpu_seconds = 0;    // CPU time of the connection threads
  std::vector<int64_t> latency_ns;  // successful calls, sorted

  double Throughput() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
  // Nearest-rank percentile of the latencies, µs; 0 when there are none.
  double PercentileMicros(double p) const;
  double MaxMicros() const { return latency_ns.empty() ? 0 : latency_ns.back() / 1e3; }
};

// One call on a connection: true when it succeeded.
using CallFunction = std::function<bool()>;
// Connects connection `index` and returns its call function; runs in the connection's thread
// before timing starts. An error ends the run.
using CallFactory = std::function<absl::StatusOr<CallFunction>(size_t index)>;

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options, const CallFactory& factory);

}  // namespace cdp::bench
