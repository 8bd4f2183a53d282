#include "api/internal/module_config.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace cdp::api::internal {
namespace {

// Module Validate() errors name fields from the module's point of view ("IdentityOptions.x");
// the user needs the path in the file ("identity.x").
absl::Status InConfigPath(absl::Status status, absl::string_view module_prefix,
                          absl::string_view config_prefix) {
  if (status.ok()) return status;
  absl::string_view message = status.message();
  if (absl::ConsumePrefix(&message, module_prefix)) {
    return absl::Status(status.code(), absl::StrCat(config_prefix, message));
  }
  return status;
}

template <typename T, typename V>
void SetIf(bool present, const V& value, T* out) {
  if (present) *out = static_cast<T>(value);
}

absl::Status ResolveTtl(const std::string& text, absl::string_view field,
                        std::optional<int64_t>* out) {
  if (text.empty()) return absl::OkStatus();
  absl::StatusOr<int64_t> seconds = consent::ParseTtlSeconds(text);
  if (!seconds.ok()) return FieldError(field, seconds.status().message());
  *out = *seconds;
  return absl::OkStatus();
}

absl::Status ResolveTtlMap(const google::protobuf::Map<std::string, std::string>& in,
                           absl::string_view field,
                           std::map<std::string, int64_t, std::less<>>* out) {
  for (const auto& [key, text] : in) {
    std::optional<int64_t> seconds;
    const std::string entry_field = absl::StrCat(field, "[", absl::CEscape(key), "]");
    if (text.empty()) return FieldError(entry_field, "required");
    CDP_RETURN_IF_ERROR(ResolveTtl(text, entry_field, &seconds));
    (*out)[key] = *seconds;
  }
  return absl::OkStatus();
}

absl::Status ResolveRetention(const pb::Retention& in, consent::RetentionOptions* out) {
  auto field = [](absl::string_view name) { return absl::StrCat("consent.retention.", name); };
  std::optional<int64_t> dedup;
  CDP_RETURN_IF_ERROR(ResolveTtl(in.events_ttl(), field("events_ttl"), &out->events_ttl_seconds));
  CDP_RETURN_IF_ERROR(
      ResolveTtlMap(in.event_type_ttl(), field("event_type_ttl"), &out->event_type_ttl_seconds));
  CDP_RETURN_IF_ERROR(
      ResolveTtlMap(in.event_name_ttl(), field("event_name_ttl"), &out->event_name_ttl_seconds));
  CDP_RETURN_IF_ERROR(ResolveTtl(in.traits_ttl(), field("traits_ttl"), &out->traits_ttl_seconds));
  CDP_RETURN_IF_ERROR(ResolveTtl(in.inactive_profile_ttl(), field("inactive_profile_ttl"),
                                 &out->inactive_profile_ttl_seconds));
  CDP_RETURN_IF_ERROR(ResolveTtl(in.dedup_window(), field("dedup_window"), &dedup));
  if (dedup) out->dedup_window_seconds = *dedup;
  return ResolveTtl(in.audit_ttl(), field("audit_ttl"), &out->audit_ttl_seconds);
}

using PurposeMap = google::protobuf::Map<std::string, pb::PurposeNames>;
void CopyPurposeMap(const PurposeMap& in,
                    std::map<std::string, std::vector<std::string>, std::less<>>* out) {
  for (const auto& [key, names] : in) {
    (*out)[key].assign(names.purposes().begin(), names.purposes().end());
  }
}

}  // namespace

absl::Status ResolveIdentity(const pb::Identity& in, identity::IdentityOptions* out) {
  SetIf(!in.default_phone_region().empty(), in.default_phone_region(), &out->default_phone_region);
  SetIf(in.has_require_valid_phone(), in.require_valid_phone(), &out->require_valid_phone);
  out->custom_types.assign(in.custom_types().begin(), in.custom_types().end());
  for (const auto& [type, limit] : in.max_values_per_type()) out->max_values_per_type[type] = limit;
  SetIf(in.has_default_max_values_per_type(), in.default_max_values_per_type(),
        &out->default_max_values_per_type);
  out->priority_order.assign(in.priority_order().begin(), in.priority_order().end());
  SetIf(in.has_max_identifiers_per_profile(), in.max_identifiers_per_profile(),
        &out->max_identifiers_per_profile);
  SetIf(in.has_max_merges_per_profile(), in.max_merges_per_profile(), &out->max_merges_per_profile);
  if (in.has_default_blocked_patterns()) {
    const auto& patterns = in.default_blocked_patterns().patterns();
    out->default_blocked_patterns.assign(patterns.begin(), patterns.end());
  }
  for (const auto& [type, list] : in.blocked_patterns_by_type()) {
    out->blocked_patterns_by_type[type].assign(list.patterns().begin(), list.patterns().end());
  }
  return InConfigPath(out->Validate(), "IdentityOptions.", "identity.");
}

absl::Status ResolveConsent(const pb::Consent& in, consent::ConsentOptions* out) {
  if (in.purposes_size() > 0) {
    out->purposes.clear();
    // The default category mapping names the default purposes.
    out->category_purposes.clear();
  }
  for (int i = 0; i < in.purposes_size(); ++i) {
    const pb::Purpose& purpose = in.purposes(i);
    const std::string field = absl::StrCat("consent.purposes[", i, "]");
    consent::Purpose& resolved = out->purposes.emplace_back();
    resolved.name = purpose.name();
    if (!purpose.basis().empty()) {
      absl::StatusOr<consent::LegalBasis> basis = consent::ParseLegalBasis(purpose.basis());
      if (!basis.ok()) return FieldError(absl::StrCat(field, ".basis"), basis.status().message());
      resolved.basis = *basis;
    }
    for (int j = 0; j < purpose.data_kinds_size(); ++j) {
      std::optional<consent::DataKind> kind = consent::ParseDataKind(purpose.data_kinds(j));
      if (!kind) {
        return FieldError(absl::StrCat(field, ".data_kinds[", j, "]"),
                          absl::StrCat("unknown data kind \"", absl::CEscape(purpose.data_kinds(j)),
                                       "\" (expected traits, events, identifiers, conversations "
                                       "or computed)"));
      }
      resolved.data_kinds.push_back(*kind);
    }
  }
  if (!in.category_purposes().empty()) out->category_purposes.clear();
  CopyPurposeMap(in.category_purposes(), &out->category_purposes);
  CopyPurposeMap(in.event_name_purposes(), &out->event_name_purposes);
  CopyPurposeMap(in.event_type_purposes(), &out->event_type_purposes);
  out->default_event_purposes.assign(in.default_event_purposes().begin(),
                                     in.default_event_purposes().end());
  CDP_RETURN_IF_ERROR(ResolveRetention(in.retention(), &out->retention));
  return InConfigPath(out->Validate(), "retention.", "consent.retention.");
}

absl::Status ResolveIngest(const pb::Ingest& in, const identity::IdentityOptions& identity,
                           ingest::ParserOptions* out) {
  SetIf(in.has_max_event_bytes(), in.max_event_bytes(), &out->max_event_bytes);
  SetIf(in.has_max_batch_bytes(), in.max_batch_bytes(), &out->max_batch_bytes);
  SetIf(in.has_max_message_id_chars(), in.max_message_id_chars(), &out->max_message_id_chars);
  SetIf(in.has_max_nesting_depth(), in.max_nesting_depth(), &out->max_nesting_depth);
  for (const pb::CustomIdentifierPath& path : in.custom_identifier_paths()) {
    out->custom_identifier_paths.push_back({path.type(), path.path()});
  }
  out->skew_correct_with_ingest_time = in.skew_correct_with_ingest_time();
  CDP_RETURN_IF_ERROR(InConfigPath(out->Validate(), "ParserOptions.", "ingest."));
  // A path whose type identity resolution does not know would extract values nobody resolves.
  for (size_t i = 0; i < out->custom_identifier_paths.size(); ++i) {
    const std::string& type = out->custom_identifier_paths[i].type;
    if (!identity.IsKnownType(type)) {
      return FieldError(absl::StrCat("ingest.custom_identifier_paths[", i, "].type"),
                        absl::StrCat("\"", type, "\" is not in identity.custom_types"));
    }
  }
  return absl::OkStatus();
}

}  // namespace cdp::api::internal
