#pragma once
// Time source for everything that stamps or expires data. Production code takes a Clock& so
// tests can control time with ManualClock.
//
// Thread safety: all implementations are safe for concurrent use.

#include <atomic>
#include <cstdint>

namespace cdp {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch (UTC).
  virtual int64_t NowMicros() const = 0;
};

// Wall clock (CLOCK_REALTIME).
class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override;
  // A process-wide instance; stateless, so sharing it is not a hidden dependency.
  static SystemClock& Default();
};

// A clock that only moves when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_micros = 1'700'000'000'000'000) : now_micros_(now_micros) {}
  int64_t NowMicros() const override { return now_micros_.load(std::memory_order_relaxed); }
  void Set(int64_t now_micros) { now_micros_.store(now_micros, std::memory_order_relaxed); }
  void Advance(int64_t delta_micros) { now_micros_.fetch_add(delta_micros); }

 private:
  std::atomic<int64_t> now_micros_;
};

}  // namespace cdp
