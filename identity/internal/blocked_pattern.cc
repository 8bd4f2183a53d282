#include "identity/internal/blocked_pattern.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cdp::identity::internal {

absl::StatusOr<std::shared_ptr<const RE2>> CompileBlockedPattern(absl::string_view pattern) {
  RE2::Options options;
  options.set_case_sensitive(false);
  options.set_log_errors(false);  // the error comes back in the Status instead
  options.set_max_mem(kBlockedPatternMaxMemBytes);
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) return absl::InvalidArgumentError(absl::StrCat("invalid regex: ", re->error()));
  return re;
}

bool MatchesWhole(const RE2& re, absl::string_view value) {
  return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), re);
}

}  // namespace cdp::identity::internal
