#include "identity/internal/blocked_pattern.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cdp::identity::internal {

namespace {

RE2::Options PatternOptions(int64_t max_mem_bytes) {
  RE2::Options options;
  options.set_case_sensitive(false);
  options.set_log_errors(false);  // the error comes back in the Status instead
  options.set_max_mem(max_mem_bytes);
  return options;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const RE2>> CompileBlockedPattern(absl::string_view pattern) {
  const RE2::Options options = PatternOptions(kBlockedPatternMaxMemBytes);
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) return absl::InvalidArgumentError(absl::StrCat("invalid regex: ", re->error()));
  return re;
}

bool MatchesWhole(const RE2& re, absl::string_view value) {
  return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), re);
}

absl::StatusOr<std::shared_ptr<const RE2::Set>> CompileBlockedSet(
    const std::vector<std::string>& patterns) {
  const int64_t budget =
      kBlockedPatternMaxMemBytes * static_cast<int64_t>(std::max<size_t>(1, patterns.size()));
  auto set = std::make_shared<RE2::Set>(PatternOptions(budget), RE2::ANCHOR_BOTH);
  for (const std::string& pattern : patterns) {
    std::string error;
    if (set->Add(re2::StringPiece(pattern.data(), pattern.size()), &error) < 0) {
      return absl::InvalidArgumentError(absl::StrCat("invalid regex: ", error));
    }
  }
  if (!set->Compile()) {
    return absl::InvalidArgumentError("blocked patterns do not compile together within budget");
  }
  return std::shared_ptr<const RE2::Set>(std::move(set));
}

int FirstWholeMatch(const RE2::Set& set, absl::Span<const std::shared_ptr<const RE2>> each,
                    absl::string_view value) {
  std::vector<int> matched;
  RE2::Set::ErrorInfo error;
  if (set.Match(re2::StringPiece(value.data(), value.size()), &matched, &error)) {
    return *std::min_element(matched.begin(), matched.end());
  }
  if (error.kind == RE2::Set::kNoError) return -1;
  for (size_t i = 0; i < each.size(); ++i) {
    if (MatchesWhole(*each[i], value)) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace cdp::identity::internal
