#pragma once
// SubjectRights: the data-subject requests of GDPR Art. 15/17/20 and the retention sweep.
//
// Erase (by profile id or any identifier), in three durable steps:
//   1. an erasure record with every hash and id to remove is written (state pending);
//   2. the person's data key is destroyed (crypto-shredding: from here no record of theirs can be
//      read, in the live store or in any earlier backup of the record database);
//   3. every record is deleted (identity node and index, profile data, events, consent ledger,
//      merge log, conversations, redirects of profiles merged into them, dedup entries), their
//      identifiers are added to the suppression list, the record is marked done, and the wrapped
//      data key is compacted out of the key vault's files.
// Then, as the second layer, the person's key ranges in the record database are compacted, so the
// deleted ciphertext leaves the files too. By default this runs on a background thread right after
// Erase returns (it costs ~100 ms for 10,000 events here, more than the whole rest of the erasure);
// RightsOptions::compact_in_background = false makes Erase wait for it.
// An erasure interrupted after step 1 is completed by ResumePendingErasures() at start, or when
// it is asked for again (the store recovers from an I/O error without a restart); before step 1
// the person is intact. A replayed feed naming a suppressed identifier is counted as
// suppressed, never re-created, until Unsuppress.
//
// Export (by profile id or identifier) streams one JSON document with everything held about the
// person, events one at a time, so a person with a million events needs no million in memory.
//
// Every act, successful or not, is written to the audit log with actor and reason.
//
// Thread safety: safe for concurrent use; writers serialize on the store's profile writer mutex.

#include <cstdint>
#include <deque>
#include <thread>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "consent/audit_log.h"
#include "consent/consent_ledger.h"
#include "consent/retention_policy.h"
#include "identity/identity_graph.h"
#include "storage/store.h"

namespace cdp::rights {

struct ErasureReceipt {
  std::string erase_id;
  ProfileId profile;
  int64_t completed_micros = 0;
  uint64_t identifiers = 0;
  uint64_t events = 0;
  uint64_t consent_entries = 0;
  uint64_t merge_entries = 0;
  uint64_t conversations = 0;
  uint64_t merged_profiles = 0;
};

// Receives the export document in chunks; an error stops the export.
using ExportSink = std::function<absl::Status(absl::string_view chunk)>;

struct Requester {
  std::string actor;   // who asks (token name)
  std::string reason;  // ticket or justification
};

struct RightsOptions {
  // Compact erased ranges of the record database on a background thread (default) or before
  // Erase returns.
  bool compact_in_background = true;
};

class SubjectRights {
 public:
  SubjectRights(storage::Store* store, identity::IdentityGraph* identity,
                consent::ConsentLedger* consent, consent::AuditLog* audit,
                RightsOptions options = {});
  // Finishes queued background compactions.
  ~SubjectRights();

  // Waits until every queued background compaction has run (tests, shutdown).
  void WaitForCompactions();

  // kNotFound when no such person; kAlreadyExists (naming the erase id) when already erased.
  absl::StatusOr<ErasureReceipt> Erase(const ProfileId& profile, const Requester& who);
  absl::StatusOr<ErasureReceipt> EraseByIdentifier(const identity::Identifier& id,
                                                   const Requester& who);

  // Removes an identifier from the suppression list. kNotFound when it is not suppressed.
  absl::Status Unsuppress(const identity::Identifier& id, const Requester& who);
  absl::StatusOr<bool> IsSuppressed(const identity::Identifier& id);

  // kNotFound when no such person.
  absl::Status Export(const ProfileId& profile, const Requester& who, const ExportSink& sink);
  absl::Status ExportByIdentifier(const identity::Identifier& id, const Requester& who,
                                  const ExportSink& sink);

  // Splits `profile` by taking `wrong` off it (IdentityGraph::Unmerge), audited as "unmerge"
  // whether it succeeds or not. kNotFound when the profile does not hold `wrong`.
  absl::StatusOr<identity::UnmergeReport> Unmerge(const ProfileId& profile,
                                                  const identity::Identifier& wrong,
                                                  const Requester& who);

  // Rotates the key-encryption key (Store::RotateKeys), audited as "keys.rotate".
  absl::StatusOr<storage::RotationReport> RotateKeys(const Requester& who);

  // Erases every profile whose last activity is past the inactive-profile TTL; returns how many.
  absl::StatusOr<uint64_t> SweepInactive(const consent::RetentionPolicy& policy);

  // Completes erasures interrupted by a crash; returns how many. Call once at start.
  absl::StatusOr<uint64_t> ResumePendingErasures();

 private:
  absl::StatusOr<ErasureReceipt> EraseLocked(const ProfileId& profile, const Requester& who);
  absl::Status Audit(const Requester& who, absl::string_view act, absl::string_view target,
                     absl::string_view outcome, absl::string_view detail);

  void CompactLater(const ProfileId& profile);
  void CompactionLoop();

  storage::Store* store_;
  identity::IdentityGraph* identity_;
  consent::ConsentLedger* consent_;
  consent::AuditLog* audit_;
  const RightsOptions options_;

  absl::Mutex compaction_mu_;
  std::deque<ProfileId> compaction_queue_ ABSL_GUARDED_BY(compaction_mu_);
  bool compacting_ ABSL_GUARDED_BY(compaction_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(compaction_mu_) = false;
  std::thread compactor_;
};

}  // namespace cdp::rights
