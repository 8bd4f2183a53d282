#pragma once
// The column families of the store and what each holds. Keys are binary and big-endian (see
// storage/key_codec.h). Families marked sealed hold personal data: every value is sealed with
// AES-256-GCM under the data key of the profile whose 16-byte id starts the key.

#include <array>
#include <cstdint>
#include "absl/strings/string_view.h"

namespace cdp::storage {

enum class Family : uint8_t {
  kIdentifiers = 0,    // blind-index hash (32) -> profile id. Plain.
  kProfiles = 1,       // profile id (16) -> profile record. Sealed.
  kEvents = 2,         // profile id | event time | seq -> event. Sealed.
  kConsent = 3,        // profile id | time | seq -> consent change. Sealed.
  kMerges = 4,         // profile id | time | seq -> merge log entry. Sealed.
  kConversations = 5,  // profile id | conversation key -> conversation state. Sealed.
  kRedirects = 6,      // merged-away profile id (16) -> surviving profile id. Plain.
  kDedup = 7,          // message-id hash (32) -> first delivery. Plain.
  kSuppression = 8,    // blind-index hash (32) -> erasure reference. Plain.
  kAudit = 9,          // sequence (8) -> audit entry (no personal data). Plain.
};

inline constexpr size_t kFamilyCount = 10;

inline constexpr std::array<Family, kFamilyCount> kAllFamilies = {
    Family::kIdentifiers, Family::kProfiles,    Family::kEvents,   Family::kConsent,
    Family::kMerges,      Family::kConversations, Family::kRedirects, Family::kDedup,
    Family::kSuppression, Family::kAudit};

// The RocksDB column family name.
absl::string_view FamilyName(Family family);

// Whether values are sealed under the data key of the profile that prefixes the key.
constexpr bool IsSealed(Family family) {
  switch (family) {
    case Family::kProfiles:
    case Family::kEvents:
    case Family::kConsent:
    case Family::kMerges:
    case Family::kConversations:
      return true;
    default:
      return false;
  }
}

// Whether keys start with a profile id, so that one profile's records form one prefix range.
constexpr bool IsProfilePrefixed(Family family) {
  return IsSealed(family) || family == Family::kRedirects;
}

}  // namespace cdp::storage
