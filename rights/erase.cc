// SubjectRights: erase, unsuppress, the inactive-profile sweep and erasure recovery.

#include <algorithm>
#include <thread>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "rights/internal/erasure_steps.h"
#include "rights/rights.pb.h"
#include "rights/subject_rights.h"
#include "storage/errors.h"
#include "storage/key_codec.h"

namespace cdp::rights {

using storage::Family;

using internal::Bytes;
using internal::CollectDedupKeys;
using internal::CompactProfile;
using internal::Complete;
using internal::ErasureKey;
using internal::IdentifierKey;
using internal::PendingErasures;
using internal::ReadSuppression;
using internal::Receipt;

SubjectRights::SubjectRights(storage::Store* store, identity::IdentityGraph* identity,
                             consent::ConsentLedger* consent, consent::AuditLog* audit,
                             RightsOptions options)
    : store_(store), identity_(identity), consent_(consent), audit_(audit), options_(options) {
  if (options_.compact_in_background) compactor_ = std::thread([this] { CompactionLoop(); });
}

SubjectRights::~SubjectRights() {
  {
    absl::MutexLock lock(&compaction_mu_);
    stopping_ = true;
  }
  if (compactor_.joinable()) compactor_.join();
}

void SubjectRights::CompactLater(const ProfileId& profile) {
  if (!options_.compact_in_background) {
    absl::Status s = CompactProfile(store_, profile);
    if (!s.ok()) {
      LogWarning("rights", absl::StrCat("compaction after erasing ", profile.ToHex(),
                                        " failed (the data key is already destroyed): ",
                                        s.ToString()));
    }
    return;
  }
  absl::MutexLock lock(&compaction_mu_);
  compaction_queue_.push_back(profile);
}

void SubjectRights::CompactionLoop() {
  while (true) {
    ProfileId profile;
    {
      absl::MutexLock lock(&compaction_mu_);
      compaction_mu_.Await(absl::Condition(
          +[](SubjectRights* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->compaction_mu_) {
            return self->stopping_ || !self->compaction_queue_.empty();
          },
          this));
      if (compaction_queue_.empty()) return;  // stopping, and nothing left to do
      profile = compaction_queue_.front();
      compaction_queue_.pop_front();
      compacting_ = true;
    }
    absl::Status s = CompactProfile(store_, profile);
    if (!s.ok()) {
      LogWarning("rights", absl::StrCat("compaction after erasing ", profile.ToHex(),
                                        " failed (the data key is already destroyed): ",
                                        s.ToString()));
    }
    absl::MutexLock lock(&compaction_mu_);
    compacting_ = false;
  }
}

void SubjectRights::WaitForCompactions() {
  if (!options_.compact_in_background) return;
  absl::MutexLock lock(&compaction_mu_);
  compaction_mu_.Await(absl::Condition(
      +[](SubjectRights* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->compaction_mu_) {
        return self->compaction_queue_.empty() && !self->compacting_;
      },
      this));
}

absl::Status SubjectRights::Audit(const Requester& who, absl::string_view act,
                                  absl::string_view target, absl::string_view outcome,
                                  absl::string_view detail) {
  return audit_
      ->Append({.actor = who.actor,
                .act = std::string(act),
                .target = std::string(target),
                .reason = who.reason,
                .outcome = std::string(outcome),
                .detail = std::string(detail)})
      .status();
}

absl::StatusOr<ErasureReceipt> SubjectRights::Erase(const ProfileId& profile,
                                                    const Requester& who) {
  absl::MutexLock lock(&store_->profile_writer_mutex());
  return EraseLocked(profile, who);
}

absl::StatusOr<ErasureReceipt> SubjectRights::EraseByIdentifier(const identity::Identifier& id,
                                                                const Requester& who) {
  absl::MutexLock lock(&store_->profile_writer_mutex());
  const std::string key = IdentifierKey(store_, id);
  const std::string target = absl::BytesToHexString(key);
  CDP_ASSIGN_OR_RETURN(std::optional<pb::SuppressionEntry> suppressed,
                       ReadSuppression(store_, key));
  if (suppressed) {
    CDP_RETURN_IF_ERROR(Audit(who, "erase", target, "already_erased", ""));
    return absl::AlreadyExistsError(
        absl::StrCat("already erased (erase id ", suppressed->erase_id(), ")"));
  }
  absl::StatusOr<std::optional<ProfileId>> profile = identity_->FindProfile(id);
  if (storage::IsShredded(profile.status())) {
    // Still indexed, but the data key is gone: an erase was cut after destroying it (by an I/O
    // error the store recovered from without a restart). Finish that erase.
    CDP_ASSIGN_OR_RETURN(std::vector<pb::ErasureRecord> pending, PendingErasures(store_));
    for (const pb::ErasureRecord& record : pending) {
      if (!absl::c_linear_search(record.identifier_hashes(), key)) continue;
      CDP_ASSIGN_OR_RETURN(ProfileId erased, ProfileId::FromBytes(record.profile()));
      CDP_RETURN_IF_ERROR(Complete(store_, audit_, record));
      CDP_RETURN_IF_ERROR(Audit(who, "erase", erased.ToHex(), "resumed", record.erase_id()));
      CompactLater(erased);
      return Receipt(record, erased, store_->clock().NowMicros());
    }
  }
  CDP_RETURN_IF_ERROR(profile.status());
  if (!*profile) {
    CDP_RETURN_IF_ERROR(Audit(who, "erase", target, "not_found", ""));
    return absl::NotFoundError("no profile holds that identifier");
  }
  return EraseLocked(**profile, who);
}

absl::StatusOr<ErasureReceipt> SubjectRights::EraseLocked(const ProfileId& profile,
                                                          const Requester& who) {
  CDP_ASSIGN_OR_RETURN(std::optional<pb::SuppressionEntry> marker,
                       ReadSuppression(store_, ErasureKey(store_, profile)));
  if (marker && marker->erasure().done()) {
    CDP_RETURN_IF_ERROR(Audit(who, "erase", profile.ToHex(), "already_erased", ""));
    return absl::AlreadyExistsError(
        absl::StrCat("profile already erased (erase id ", marker->erase_id(), ")"));
  }
  if (marker) {
    // An earlier erase wrote its record and was cut (an I/O error, say), maybe after destroying
    // the data key, so the records can no longer be read to build a new record: finish that one.
    CDP_RETURN_IF_ERROR(Complete(store_, audit_, marker->erasure()));
    CDP_RETURN_IF_ERROR(Audit(who, "erase", profile.ToHex(), "resumed", marker->erase_id()));
    CompactLater(profile);
    return Receipt(marker->erasure(), profile, store_->clock().NowMicros());
  }
  CDP_ASSIGN_OR_RETURN(std::optional<identity::ProfileIdentity> person,
                       identity_->GetIdentity(profile));
  if (!person) {
    CDP_RETURN_IF_ERROR(Audit(who, "erase", profile.ToHex(), "not_found", ""));
    return absl::NotFoundError(absl::StrCat("no profile ", profile.ToHex()));
  }
  const ProfileId current = person->profile;

  pb::ErasureRecord record;
  record.set_erase_id(absl::BytesToHexString(crypto::RandomBytes(8)));
  record.set_profile(Bytes(current));
  record.set_requested_micros(store_->clock().NowMicros());
  record.set_actor(who.actor);
  record.set_reason(who.reason);
  for (const identity::Identifier& id : person->identifiers) {
    record.add_identifier_hashes(IdentifierKey(store_, id));
  }
  for (const ProfileId& merged : person->merged_from) record.add_merged_from(Bytes(merged));
  CDP_ASSIGN_OR_RETURN(uint64_t events, CollectDedupKeys(store_, current, &record));
  record.set_events(events);
  // Events consent filtered out are not stored, but those that changed the ledger left a dedup
  // entry (ingest/pipeline.cc); the ledger change names their messageId.
  CDP_ASSIGN_OR_RETURN(std::vector<consent::ConsentChange> history, consent_->History(current));
  for (const consent::ConsentChange& change : history) {
    if (change.source.kind != consent::ConsentSource::Kind::kEvent) continue;
    record.add_dedup_keys(storage::DigestKey(
        store_->blind_index().Hash("message_id", change.source.detail)));
  }
  auto count = [&](Family family) -> absl::StatusOr<uint64_t> {
    uint64_t n = 0;
    CDP_RETURN_IF_ERROR(store_->ScanMeta(family, storage::ProfileKey(current), {},
                                         [&](absl::string_view, const storage::RecordMeta&) {
                                           ++n;
                                           return true;
                                         }));
    return n;
  };
  CDP_ASSIGN_OR_RETURN(uint64_t consent_entries, count(Family::kConsent));
  CDP_ASSIGN_OR_RETURN(uint64_t merge_entries, count(Family::kMerges));
  CDP_ASSIGN_OR_RETURN(uint64_t conversations, count(Family::kConversations));
  record.set_consent_entries(consent_entries);
  record.set_merge_entries(merge_entries);
  record.set_conversations(conversations);

  // Step 1: the erasure record, durable before anything is destroyed.
  pb::SuppressionEntry pending;
  pending.set_erase_id(record.erase_id());
  *pending.mutable_erasure() = record;
  storage::WriteBatch batch = store_->NewBatch();
  CDP_RETURN_IF_ERROR(batch.Put(Family::kSuppression, ErasureKey(store_, current),
                                {.time_micros = record.requested_micros()},
                                pending.SerializeAsString()));
  CDP_RETURN_IF_ERROR(store_->Write(batch));
  CDP_RETURN_IF_ERROR(Complete(store_, audit_, record));
  CompactLater(current);
  return Receipt(record, current, store_->clock().NowMicros());
}

absl::StatusOr<uint64_t> SubjectRights::ResumePendingErasures() {
  absl::MutexLock lock(&store_->profile_writer_mutex());
  CDP_ASSIGN_OR_RETURN(std::vector<pb::ErasureRecord> pending, PendingErasures(store_));
  for (const pb::ErasureRecord& record : pending) {
    CDP_RETURN_IF_ERROR(Complete(store_, audit_, record));
    CDP_ASSIGN_OR_RETURN(ProfileId profile, ProfileId::FromBytes(record.profile()));
    CompactLater(profile);
  }
  return pending.size();
}


absl::StatusOr<bool> SubjectRights::IsSuppressed(const identity::Identifier& id) {
  CDP_ASSIGN_OR_RETURN(std::optional<pb::SuppressionEntry> entry,
                       ReadSuppression(store_, IdentifierKey(store_, id)));
  return entry.has_value();
}

absl::Status SubjectRights::Unsuppress(const identity::Identifier& id, const Requester& who) {
  absl::MutexLock lock(&store_->profile_writer_mutex());
  const std::string key = IdentifierKey(store_, id);
  CDP_ASSIGN_OR_RETURN(std::optional<pb::SuppressionEntry> entry, ReadSuppression(store_, key));
  if (!entry) {
    CDP_RETURN_IF_ERROR(Audit(who, "unsuppress", absl::BytesToHexString(key), "not_found", ""));
    return absl::NotFoundError("that identifier is not suppressed");
  }
  storage::WriteBatch batch = store_->NewBatch();
  batch.Delete(Family::kSuppression, key);
  CDP_RETURN_IF_ERROR(audit_
                          ->Append(batch, {.actor = who.actor,
                                           .act = "unsuppress",
                                           .target = absl::BytesToHexString(key),
                                           .reason = who.reason,
                                           .outcome = "ok",
                                           .detail = absl::StrCat("erase_id=", entry->erase_id())})
                          .status());
  absl::Status written = store_->Write(batch);
  if (!written.ok()) audit_->Reload().IgnoreError();
  return written;
}

absl::StatusOr<uint64_t> SubjectRights::SweepInactive(const consent::RetentionPolicy& policy) {
  const int64_t now = store_->clock().NowMicros();
  std::vector<ProfileId> inactive;
  // Profile data records (profile id | 0x02) carry the last activity in their plaintext header.
  CDP_RETURN_IF_ERROR(store_->ScanMeta(
      Family::kProfiles, "", {}, [&](absl::string_view key, const storage::RecordMeta& meta) {
        if (key.size() == ProfileId::kSize + 1 && key.back() == '\x02' &&
            policy.ProfileInactive(meta.time_micros, now)) {
          inactive.push_back(ProfileId::FromBytes(key.substr(0, ProfileId::kSize)).value());
        }
        return true;
      }));
  uint64_t erased = 0;
  for (const ProfileId& profile : inactive) {
    absl::StatusOr<ErasureReceipt> receipt =
        Erase(profile, {.actor = "retention", .reason = "inactive-profile TTL"});
    if (receipt.ok()) {
      ++erased;
    } else if (!absl::IsNotFound(receipt.status()) &&
               !absl::IsAlreadyExists(receipt.status())) {
      return receipt.status();
    }
  }
  return erased;
}

}  // namespace cdp::rights
