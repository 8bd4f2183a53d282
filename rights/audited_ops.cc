// Operator calls that are not data-subject requests but must be on the audit record: unmerge
// and key rotation.

#include "absl/strings/str_cat.h"
#include "rights/subject_rights.h"

namespace cdp::rights {

absl::StatusOr<identity::UnmergeReport> SubjectRights::Unmerge(const ProfileId& profile,
                                                               const identity::Identifier& wrong,
                                                               const Requester& who) {
  absl::MutexLock lock(&store_->profile_writer_mutex());
  storage::WriteBatch batch = store_->NewBatch();
  auto report = identity_->Unmerge(profile, wrong, who.actor, who.reason, batch);
  // A failed unmerge may have left partial writes in the batch: only the audit entry is written.
  if (!report.ok()) batch = store_->NewBatch();
  std::string detail;
  if (report.ok()) {
    for (const auto& part : report->parts) absl::StrAppend(&detail, part.profile.ToHex(), " ");
  }
  auto entry = audit_->Append(
      batch, {.actor = who.actor,
              .act = "unmerge",
              .target = profile.ToHex(),
              .reason = who.reason,
              .outcome = report.ok() ? "ok" : absl::StatusCodeToString(report.status().code()),
              .detail = detail});
  if (!entry.ok()) return entry.status();
  if (absl::Status s = store_->Write(batch); !s.ok()) return s;
  return report;
}

absl::StatusOr<storage::RotationReport> SubjectRights::RotateKeys(const Requester& who) {
  auto report = store_->RotateKeys();
  auto entry = audit_->Append(
      {.actor = who.actor,
       .act = "keys.rotate",
       .reason = who.reason,
       .outcome = report.ok() ? "ok" : absl::StatusCodeToString(report.status().code()),
       .detail = report.ok() ? absl::StrCat("kek_version=", report->new_version,
                                            " rewrapped=", report->rewrapped)
                             : ""});
  if (!report.ok()) return report.status();
  if (!entry.ok()) return entry.status();
  return report;
}

}  // namespace cdp::rights
