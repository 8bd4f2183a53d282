// Subject rights and audit calls: exportSubject, eraseSubject, unsuppress, unmerge,
// mergeHistory, auditLog, verifyAudit.

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/service_internal.h"

namespace cdp::api {

namespace {

constexpr size_t kMinExportPage = 64 << 10;
constexpr size_t kMaxExportPage = 4 << 20;
constexpr size_t kMaxAuditEntries = 10000;

absl::Status RequireReason(const std::string& reason) {
  if (reason.empty()) return absl::InvalidArgumentError("reason: required (a ticket or why)");
  if (reason.size() > 1024) return absl::InvalidArgumentError("reason: at most 1024 bytes");
  return absl::OkStatus();
}

}  // namespace

void ConnectionHandler::exportSubject(t::ExportSubjectResponse& out,
                                      const t::ExportSubjectRequest& request) {
  Run(CallId::kExportSubject, request.token, kComplianceRole, Admission::Kind::kRead,
      [&](const Caller& caller) -> absl::Status {
        size_t page = 1 << 20;
        if (request.__isset.max_bytes) {
          if (request.max_bytes < static_cast<int32_t>(kMinExportPage) ||
              request.max_bytes > static_cast<int32_t>(kMaxExportPage)) {
            return absl::InvalidArgumentError(
                absl::StrCat("max_bytes: must be in ", kMinExportPage, "..", kMaxExportPage));
          }
          page = static_cast<size_t>(request.max_bytes);
        }
        std::string cursor;
        if (request.__isset.cursor) {
          cursor = request.cursor;
        } else {
          if (absl::Status s = RequireReason(request.reason); !s.ok()) return s;
          const rights::Requester who{.actor = caller.name, .reason = request.reason};
          rights::SubjectRights* rights = core_->stack().rights.get();
          auto key = ParsePerson(request.person);
          if (!key.ok()) return key.status();
          ExportSessions::Producer producer = [rights, who, key = *std::move(key)](
                                                  const ExportSessions::Sink& sink) {
            return std::holds_alternative<ProfileId>(key)
                       ? rights->Export(std::get<ProfileId>(key), who, sink)
                       : rights->ExportByIdentifier(std::get<identity::Identifier>(key), who, sink);
          };
          auto started = core_->exports().Start(std::move(producer));
          if (!started.ok()) return started.status();
          cursor = *started;
        }
        auto next = core_->exports().Next(cursor, page);
        if (!next.ok()) return next.status();
        out.chunk = std::move(next->chunk);
        out.done = next->done;
        if (!out.done) out.__set_cursor(cursor);
        return absl::OkStatus();
      });
}

void ConnectionHandler::eraseSubject(t::EraseSubjectResponse& out,
                                     const t::EraseSubjectRequest& request) {
  Run(CallId::kEraseSubject, request.token, kComplianceRole, Admission::Kind::kWrite,
      [&](const Caller& caller) -> absl::Status {
        if (absl::Status s = RequireReason(request.reason); !s.ok()) return s;
        const rights::Requester who{.actor = caller.name, .reason = request.reason};
        auto key = ParsePerson(request.person);
        if (!key.ok()) return key.status();
        rights::SubjectRights& subject_rights = *core_->stack().rights;
        absl::StatusOr<rights::ErasureReceipt> receipt =
            std::holds_alternative<ProfileId>(*key)
                ? subject_rights.Erase(std::get<ProfileId>(*key), who)
                : subject_rights.EraseByIdentifier(std::get<identity::Identifier>(*key), who);
        if (!receipt.ok()) return receipt.status();
        out.erase_id = receipt->erase_id;
        out.profile_id = receipt->profile.ToHex();
        out.completed_micros = receipt->completed_micros;
        out.counts = {{"identifiers", static_cast<int64_t>(receipt->identifiers)},
                      {"events", static_cast<int64_t>(receipt->events)},
                      {"consent_entries", static_cast<int64_t>(receipt->consent_entries)},
                      {"merge_entries", static_cast<int64_t>(receipt->merge_entries)},
                      {"conversations", static_cast<int64_t>(receipt->conversations)},
                      {"merged_profiles", static_cast<int64_t>(receipt->merged_profiles)}};
        return absl::OkStatus();
      });
}

void ConnectionHandler::unsuppress(t::UnsuppressResponse& out,
                                   const t::UnsuppressRequest& request) {
  Run(CallId::kUnsuppress, request.token, kComplianceRole, Admission::Kind::kWrite,
      [&](const Caller& caller) -> absl::Status {
        if (absl::Status s = RequireReason(request.reason); !s.ok()) return s;
        auto id = Normalize(request.identifier);
        if (!id.ok()) return id.status();
        return core_->stack().rights->Unsuppress(*id,
                                                 {.actor = caller.name, .reason = request.reason});
      });
}

void ConnectionHandler::unmerge(t::UnmergeResponse& out, const t::UnmergeRequest& request) {
  Run(CallId::kUnmerge, request.token, kComplianceRole, Admission::Kind::kWrite,
      [&](const Caller& caller) -> absl::Status {
        if (absl::Status s = RequireReason(request.reason); !s.ok()) return s;
        auto profile = ProfileId::FromHex(request.profile_id);
        if (!profile.ok()) return absl::InvalidArgumentError("profile_id: expected 32 hex characters");
        auto id = Normalize(request.identifier);
        if (!id.ok()) return id.status();
        auto report = core_->stack().rights->Unmerge(
            *profile, *id, {.actor = caller.name, .reason = request.reason});
        if (!report.ok()) return report.status();
        for (const auto& part : report->parts) {
          t::UnmergePart& p = out.parts.emplace_back();
          p.profile_id = part.profile.ToHex();
          p.identifiers = part.identifiers;
          p.events = static_cast<int64_t>(part.events);
        }
        return absl::OkStatus();
      });
}

void ConnectionHandler::mergeHistory(t::MergeHistoryResponse& out,
                                     const t::MergeHistoryRequest& request) {
  Run(CallId::kMergeHistory, request.token, kComplianceRole, Admission::Kind::kRead,
      [&](const Caller& caller) -> absl::Status {
        auto profile = FindPerson(request.person);
        if (!profile.ok()) return profile.status();
        auto history = core_->stack().identity->MergeHistory(*profile);
        if (!history.ok()) return history.status();
        out.profile_id = profile->ToHex();
        for (const identity::MergeRecord& record : *history) {
          t::MergeEntry& e = out.entries.emplace_back();
          e.kind = record.kind == identity::MergeRecord::Kind::kMerge ? "merge" : "unmerge";
          e.time_micros = record.time_micros;
          e.message_id = record.message_id;
          e.survivor = record.survivor.ToHex();
          for (const ProfileId& p : record.absorbed) e.absorbed.push_back(p.ToHex());
          for (const identity::Identifier& id : record.bridging) {
            e.bridging.push_back(ToThrift(id, caller.role));
          }
        }
        return absl::OkStatus();
      });
}

void ConnectionHandler::auditLog(t::AuditLogResponse& out, const t::AuditLogRequest& request) {
  Run(CallId::kAuditLog, request.token, kComplianceRole, Admission::Kind::kRead,
      [&](const Caller& caller) -> absl::Status {
        consent::AuditQuery query;
        if (request.__isset.from_micros) query.from_micros = request.from_micros;
        if (request.__isset.to_micros) query.to_micros = request.to_micros;
        if (request.__isset.limit) {
          if (request.limit < 1 || static_cast<size_t>(request.limit) > kMaxAuditEntries) {
            return absl::InvalidArgumentError(
                absl::StrCat("limit: must be in 1..", kMaxAuditEntries));
          }
          query.limit = static_cast<size_t>(request.limit);
        }
        if (request.__isset.subject) {
          auto profile = FindPerson(request.subject);
          if (profile.ok()) {
            query.target = profile->ToHex();
          } else if (request.subject.__isset.profile_id && absl::IsNotFound(profile.status())) {
            query.target = request.subject.profile_id;  // an erased person's entries remain
          } else {
            return profile.status();
          }
        }
        auto entries = core_->stack().audit->List(query);
        if (!entries.ok()) return entries.status();
        for (const consent::AuditEntry& entry : *entries) {
          t::AuditEntry& e = out.entries.emplace_back();
          e.seq = static_cast<int64_t>(entry.seq);
          e.time_micros = entry.time_micros;
          e.actor = entry.actor;
          e.act = entry.act;
          e.target = entry.target;
          e.reason = entry.reason;
          e.outcome = entry.outcome;
          e.detail = entry.detail;
          e.hash = absl::BytesToHexString(entry.hash);
        }
        return absl::OkStatus();
      });
}

void ConnectionHandler::verifyAudit(t::VerifyAuditResponse& out,
                                    const t::VerifyAuditRequest& request) {
  Run(CallId::kVerifyAudit, request.token, kComplianceRole, Admission::Kind::kRead,
      [&](const Caller& caller) -> absl::Status {
        auto report = core_->stack().audit->Verify();
        if (!report.ok()) return report.status();
        out.ok = report->ok();
        out.entries = static_cast<int64_t>(report->entries);
        if (report->first_broken.has_value()) {
          out.__set_first_broken_seq(static_cast<int64_t>(*report->first_broken));
          out.__set_problem(report->problem);
        }
        if (report->head_seq.has_value()) {
          out.__set_head_seq(static_cast<int64_t>(*report->head_seq));
          out.__set_head_hash(absl::BytesToHexString(report->head_hash));
        }
        out.notes = report->notes;
        return absl::OkStatus();
      });
}

}  // namespace cdp::api
