#include "consent/consent_options.h"

#include <cctype>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status_macros.h"

namespace cdp::consent {
namespace {

bool IsValidName(absl::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

absl::Status CheckPurposes(const absl::flat_hash_set<std::string>& known,
                           const std::vector<std::string>& names, absl::string_view field) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (!known.contains(names[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", i, "]: unknown purpose \"", names[i], "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTtl(std::optional<int64_t> ttl, absl::string_view field) {
  if (ttl && *ttl <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": a TTL must be positive"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LegalBasis> ParseLegalBasis(absl::string_view name) {
  if (name == "consent") return LegalBasis::kConsent;
  if (name == "legitimate_interest") return LegalBasis::kLegitimateInterest;
  if (name == "contract") return LegalBasis::kContract;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown legal basis \"", name, "\" (expected consent, legitimate_interest or contract)"));
}

const char* LegalBasisName(LegalBasis basis) {
  switch (basis) {
    case LegalBasis::kConsent:
      return "consent";
    case LegalBasis::kLegitimateInterest:
      return "legitimate_interest";
    case LegalBasis::kContract:
      return "contract";
  }
  return "unknown";
}

std::optional<DataKind> ParseDataKind(absl::string_view name) {
  if (name == "traits") return DataKind::kTraits;
  if (name == "events") return DataKind::kEvents;
  if (name == "identifiers") return DataKind::kIdentifiers;
  if (name == "conversations") return DataKind::kConversations;
  if (name == "computed") return DataKind::kComputed;
  return std::nullopt;
}

absl::StatusOr<int64_t> ParseTtlSeconds(absl::string_view text) {
  int64_t value = 0;
  if (!text.empty() && text.back() == 'd' &&
      absl::SimpleAtoi(text.substr(0, text.size() - 1), &value)) {
    if (value <= 0) return absl::InvalidArgumentError("a TTL must be positive");
    return value * 24 * 3600;
  }
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a duration (examples: 90d, 12h, 30m, 45s)"));
  }
  if (duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("a TTL must be positive");
  }
  return absl::ToInt64Seconds(duration);
}

std::vector<Purpose> ConsentOptions::DefaultPurposes() {
  return {{"analytics", LegalBasis::kConsent},
          {"personalization", LegalBasis::kConsent},
          {"marketing", LegalBasis::kConsent},
          {"support", LegalBasis::kContract}};
}

absl::Status ConsentOptions::Validate() const {
  absl::flat_hash_set<std::string> known;
  if (purposes.empty()) return absl::InvalidArgumentError("consent.purposes: at least one");
  for (size_t i = 0; i < purposes.size(); ++i) {
    if (!IsValidName(purposes[i].name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("consent.purposes[", i, "].name: must be [a-z0-9_]{1,32}"));
    }
    if (!known.insert(purposes[i].name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("consent.purposes[", i, "].name: duplicate \"", purposes[i].name, "\""));
    }
  }
  for (const auto& [category, names] : category_purposes) {
    CDP_RETURN_IF_ERROR(
        CheckPurposes(known, names, absl::StrCat("consent.category_purposes[", category, "]")));
  }
  for (const auto& [name, names] : event_name_purposes) {
    CDP_RETURN_IF_ERROR(
        CheckPurposes(known, names, absl::StrCat("consent.event_name_purposes[", name, "]")));
  }
  for (const auto& [type, names] : event_type_purposes) {
    CDP_RETURN_IF_ERROR(
        CheckPurposes(known, names, absl::StrCat("consent.event_type_purposes[", type, "]")));
  }
  CDP_RETURN_IF_ERROR(
      CheckPurposes(known, default_event_purposes, "consent.default_event_purposes"));
  CDP_RETURN_IF_ERROR(CheckTtl(retention.events_ttl_seconds, "retention.events_ttl"));
  for (const auto& [type, ttl] : retention.event_type_ttl_seconds) {
    CDP_RETURN_IF_ERROR(CheckTtl(ttl, absl::StrCat("retention.event_type_ttl[", type, "]")));
  }
  for (const auto& [name, ttl] : retention.event_name_ttl_seconds) {
    CDP_RETURN_IF_ERROR(CheckTtl(ttl, absl::StrCat("retention.event_name_ttl[", name, "]")));
  }
  CDP_RETURN_IF_ERROR(CheckTtl(retention.traits_ttl_seconds, "retention.traits_ttl"));
  CDP_RETURN_IF_ERROR(
      CheckTtl(retention.inactive_profile_ttl_seconds, "retention.inactive_profile_ttl"));
  CDP_RETURN_IF_ERROR(CheckTtl(retention.dedup_window_seconds, "retention.dedup_window"));
  CDP_RETURN_IF_ERROR(CheckTtl(retention.audit_ttl_seconds, "retention.audit_ttl"));
  return absl::OkStatus();
}

}  // namespace cdp::consent
