// Timestamp parsing and formatting used by the Segment and CSV parsers.

#include "ingest/internal/timestamp.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace cdp::ingest::internal {
namespace {

constexpr int64_t k2024_03_01 = 1'709'251'200'000'000;  // 2024-03-01T00:00:00Z

struct Case {
  std::string text;
  std::optional<int64_t> micros;
};

TEST(TimestampTest, ParsesRfc3339) {
  const Case cases[] = {
      {"2024-03-01T00:00:00Z", k2024_03_01},
      {"2024-03-01t00:00:00z", k2024_03_01},
      {"2024-03-01 00:00:00Z", k2024_03_01},
      {"2024-03-01T12:30:15Z", k2024_03_01 + (12 * 3600 + 30 * 60 + 15) * 1'000'000LL},
      {"2024-03-01T00:00:00.5Z", k2024_03_01 + 500'000},
      {"2024-03-01T00:00:00.123456Z", k2024_03_01 + 123'456},
      {"2024-03-01T00:00:00.123456789Z", k2024_03_01 + 123'456},  // truncated to micros
      {"2024-03-01T05:30:00+05:30", k2024_03_01},
      {"2024-02-29T16:00:00-08:00", k2024_03_01},
      {"2024-02-29T23:59:60Z", k2024_03_01},  // leap second: next minute
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59.999999Z", -1},
      {"0001-01-01T00:00:00Z", kMinTimeMicros},
      {"9999-12-31T23:59:59.999999Z", kMaxTimeMicros},
      // Rejected.
      {"", std::nullopt},
      {"yesterday", std::nullopt},
      {"2024-03-01", std::nullopt},            // a date is not a date-time
      {"2024-03-01T00:00:00", std::nullopt},   // no zone
      {"2024-03-01T00:00Z", std::nullopt},     // no seconds
      {"2024-02-30T00:00:00Z", std::nullopt},  // no such day
      {"2023-02-29T00:00:00Z", std::nullopt},  // not a leap year
      {"2024-13-01T00:00:00Z", std::nullopt},
      {"2024-03-01T24:00:00Z", std::nullopt},
      {"2024-03-01T00:00:00.Z", std::nullopt},
      {"2024-03-01T00:00:00.1234567890Z", std::nullopt},
      {"2024-03-01T00:00:00+0530", std::nullopt},
      {"2024-03-01T00:00:00Z ", std::nullopt},
      {"0000-12-31T00:00:00Z", std::nullopt},
      {"9999-12-31T23:59:59-01:00", std::nullopt},  // past year 9999 in UTC
      {"+2024-03-01T00:00:00Z", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ParseRfc3339(c.text), c.micros) << c.text;
  }
}

TEST(TimestampTest, ParsesDatesAndEpochs) {
  EXPECT_EQ(ParseIsoDate("2024-03-01"), k2024_03_01);
  EXPECT_EQ(ParseIsoDate("2024-3-01"), std::nullopt);
  EXPECT_EQ(ParseIsoDate("2024-03-01T00:00:00Z"), std::nullopt);

  EXPECT_EQ(ParseEpochSeconds("1709251200"), k2024_03_01);
  EXPECT_EQ(ParseEpochSeconds("1709251200.25"), k2024_03_01 + 250'000);
  EXPECT_EQ(ParseEpochSeconds("-1.5"), -1'500'000);
  EXPECT_EQ(ParseEpochSeconds("0"), 0);
  EXPECT_EQ(ParseEpochSeconds("1709251200."), std::nullopt);
  EXPECT_EQ(ParseEpochSeconds("1709251200.1234567"), std::nullopt);
  EXPECT_EQ(ParseEpochSeconds("17092512OO"), std::nullopt);
  EXPECT_EQ(ParseEpochSeconds(""), std::nullopt);
  EXPECT_EQ(ParseEpochSeconds("-"), std::nullopt);
  EXPECT_EQ(ParseEpochSeconds("999999999999"), std::nullopt);  // past year 9999

  EXPECT_EQ(ParseEpochMillis("1709251200250"), k2024_03_01 + 250'000);
  EXPECT_EQ(ParseEpochMillis("1709251200.250"), std::nullopt);
  EXPECT_EQ(ParseEpochMillis("999999999999999"), std::nullopt);
}

TEST(TimestampTest, FormatsRfc3339AndRoundTrips) {
  EXPECT_EQ(FormatRfc3339(k2024_03_01), "2024-03-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(k2024_03_01 + 250'000), "2024-03-01T00:00:00.250Z");
  EXPECT_EQ(FormatRfc3339(k2024_03_01 + 250'001), "2024-03-01T00:00:00.250001Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(kMinTimeMicros), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(kMaxTimeMicros), "9999-12-31T23:59:59.999999Z");
  for (int64_t micros : {int64_t{0}, k2024_03_01 + 1, int64_t{-86'400'000'001}, kMinTimeMicros,
                         kMaxTimeMicros, int64_t{951'782'400'123'000}}) {
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(micros)), micros) << micros;
  }
}

}  // namespace
}  // namespace cdp::ingest::internal
