#pragma once
// The record-level steps of an erasure (see rights/subject_rights.h for the protocol: 1. write
// the erasure record, 2. destroy the data key, 3. delete the records and suppress the
// identifiers) and the lookups they share with SubjectRights. Internal to rights/.
//
// Thread safety: callers hold the store's profile writer mutex for everything that writes.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "consent/audit_log.h"
#include "identity/identifier.h"
#include "rights/rights.pb.h"
#include "rights/subject_rights.h"
#include "storage/store.h"

namespace cdp::rights::internal {

// The families that hold a profile's records, keyed by profile id.
inline constexpr storage::Family kProfileFamilies[] = {
    storage::Family::kProfiles, storage::Family::kEvents, storage::Family::kConsent,
    storage::Family::kMerges, storage::Family::kConversations};

std::string Bytes(const ProfileId& id);
// Where the erasure record of a profile lives in the suppression family.
std::string ErasureKey(storage::Store* store, const ProfileId& profile);
// The suppression key of an identifier (its blind-index hash).
std::string IdentifierKey(storage::Store* store, const identity::Identifier& id);
absl::StatusOr<std::optional<pb::SuppressionEntry>> ReadSuppression(storage::Store* store,
                                                                     const std::string& key);

// Adds to `record` the dedup keys of the profile's events and returns how many events it holds
// (expired ones not yet compacted away included). Reads keys only; see the definition.
absl::StatusOr<uint64_t> CollectDedupKeys(storage::Store* store, const ProfileId& profile,
                                          pb::ErasureRecord* record);
// Steps 2 and 3 of an erasure; idempotent, so recovery can repeat them.
absl::Status Complete(storage::Store* store, consent::AuditLog* audit, pb::ErasureRecord record);
// The second layer: the person's deleted (sealed) records leave the record database's files.
absl::Status CompactProfile(storage::Store* store, const ProfileId& profile);
// Erasure records written (step 1) but not completed.
absl::StatusOr<std::vector<pb::ErasureRecord>> PendingErasures(storage::Store* store);
ErasureReceipt Receipt(const pb::ErasureRecord& record, const ProfileId& profile,
                       int64_t completed_micros);

}  // namespace cdp::rights::internal
