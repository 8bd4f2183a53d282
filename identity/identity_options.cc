#include "identity/identity_options.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "identity/identifier.h"
#include "identity/internal/blocked_pattern.h"
#include "phonenumbers/phonenumberutil.h"

namespace cdp::identity {
namespace {

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("IdentityOptions.", field, ": ", problem));
}

// Type names come from configuration; escape them so a stray control byte cannot break a log line.
std::string Quoted(absl::string_view name) { return absl::StrCat("\"", absl::CEscape(name), "\""); }

absl::Status ValidateRegion(absl::string_view region) {
  if (region == "ZZ") return absl::OkStatus();
  const auto* util = i18n::phonenumbers::PhoneNumberUtil::GetInstance();
  if (util->GetCountryCodeForRegion(std::string(region)) == 0) {
    return FieldError("default_phone_region",
                      absl::StrCat(Quoted(region),
                                   " is not a supported region (ISO 3166-1 alpha-2, upper case, "
                                   "or ZZ)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCustomTypes(const std::vector<std::string>& custom_types) {
  if (custom_types.size() > kMaxCustomTypes) {
    return FieldError("custom_types", absl::StrCat("more than ", kMaxCustomTypes, " types"));
  }
  absl::flat_hash_set<absl::string_view> seen;
  for (size_t i = 0; i < custom_types.size(); ++i) {
    const std::string& name = custom_types[i];
    std::string field = absl::StrCat("custom_types[", i, "]");
    if (!IsValidTypeName(name)) {
      return FieldError(field, absl::StrCat(Quoted(name), " is not [a-z0-9_]{1,32}"));
    }
    if (ParseBuiltinType(name).has_value()) {
      return FieldError(field, absl::StrCat(Quoted(name), " is a built-in type"));
    }
    if (!seen.insert(name).second) {
      return FieldError(field, absl::StrCat(Quoted(name), " is declared twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePriorityOrder(const IdentityOptions& options) {
  if (options.priority_order.empty()) return absl::OkStatus();
  absl::flat_hash_set<absl::string_view> seen;
  for (size_t i = 0; i < options.priority_order.size(); ++i) {
    const std::string& type = options.priority_order[i];
    std::string field = absl::StrCat("priority_order[", i, "]");
    if (!options.IsKnownType(type)) {
      return FieldError(field, absl::StrCat(Quoted(type), " is not a known type"));
    }
    if (!seen.insert(type).second) {
      return FieldError(field, absl::StrCat(Quoted(type), " is listed twice"));
    }
  }
  for (const std::string& type : options.KnownTypes()) {
    if (!seen.contains(type)) {
      return FieldError("priority_order", absl::StrCat(Quoted(type), " is missing"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePatterns(absl::string_view field, const std::vector<std::string>& patterns) {
  if (patterns.size() > kMaxBlockedPatternsPerType) {
    return FieldError(field, absl::StrCat("more than ", kMaxBlockedPatternsPerType, " patterns"));
  }
  for (size_t i = 0; i < patterns.size(); ++i) {
    std::string pattern_field = absl::StrCat(field, "[", i, "]");
    if (patterns[i].size() > kMaxBlockedPatternBytes) {
      return FieldError(pattern_field,
                        absl::StrCat("pattern longer than ", kMaxBlockedPatternBytes, " bytes"));
    }
    auto compiled = internal::CompileBlockedPattern(patterns[i]);
    if (!compiled.ok()) return FieldError(pattern_field, compiled.status().message());
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> DefaultBlockedPatterns() {
  return {
      R"(^[0-]*$)",  // "", "0", "000", "-", "0-0"
      R"(^-1$)",
      R"(null)",
      R"(undefined)",
      R"(none)",
      R"(nan)",
      R"(anonymous)",
      R"(guest)",
      R"(unknown)",
      R"(\[object Object\])",  // what JavaScript makes of an object turned into a string
      R"([\s\p{Z}]*)",         // whitespace only
  };
}

std::vector<std::string> DefaultPriorityOrder(absl::Span<const std::string> custom_types) {
  std::vector<std::string> order = {std::string(kUserId), std::string(kEmail), std::string(kPhone)};
  order.insert(order.end(), custom_types.begin(), custom_types.end());
  order.emplace_back(kDeviceId);
  order.emplace_back(kAnonymousId);
  return order;
}

absl::Status IdentityOptions::Validate() const {
  CDP_RETURN_IF_ERROR(ValidateRegion(default_phone_region));
  CDP_RETURN_IF_ERROR(ValidateCustomTypes(custom_types));
  for (const auto& [type, limit] : max_values_per_type) {
    if (!IsKnownType(type)) {
      return FieldError(absl::StrCat("max_values_per_type[", absl::CEscape(type), "]"),
                        "not a known type");
    }
  }
  CDP_RETURN_IF_ERROR(ValidatePriorityOrder(*this));
  if (max_identifiers_per_profile == 0) {
    return FieldError("max_identifiers_per_profile", "must be at least 1");
  }
  if (max_merges_per_profile == 0) {
    return FieldError("max_merges_per_profile", "must be at least 1");
  }
  CDP_RETURN_IF_ERROR(ValidatePatterns("default_blocked_patterns", default_blocked_patterns));
  for (const auto& [type, patterns] : blocked_patterns_by_type) {
    std::string field = absl::StrCat("blocked_patterns_by_type[", absl::CEscape(type), "]");
    if (!IsKnownType(type)) return FieldError(field, "not a known type");
    CDP_RETURN_IF_ERROR(ValidatePatterns(field, patterns));
  }
  return absl::OkStatus();
}

std::vector<std::string> IdentityOptions::KnownTypes() const {
  std::vector<std::string> types(BuiltinTypeNames().begin(), BuiltinTypeNames().end());
  types.insert(types.end(), custom_types.begin(), custom_types.end());
  return types;
}

bool IdentityOptions::IsKnownType(absl::string_view type) const {
  return ParseBuiltinType(type).has_value() ||
         std::find(custom_types.begin(), custom_types.end(), type) != custom_types.end();
}

std::vector<std::string> IdentityOptions::EffectivePriorityOrder() const {
  return priority_order.empty() ? DefaultPriorityOrder(custom_types) : priority_order;
}

uint32_t IdentityOptions::MaxValuesFor(absl::string_view type) const {
  auto it = max_values_per_type.find(type);
  return it == max_values_per_type.end() ? default_max_values_per_type : it->second;
}

const std::vector<std::string>& IdentityOptions::BlockedPatternsFor(absl::string_view type) const {
  auto it = blocked_patterns_by_type.find(type);
  return it == blocked_patterns_by_type.end() ? default_blocked_patterns : it->second;
}

}  // namespace cdp::identity
