#pragma once
// Compiles blocked-value patterns the one way both IdentityOptions::Validate and Normalizer use:
// RE2 (linear-time matching, so a hostile pattern cannot stall ingest), case-insensitive, UTF-8,
// with a bounded memory budget and no logging of its own.
//
// Thread safety: pure function; the returned RE2 is safe to match from many threads.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "re2/re2.h"
#include "re2/set.h"

namespace cdp::identity::internal {

// Memory RE2 may use for one compiled pattern (program and DFA cache).
inline constexpr int64_t kBlockedPatternMaxMemBytes = int64_t{1} << 20;

// kInvalidArgument with RE2's explanation (which quotes the pattern, never a value) when the
// pattern does not compile within the budget.
absl::StatusOr<std::shared_ptr<const RE2>> CompileBlockedPattern(absl::string_view pattern);

// True when `re` matches the whole of `value`.
bool MatchesWhole(const RE2& re, absl::string_view value);

// The patterns (already checked one by one with CompileBlockedPattern) compiled into one set that
// matches whole values, with the same options: one pass over a value instead of one per pattern.
// Pattern i of `patterns` is index i of the set. kInvalidArgument when the set does not compile.
absl::StatusOr<std::shared_ptr<const RE2::Set>> CompileBlockedSet(
    const std::vector<std::string>& patterns);

// The index of the first pattern of `set` that matches the whole of `value`, or -1. When the set
// cannot answer (its DFA ran out of memory), asks `each` (the same patterns, compiled one by one)
// in order instead, so the answer never depends on memory.
int FirstWholeMatch(const RE2::Set& set, absl::Span<const std::shared_ptr<const RE2>> each,
                    absl::string_view value);

}  // namespace cdp::identity::internal
