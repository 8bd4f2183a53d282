#include "api/lookup_pool.h"

#include <algorithm>
#include <atomic>

namespace cdp::api {

// One ForEach. Shared with the tasks queued for it, which may start after the caller has
// returned: they then find no index left to claim and never touch `fn`, which lives on the
// caller's stack. Every claimed index is run by a live thread, so the caller's wait always ends.
struct LookupPool::Batch {
  Batch(size_t n, absl::FunctionRef<void(size_t)> fn) : n(n), fn(fn) {}

  // Claims and runs indexes until none is left.
  void Work() {
    size_t finished = 0;
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      fn(i);
      ++finished;
    }
    if (finished == 0) return;
    absl::MutexLock lock(&mu);
    done += finished;
  }

  const size_t n;
  const absl::FunctionRef<void(size_t)> fn;
  std::atomic<size_t> next{0};
  absl::Mutex mu;
  size_t done ABSL_GUARDED_BY(mu) = 0;
};

LookupPool::LookupPool(const LookupPoolOptions& options) {
  int helpers = options.helpers;
  if (helpers < 0) helpers = static_cast<int>(std::thread::hardware_concurrency()) - 1;
  helpers = std::clamp(helpers, 0, LookupPoolOptions::kMaxHelpers);
  max_queued_ = options.max_queued > 0 ? options.max_queued : 4 * static_cast<size_t>(helpers);
  threads_.reserve(static_cast<size_t>(helpers));
  for (int i = 0; i < helpers; ++i) threads_.emplace_back([this] { Loop(); });
}

LookupPool::~LookupPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    queue_.clear();  // tasks of ForEach calls that have all returned: nothing left to run
  }
  for (std::thread& thread : threads_) thread.join();
}

void LookupPool::Loop() {
  for (;;) {
    std::shared_ptr<Batch> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](LookupPool* pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool->mu_) {
            return pool->stopping_ || !pool->queue_.empty();
          },
          this));
      if (stopping_) return;
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    batch->Work();
  }
}

void LookupPool::ForEach(size_t n, absl::FunctionRef<void(size_t)> fn) {
  if (n == 0) return;
  if (n == 1 || threads_.empty()) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  auto batch = std::make_shared<Batch>(n, fn);
  size_t queued = 0;
  {
    absl::MutexLock lock(&mu_);  // waking the helpers waiting in Loop when it is released
    const size_t wanted = std::min(threads_.size(), n - 1);
    while (queued < wanted && queue_.size() < max_queued_) {
      queue_.push_back(batch);
      ++queued;
    }
  }
  batch->Work();
  absl::MutexLock lock(&batch->mu);
  batch->mu.Await(absl::Condition(
      +[](Batch* b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(b->mu) { return b->done == b->n; },
      batch.get()));
}

}  // namespace cdp::api
