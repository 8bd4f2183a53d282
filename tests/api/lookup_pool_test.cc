#include "api/lookup_pool.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cdp::api {
namespace {

TEST(LookupPoolTest, RunsEveryIndexExactlyOnce) {
  LookupPool pool({.helpers = 3});
  std::vector<std::atomic<int>> runs(1000);
  pool.ForEach(runs.size(), [&](size_t i) { runs[i].fetch_add(1); });
  for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].load(), 1) << i;
}

TEST(LookupPoolTest, IdleHelpersTakePartWhenWorkIsSlow) {
  LookupPool pool({.helpers = 1});
  ASSERT_EQ(pool.helpers(), 1);
  std::mutex mu;
  std::set<std::thread::id> threads;
  pool.ForEach(50, [&](size_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard<std::mutex> lock(mu);
    threads.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(threads.size(), 2u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 1u);
}

TEST(LookupPoolTest, WithoutHelpersRunsEverythingOnTheCaller) {
  LookupPool pool({.helpers = 0});
  std::set<std::thread::id> threads;
  size_t calls = 0;
  pool.ForEach(20, [&](size_t) {
    threads.insert(std::this_thread::get_id());
    ++calls;
  });
  EXPECT_EQ(calls, 20u);
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(*threads.begin(), std::this_thread::get_id());
}

TEST(LookupPoolTest, ManyConcurrentCallersAllFinishWithAFullQueue) {
  // One helper and a queue of one task: most callers get no help and must still finish.
  LookupPool pool({.helpers = 1, .max_queued = 1});
  std::atomic<size_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round) {
        std::vector<int> seen(37, 0);
        pool.ForEach(seen.size(), [&](size_t i) {
          ++seen[i];
          total.fetch_add(1);
        });
        for (int s : seen) ASSERT_EQ(s, 1);
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(total.load(), 8u * 50u * 37u);
}

TEST(LookupPoolTest, HelpersAreBoundedAndDestructionJoinsThem) {
  LookupPool big({.helpers = 1000});
  EXPECT_EQ(big.helpers(), LookupPoolOptions::kMaxHelpers);
  {
    LookupPool pool({.helpers = 2});
    pool.ForEach(100, [](size_t) {});
  }  // must return: the destructor stops idle helpers
  SUCCEED();
}

}  // namespace
}  // namespace cdp::api
