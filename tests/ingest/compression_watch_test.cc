// CompressionWatch: a baseline window, then a dictionary is stale only when a later window falls
// below the configured share of it, and only after the wait that doubles with each dictionary.

#include "ingest/compression_watch.h"

#include <gtest/gtest.h>

namespace cdp::ingest {
namespace {

// `values` values of 1400 bytes compressed `ratio` times (to whole bytes).
void Feed(CompressionWatch& watch, int values, double ratio) {
  for (int i = 0; i < values; ++i) watch.Add(1400, static_cast<size_t>(1400 / ratio + 0.5));
}

TEST(CompressionWatchTest, MeasuresABaselineThenEachWindow) {
  CompressionWatch watch({.window_events = 100, .stale_share = 0.8});
  watch.Watch(1);
  Feed(watch, 99, 4);
  EXPECT_EQ(watch.baseline_ratio(), 0);
  Feed(watch, 1, 4);
  EXPECT_NEAR(watch.baseline_ratio(), 4, 0.01);
  Feed(watch, 100, 3.5);  // 0.875 of the baseline: still fine
  EXPECT_NEAR(watch.last_ratio(), 3.5, 0.01);
  EXPECT_NEAR(watch.baseline_ratio(), 4, 0.01);
  EXPECT_FALSE(watch.stale());
  Feed(watch, 100, 3);  // 0.75 of it
  EXPECT_TRUE(watch.stale());
  Feed(watch, 100, 4);  // stays stale until the next dictionary
  EXPECT_TRUE(watch.stale());
}

TEST(CompressionWatchTest, EachLaterDictionaryWaitsTwiceAsLong) {
  CompressionWatch watch({.window_events = 100, .stale_share = 0.8});
  watch.Watch(3);  // stale at the earliest after 100 × 2^3 = 800 values
  Feed(watch, 100, 4);
  Feed(watch, 600, 2);
  EXPECT_FALSE(watch.stale());
  EXPECT_NEAR(watch.last_ratio(), 2, 0.01);
  Feed(watch, 100, 2);
  EXPECT_TRUE(watch.stale());
}

TEST(CompressionWatchTest, WatchingANewDictionaryStartsOver) {
  CompressionWatch watch({.window_events = 10, .stale_share = 0.8});
  watch.Watch(1);
  Feed(watch, 10, 4);
  Feed(watch, 10, 1);
  ASSERT_TRUE(watch.stale());
  watch.Watch(2);
  EXPECT_EQ(watch.watched(), 2u);
  EXPECT_FALSE(watch.stale());
  EXPECT_EQ(watch.baseline_ratio(), 0);
  Feed(watch, 10, 1);
  EXPECT_NEAR(watch.baseline_ratio(), 1, 0.01);
}

TEST(CompressionWatchTest, AKnownBaselineComparesTheFirstWindowAlready) {
  CompressionWatch watch({.window_events = 100, .stale_share = 0.8});
  watch.Watch(1, 4);  // measured before a restart
  EXPECT_NEAR(watch.baseline_ratio(), 4, 0.01);
  Feed(watch, 100, 2);  // the wait (100 × 2^1) starts again
  EXPECT_NEAR(watch.baseline_ratio(), 4, 0.01);
  EXPECT_FALSE(watch.stale());
  Feed(watch, 100, 2);
  EXPECT_TRUE(watch.stale());
}

TEST(CompressionWatchTest, NothingIsMeasuredWithoutADictionary) {
  CompressionWatch watch({.window_events = 10, .stale_share = 0.8});
  Feed(watch, 100, 4);
  EXPECT_EQ(watch.baseline_ratio(), 0);
  EXPECT_FALSE(watch.stale());
}

}  // namespace
}  // namespace cdp::ingest
