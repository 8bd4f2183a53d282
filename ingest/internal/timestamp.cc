#include "ingest/internal/timestamp.h"

#include "absl/strings/str_format.h"

namespace cdp::ingest::internal {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The civil date of a day count (H. Hinnant's civil_from_days).
void CivilFromDays(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int64_t DaysInMonth(int64_t y, int64_t m) {
  static constexpr int64_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` decimal digits at *pos into *value.
bool Digits(absl::string_view text, size_t* pos, size_t n, int64_t* value) {
  if (text.size() - *pos < n) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *value = v;
  return true;
}

bool Expect(absl::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

// "YYYY-MM-DD" at *pos, as days since the epoch.
bool ParseDate(absl::string_view text, size_t* pos, int64_t* days) {
  int64_t y, m, d;
  if (!Digits(text, pos, 4, &y) || !Expect(text, pos, '-') || !Digits(text, pos, 2, &m) ||
      !Expect(text, pos, '-') || !Digits(text, pos, 2, &d)) {
    return false;
  }
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) return false;
  *days = DaysFromCivil(y, m, d);
  return true;
}

std::optional<int64_t> InRange(int64_t micros) {
  if (micros < kMinTimeMicros || micros > kMaxTimeMicros) return std::nullopt;
  return micros;
}

// Optional '-' then 1 to `max_digits` digits, at the start of *text (consumed).
bool ParseInteger(absl::string_view* text, size_t max_digits, bool* negative, int64_t* value) {
  size_t pos = 0;
  *negative = !text->empty() && (*text)[0] == '-';
  if (*negative) ++pos;
  const size_t start = pos;
  int64_t v = 0;
  while (pos < text->size() && (*text)[pos] >= '0' && (*text)[pos] <= '9') {
    if (pos - start == max_digits) return false;
    v = v * 10 + ((*text)[pos] - '0');
    ++pos;
  }
  if (pos == start) return false;
  *value = v;
  text->remove_prefix(pos);
  return true;
}

}  // namespace

std::optional<int64_t> ParseRfc3339(absl::string_view text) {
  size_t pos = 0;
  int64_t days, hour, minute, second;
  if (!ParseDate(text, &pos, &days)) return std::nullopt;
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
    return std::nullopt;
  }
  ++pos;
  if (!Digits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &second)) {
    return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  int64_t fraction_micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int64_t scale = 100'000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) return std::nullopt;
      fraction_micros += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
  }
  int64_t offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int64_t sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int64_t offset_hours, offset_minutes;
    if (!Digits(text, &pos, 2, &offset_hours) || !Expect(text, &pos, ':') ||
        !Digits(text, &pos, 2, &offset_minutes) || offset_hours > 23 || offset_minutes > 59) {
      return std::nullopt;
    }
    offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60);
  } else {
    return std::nullopt;  // RFC 3339 requires a zone: a local time is ambiguous
  }
  if (pos != text.size()) return std::nullopt;
  const int64_t seconds =
      days * kSecondsPerDay + hour * 3600 + minute * 60 + second - offset_seconds;
  return InRange(seconds * kMicrosPerSecond + fraction_micros);
}

std::optional<int64_t> ParseIsoDate(absl::string_view text) {
  size_t pos = 0;
  int64_t days;
  if (!ParseDate(text, &pos, &days) || pos != text.size()) return std::nullopt;
  return InRange(days * kSecondsPerDay * kMicrosPerSecond);
}

std::optional<int64_t> ParseEpochSeconds(absl::string_view text) {
  bool negative;
  int64_t seconds;
  // 12 digits cover year 9999; the range check below does the rest.
  if (!ParseInteger(&text, 12, &negative, &seconds)) return std::nullopt;
  int64_t fraction_micros = 0;
  if (!text.empty() && text[0] == '.') {
    text.remove_prefix(1);
    if (text.empty() || text.size() > 6) return std::nullopt;
    int64_t scale = 100'000;
    for (char c : text) {
      if (c < '0' || c > '9') return std::nullopt;
      fraction_micros += (c - '0') * scale;
      scale /= 10;
    }
    text = {};
  }
  if (!text.empty()) return std::nullopt;
  const int64_t magnitude = seconds * kMicrosPerSecond + fraction_micros;
  return InRange(negative ? -magnitude : magnitude);
}

std::optional<int64_t> ParseEpochMillis(absl::string_view text) {
  bool negative;
  int64_t millis;
  if (!ParseInteger(&text, 15, &negative, &millis) || !text.empty()) return std::nullopt;
  return InRange((negative ? -millis : millis) * 1000);
}

std::string FormatRfc3339(int64_t micros) {
  int64_t seconds = micros / kMicrosPerSecond;
  int64_t fraction = micros % kMicrosPerSecond;
  if (fraction < 0) {
    fraction += kMicrosPerSecond;
    --seconds;
  }
  int64_t days = seconds / kSecondsPerDay;
  int64_t second_of_day = seconds % kSecondsPerDay;
  if (second_of_day < 0) {
    second_of_day += kSecondsPerDay;
    --days;
  }
  int64_t y, m, d;
  CivilFromDays(days, &y, &m, &d);
  std::string out = absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, second_of_day / 3600,
                                    second_of_day / 60 % 60, second_of_day % 60);
  if (fraction % 1000 == 0 && fraction != 0) {
    absl::StrAppendFormat(&out, ".%03d", fraction / 1000);
  } else if (fraction != 0) {
    absl::StrAppendFormat(&out, ".%06d", fraction);
  }
  out.push_back('Z');
  return out;
}

}  // namespace cdp::ingest::internal
