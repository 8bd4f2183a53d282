// Process-wide settings of the executables that serve (cdp) or measure serving (the benchmarks
// linked with cdp::executable, CMakeLists.txt), applied by a static initializer before main.
// Tests keep the libraries' defaults.
//
// Abseil's mutex deadlock detection off: Debian builds Abseil without NDEBUG, which leaves it on,
// so every absl::Mutex lock and unlock records the lock in a process-wide graph of lock order
// under a global spin lock (GraphCycles in a profile of the lookup path, docs/performance.md,
// "Abseil's deadlock detection off in the executables"). The tests keep it on: that is where it
// finds a lock-order bug, as an abort naming both locks.

#include "absl/synchronization/mutex.h"

namespace {

[[maybe_unused]] const bool kDeadlockDetectionOff = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();

}  // namespace
