#include "bench/load_generator.h"

#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "bench/bench_util.h"

namespace cdp::bench {
namespace {

using Clock = std::chrono::steady_clock;

// What one connection thread measured.
struct ConnectionResult {
  absl::Status status;
  uint64_t ok = 0, errors = 0, missed = 0;
  Clock::time_point last_answer{};
  double cpu_seconds = 0;
  std::vector<int64_t> latency_ns;
};

// Lets every connection connect before the clock starts, then releases them together.
class StartGate {
 public:
  explicit StartGate(size_t parties) : waiting_(parties) {}
  // Returns the common start time.
  Clock::time_point ArriveAndWait() {
    std::unique_lock lock(mutex_);
    if (--waiting_ == 0) {
      start_ = Clock::now() + std::chrono::milliseconds(5);
      released_.notify_all();
    }
    released_.wait(lock, [&] { return waiting_ == 0; });
    return start_;
  }
  // The common start time; valid once every party has arrived.
  Clock::time_point start() {
    std::lock_guard lock(mutex_);
    return start_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  size_t waiting_;
  Clock::time_point start_{};
};

void RunConnection(const LoadOptions& options, const CallFactory& factory, size_t index,
                   StartGate& gate, ConnectionResult& out) {
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  absl::StatusOr<CallFunction> call = factory(index);
  const Clock::time_point start = gate.ArriveAndWait();
  if (!call.ok()) {
    out.status = call.status();
    return;
  }
  const auto duration =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.seconds));
  const Clock::time_point end = start + duration;
  const double cpu_start = ThreadCpuSeconds();
  std::this_thread::sleep_until(start);
  out.latency_ns.reserve(options.rate_per_second > 0
                             ? static_cast<size_t>(options.rate_per_second * options.seconds /
                                                   static_cast<double>(options.connections)) +
                                   16
                             : 1 << 16);
  auto record = [&](bool ok, Clock::time_point from) {
    const Clock::time_point now = Clock::now();
    out.last_answer = now;
    if (!ok) {
      ++out.errors;
      return;
    }
    ++out.ok;
    out.latency_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - from).count());
  };
  if (options.rate_per_second <= 0) {
    for (Clock::time_point sent = Clock::now(); sent < end; sent = Clock::now()) {
      record((*call)(), sent);
    }
  } else {
    // Connection `index` of N sends at start + (k + index / N) * interval, interval = N / rate.
    const double interval_s = static_cast<double>(options.connections) / options.rate_per_second;
    const Clock::time_point give_up = end + 2 * duration;
    for (uint64_t k = 0;; ++k) {
      const double offset_s =
          (static_cast<double>(k) +
           static_cast<double>(index) / static_cast<double>(options.connections)) *
          interval_s;
      const Clock::time_point scheduled = start + std::chrono::duration_cast<Clock::duration>(
                                                      std::chrono::duration<double>(offset_s));
      if (scheduled >= end) break;
      if (Clock::now() >= give_up) {
        // Everything still scheduled is missed.
        out.missed += static_cast<uint64_t>(std::ceil((options.seconds - offset_s) / interval_s));
        break;
      }
      std::this_thread::sleep_until(scheduled);
      record((*call)(), scheduled);
    }
  }
  out.cpu_seconds = ThreadCpuSeconds() - cpu_start;
}

}  // namespace

double LoadResult::PercentileMicros(double p) const {
  if (latency_ns.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * static_cast<double>(latency_ns.size()));
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, double(latency_ns.size()))) - 1;
  return static_cast<double>(latency_ns[index]) / 1e3;
}

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options, const CallFactory& factory) {
  if (options.connections == 0 || options.seconds <= 0) {
    return absl::InvalidArgumentError("connections and seconds must be positive");
  }
  StartGate gate(options.connections);
  std::vector<ConnectionResult> results(options.connections);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < options.connections; ++i) {
    threads.emplace_back([&, i] { RunConnection(options, factory, i, gate, results[i]); });
  }
  for (std::thread& thread : threads) thread.join();

  LoadResult total;
  Clock::time_point last = gate.start();
  size_t samples = 0;
  for (const ConnectionResult& r : results) {
    if (!r.status.ok()) return r.status;
    samples += r.latency_ns.size();
  }
  total.latency_ns.reserve(samples);
  for (ConnectionResult& r : results) {
    total.ok += r.ok;
    total.errors += r.errors;
    total.missed += r.missed;
    total.client_cpu_seconds += r.cpu_seconds;
    last = std::max(last, r.last_answer);
    total.latency_ns.insert(total.latency_ns.end(), r.latency_ns.begin(), r.latency_ns.end());
  }
  std::sort(total.latency_ns.begin(), total.latency_ns.end());
  total.seconds = std::chrono::duration<double>(last - gate.start()).count();
  return total;
}

}  // namespace cdp::bench
