#include "storage/family.h"

namespace cdp::storage {

absl::string_view FamilyName(Family family) {
  switch (family) {
    case Family::kIdentifiers:
      return "identifiers";
    case Family::kProfiles:
      return "profiles";
    case Family::kEvents:
      return "events";
    case Family::kConsent:
      return "consent";
    case Family::kMerges:
      return "merges";
    case Family::kConversations:
      return "conversations";
    case Family::kRedirects:
      return "redirects";
    case Family::kDedup:
      return "dedup";
    case Family::kSuppression:
      return "suppression";
    case Family::kAudit:
      return "audit";
  }
  return "unknown";
}

}  // namespace cdp::storage
