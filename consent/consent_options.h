#pragma once
// ConsentOptions: the purposes data is processed for, how Segment consent categories map to them,
// which purposes each kind of event is collected for, and retention TTLs
// (DESIGN.md "Consent and retention"). Built by tools/ from configuration and checked once with
// Validate(); errors name the field.
//
// Thread safety: a plain struct.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cdp::consent {

enum class LegalBasis {
  kConsent,             // denied until the person grants it
  kLegitimateInterest,  // allowed until the person objects
  kContract,            // allowed until the person objects
};

// "consent", "legitimate_interest", "contract"; kInvalidArgument otherwise.
absl::StatusOr<LegalBasis> ParseLegalBasis(absl::string_view name);
const char* LegalBasisName(LegalBasis basis);

// Kinds of personal data a read may return; a purpose may be limited to some of them.
enum class DataKind { kTraits, kEvents, kIdentifiers, kConversations, kComputed };
// "traits", "events", "identifiers", "conversations", "computed"; nullopt otherwise.
std::optional<DataKind> ParseDataKind(absl::string_view name);

struct Purpose {
  std::string name;  // [a-z0-9_]{1,32}
  LegalBasis basis = LegalBasis::kConsent;
  // Data kinds a read for this purpose may return; empty (the default) = all.
  std::vector<DataKind> data_kinds;
};

// Parses "90d", "12h", "30m", "45s" or an absl duration ("1h30m") into seconds.
// kInvalidArgument for anything else, negative or zero values included.
absl::StatusOr<int64_t> ParseTtlSeconds(absl::string_view text);

struct RetentionOptions {
  // Each TTL is optional (absent = keep forever), in seconds.
  std::optional<int64_t> events_ttl_seconds;                       // every event
  std::map<std::string, int64_t, std::less<>> event_type_ttl_seconds;  // "page" -> ...
  std::map<std::string, int64_t, std::less<>> event_name_ttl_seconds;  // "Order Completed" -> ...
  std::optional<int64_t> traits_ttl_seconds;          // a trait not updated for this long
  std::optional<int64_t> inactive_profile_ttl_seconds;  // no event for this long: erased
  int64_t dedup_window_seconds = 7 * 24 * 3600;        // messageId dedup window; default 7 days
  std::optional<int64_t> audit_ttl_seconds;            // audit entries
};

struct ConsentOptions {
  // Default: analytics, personalization, marketing (consent); support (contract).
  std::vector<Purpose> purposes = DefaultPurposes();

  // Segment context.consent.categoryPreferences category -> the purposes it answers for. A
  // category that is also a purpose name maps to that purpose without an entry here.
  // Default: advertising -> marketing, functional -> personalization.
  std::map<std::string, std::vector<std::string>, std::less<>> category_purposes = {
      {"advertising", {"marketing"}}, {"functional", {"personalization"}}};

  // Purposes an event is collected for, by event name (track/page/screen name) then by type
  // ("track", "page"...); events matched by neither use default_event_purposes. An event is
  // stored only for the purposes the person allows; with none allowed it is not stored.
  std::map<std::string, std::vector<std::string>, std::less<>> event_name_purposes;
  std::map<std::string, std::vector<std::string>, std::less<>> event_type_purposes;
  // Default: every configured purpose (the event is kept if any purpose is allowed).
  std::vector<std::string> default_event_purposes;

  RetentionOptions retention;

  static std::vector<Purpose> DefaultPurposes();

  // kInvalidArgument naming the field: duplicate or malformed purpose names, an unknown purpose
  // in a mapping, a non-positive TTL.
  absl::Status Validate() const;
};

}  // namespace cdp::consent
