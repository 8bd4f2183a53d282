#pragma once
// IdentityOptions: how identity resolution normalizes, filters and merges identifiers
// (DESIGN.md "Identity resolution"). Built by tools/ from configuration, checked once with
// Validate(), then handed to the identity components.
//
// Type names, patterns and limits are configuration, not personal data: error messages quote
// them. Thread safety: a plain struct; const methods are safe to call concurrently.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace cdp::identity {

inline constexpr size_t kMaxCustomTypes = 64;
inline constexpr size_t kMaxBlockedPatternsPerType = 64;
inline constexpr size_t kMaxBlockedPatternBytes = 1024;

// The patterns every mature CDP ends up blocking: zeros and dashes, -1, null, undefined, none,
// nan, anonymous, guest, unknown, "[object Object]", whitespace only.
std::vector<std::string> DefaultBlockedPatterns();

// user_id, email, phone, the custom types in declared order, device_id, anonymous_id.
std::vector<std::string> DefaultPriorityOrder(absl::Span<const std::string> custom_types);

struct IdentityOptions {
  // Region (ISO 3166-1 alpha-2, upper case: "US", "FR") assumed for phone numbers written without
  // a leading '+'. "ZZ" accepts international numbers only. Default "US".
  std::string default_phone_region = "US";

  // true: a phone number must be valid under libphonenumber's metadata (an assigned range);
  // false: a possible length for its country is enough. Metadata is that of the installed
  // libphonenumber, so set false if numbers from newly opened ranges get rejected. Default true.
  bool require_valid_phone = true;

  // Custom identifier types ("crm_id", "loyalty_id"), each [a-z0-9_]{1,32}, distinct and not a
  // built-in name; at most kMaxCustomTypes. Their values are only trimmed. Default none.
  std::vector<std::string> custom_types;

  // Distinct values of one type a profile may hold, by type; 0 = unlimited. Types not listed use
  // default_max_values_per_type. Keys must be known types. Default {user_id: 1}.
  std::map<std::string, uint32_t, std::less<>> max_values_per_type = {{"user_id", 1}};
  // Per-type value limit for types not in max_values_per_type; 0 = unlimited. Default 5.
  uint32_t default_max_values_per_type = 5;

  // Every known type exactly once, highest priority first: when a merge would break a limit,
  // the event's lowest-priority identifier is dropped first. Empty (the default) means
  // DefaultPriorityOrder(custom_types).
  std::vector<std::string> priority_order;

  // Identifiers (all types) one profile may hold; past it new identifiers are not attached, the
  // event is still stored. At least 1. Default 1000.
  uint32_t max_identifiers_per_profile = 1000;
  // Merges one profile may take part in; past it the profile stops merging, its events are still
  // stored. At least 1. Default 100.
  uint32_t max_merges_per_profile = 100;

  // RE2 patterns of placeholder values that are not identifiers, for every type without an entry
  // in blocked_patterns_by_type. A pattern matches case-insensitively against the whole trimmed
  // value and again against the normalized value. At most kMaxBlockedPatternsPerType patterns of
  // at most kMaxBlockedPatternBytes each. Default DefaultBlockedPatterns().
  std::vector<std::string> default_blocked_patterns = DefaultBlockedPatterns();
  // Per type, patterns that replace default_blocked_patterns for that type (to extend rather than
  // replace, start from DefaultBlockedPatterns()). Keys must be known types. Default none.
  std::map<std::string, std::vector<std::string>, std::less<>> blocked_patterns_by_type;

  // kInvalidArgument naming the first offending field, e.g.
  // "IdentityOptions.blocked_patterns_by_type[email][2]: invalid regex: missing ]: [a".
  absl::Status Validate() const;

  // The accessors below resolve defaults; they assume Validate() succeeded.

  // Built-in types (in BuiltinType order) then custom types.
  std::vector<std::string> KnownTypes() const;
  bool IsKnownType(absl::string_view type) const;
  // priority_order, or the default order when it is empty.
  std::vector<std::string> EffectivePriorityOrder() const;
  // The value limit for `type` (0 = unlimited).
  uint32_t MaxValuesFor(absl::string_view type) const;
  // The blocked patterns that apply to `type`; indices into this list are what
  // NormalizeResult::blocked_pattern_index reports.
  const std::vector<std::string>& BlockedPatternsFor(absl::string_view type) const;
};

}  // namespace cdp::identity
