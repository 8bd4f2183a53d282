#pragma once
// Timestamp parsing and formatting for the feed parsers: RFC 3339 date-times (the Segment spec's
// ISO-8601), ISO dates, and Unix epoch seconds or milliseconds (CSV exports).
//
// Every parser accepts only instants in years 0001 to 9999 and returns std::nullopt for anything
// else, so callers can add and subtract results without overflowing int64.
//
// Thread safety: pure functions.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace cdp::ingest::internal {

// Microseconds since the Unix epoch of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z.
inline constexpr int64_t kMinTimeMicros = -62'135'596'800'000'000;
inline constexpr int64_t kMaxTimeMicros = 253'402'300'799'999'999;

// "2024-03-01T12:30:00Z", "2024-03-01t12:30:00.123456789+05:30", "2024-03-01 12:30:00-08:00":
// a full date, 'T' (or 't' or a space), hh:mm:ss, an optional fraction of 1 to 9 digits
// (truncated to microseconds) and 'Z', 'z' or a +hh:mm / -hh:mm offset. A leap second (:60) is
// read as the first instant of the next minute.
std::optional<int64_t> ParseRfc3339(absl::string_view text);

// "2024-03-01": midnight UTC of that day.
std::optional<int64_t> ParseIsoDate(absl::string_view text);

// "1709296200" or "1709296200.25" (up to 6 fractional digits), optionally negative.
std::optional<int64_t> ParseEpochSeconds(absl::string_view text);

// "1709296200250", optionally negative.
std::optional<int64_t> ParseEpochMillis(absl::string_view text);

// RFC 3339 in UTC: "2024-03-01T12:30:00Z", with ".250" or ".250001" when the instant has a
// fraction. REQUIRES: kMinTimeMicros <= micros <= kMaxTimeMicros.
std::string FormatRfc3339(int64_t micros);

}  // namespace cdp::ingest::internal
