#pragma once
// LookupPool: a small, fixed set of helper threads with which one call spreads independent work
// (the lookups of a getContexts batch) over the machine's cores.
//
// ForEach(n, fn) runs fn(0..n-1) on the calling thread and, when they are idle, on the helpers:
// the caller always takes part, so a call never waits for a helper busy with another call's work
// (with every helper busy, or with no helpers, the caller simply does all of it). The threads are
// created once; a call only queues at most one small task per helper, and the queue is bounded
// (a full queue means no extra help, never an error or a new thread).
//
// Thread safety: ForEach may be called from many threads at once. The destructor stops the
// helpers; it must not run while a ForEach is in progress.

#include <cstddef>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace cdp::api {

struct LookupPoolOptions {
  // Helper threads. Default: one fewer than the machine's hardware threads (1 on 2 cores), at
  // most kMaxHelpers; 0 runs every ForEach on its caller alone.
  int helpers = -1;  // -1: the default above
  // Tasks waiting for a helper at most; past it ForEach gets no extra help. Default 4 per helper.
  size_t max_queued = 0;  // 0: the default above
  static constexpr int kMaxHelpers = 16;
};

class LookupPool {
 public:
  explicit LookupPool(const LookupPoolOptions& options = {});
  ~LookupPool();
  LookupPool(const LookupPool&) = delete;
  LookupPool& operator=(const LookupPool&) = delete;

  // Calls fn(i) once for each i in [0, n), each call on one thread (the caller's or a helper's),
  // in no set order; returns when every call has returned. `fn` must be safe to call from
  // several threads at once for different i, and must not throw.
  void ForEach(size_t n, absl::FunctionRef<void(size_t)> fn);

  int helpers() const { return static_cast<int>(threads_.size()); }

 private:
  struct Batch;
  void Loop();

  size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::shared_ptr<Batch>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace cdp::api
