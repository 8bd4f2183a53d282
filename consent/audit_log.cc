#include "consent/audit_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/big_endian.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "consent/consent.pb.h"
#include "consent/record_category.h"
#include "storage/key_codec.h"

namespace cdp::consent {

using storage::Family;

namespace {

// Each free-text field is length-prefixed with 32 bits in the hash encoding; this bound keeps
// the prefix exact and an audit entry small. Larger fields are rejected by Append.
constexpr size_t kMaxFieldBytes = size_t{64} << 10;
// Versions the canonical encoding, so that a later format can never collide with this one.
constexpr absl::string_view kHashDomain = "cdp.audit.v1";

const std::string& ZeroHash() {
  static const std::string* const zero = new std::string(crypto::kSha256Size, '\0');
  return *zero;
}

void AppendField(std::string* out, absl::string_view field) {
  PutBigEndian32(out, static_cast<uint32_t>(field.size()));
  absl::StrAppend(out, field);
}

// SHA-256 over an unambiguous encoding of every field but the hash itself:
//   domain | seq (8) | time (8, ordered) | (length (4) | bytes) for actor, act, target, reason,
//   outcome, detail, prev_hash.
std::string ComputeHash(const AuditEntry& e) {
  std::string canonical(kHashDomain);
  PutBigEndian64(&canonical, e.seq);
  PutOrderedInt64(&canonical, e.time_micros);
  for (absl::string_view field :
       {e.actor, e.act, e.target, e.reason, e.outcome, e.detail, e.prev_hash}) {
    AppendField(&canonical, field);
  }
  return std::string(crypto::AsStringView(crypto::Sha256(canonical)));
}

pb::AuditRecord ToRecord(const AuditEntry& e) {
  pb::AuditRecord record;
  record.set_seq(e.seq);
  record.set_time_micros(e.time_micros);
  record.set_actor(e.actor);
  record.set_act(e.act);
  record.set_target(e.target);
  record.set_reason(e.reason);
  record.set_outcome(e.outcome);
  record.set_detail(e.detail);
  record.set_prev_hash(e.prev_hash);
  record.set_hash(e.hash);
  return record;
}

AuditEntry FromRecord(const pb::AuditRecord& record) {
  return AuditEntry{.seq = record.seq(),
                    .time_micros = record.time_micros(),
                    .actor = record.actor(),
                    .act = record.act(),
                    .target = record.target(),
                    .reason = record.reason(),
                    .outcome = record.outcome(),
                    .detail = record.detail(),
                    .prev_hash = record.prev_hash(),
                    .hash = record.hash()};
}

// Decodes a stored entry; kDataLoss (naming only the sequence number) when it is not one.
absl::StatusOr<AuditEntry> Decode(uint64_t seq, absl::string_view value) {
  pb::AuditRecord record;
  if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(absl::StrCat("audit entry ", seq, " cannot be decoded"));
  }
  return FromRecord(record);
}

// What is wrong with the stored entry at `seq` on its own (not its link), or empty.
std::string CheckEntry(uint64_t seq, const storage::Record& stored, const AuditEntry& entry) {
  // Re-encoding must give back the stored bytes: every byte of the value is then covered by the
  // checks below, including bytes a lenient parser would skip.
  if (ToRecord(entry).SerializeAsString() != stored.value) {
    return "stored bytes are not the canonical encoding of the entry (altered)";
  }
  if (entry.seq != seq) return absl::StrCat("entry claims sequence number ", entry.seq);
  if (stored.meta.category != kCategoryAudit || stored.meta.time_micros != entry.time_micros) {
    return "record header (category or time) does not match the entry (altered)";
  }
  if (entry.prev_hash.size() != crypto::kSha256Size || entry.hash.size() != crypto::kSha256Size) {
    return "hash fields have the wrong size (altered)";
  }
  if (ComputeHash(entry) != entry.hash) {
    return "stored fields do not hash to the stored hash (altered)";
  }
  return "";
}

// The sequence number of the first audit record at or after `from` that the store cannot open
// (damaged envelope), found by descending through key prefixes: Scan stops at the first record
// it cannot open, so the first child prefix whose scan fails holds it. nullopt when none fails.
absl::StatusOr<std::optional<uint64_t>> FirstUnreadableSeq(storage::Store* store,
                                                           const storage::Snapshot* snapshot,
                                                           uint64_t from) {
  const std::string lower = storage::SequenceKey(from);
  std::string prefix;
  while (prefix.size() < lower.size()) {
    bool descended = false;
    for (int byte = 0; byte < 256 && !descended; ++byte) {
      std::string child = prefix;
      child.push_back(static_cast<char>(byte));
      if (child < lower.substr(0, child.size())) continue;  // wholly before `from`
      absl::Status s = store->Scan(Family::kAudit, child, {.snapshot = snapshot},
                                   [](absl::string_view, storage::Record) { return true; });
      if (s.ok()) continue;
      if (!absl::IsDataLoss(s)) return s;
      prefix = std::move(child);
      descended = true;
    }
    if (!descended) return std::nullopt;
  }
  return storage::ParseSequenceKey(prefix);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(storage::Store* store, Clock* clock) {
  std::unique_ptr<AuditLog> log(new AuditLog(store, clock ? clock : &store->clock()));
  CDP_RETURN_IF_ERROR(log->Reload());
  return log;
}

absl::Status AuditLog::Reload() {
  absl::MutexLock lock(&mu_);
  return ReloadLocked();
}

absl::Status AuditLog::ReloadLocked() {
  std::optional<AuditEntry> tail;
  absl::Status decode_status;
  CDP_RETURN_IF_ERROR(store_->Scan(
      Family::kAudit, "", {.reverse = true, .limit = 1},
      [&](absl::string_view key, storage::Record record) {
        absl::StatusOr<uint64_t> seq = storage::ParseSequenceKey(key);
        if (!seq.ok()) {
          decode_status = absl::DataLossError("last audit entry has a malformed key");
          return false;
        }
        absl::StatusOr<AuditEntry> entry = Decode(*seq, record.value);
        if (!entry.ok()) {
          decode_status = entry.status();
        } else if (entry->hash.size() != crypto::kSha256Size) {
          decode_status = absl::DataLossError(absl::StrCat("audit entry ", *seq, " has no hash"));
        } else {
          entry->seq = *seq;
          tail = *std::move(entry);
        }
        return false;
      }));
  CDP_RETURN_IF_ERROR(decode_status);
  // With no entry left (none written, or all expired) and no head, the chain starts afresh.
  last_seq_ = tail ? tail->seq : 0;
  last_hash_ = tail ? tail->hash : ZeroHash();
  last_time_micros_ = tail ? tail->time_micros : 0;

  // A signed head ahead of the stored entries (they were deleted, or all expired): continue
  // after it, so that deleted entries stay a gap Verify reports and never become the place where
  // the next entry goes. Problems with the head are Verify's to report, not a reason to refuse
  // the privileged writers that append here.
  absl::StatusOr<std::optional<AuditHeadState>> head = head_.Read();
  if (!head.ok()) {
    if (!absl::IsDataLoss(head.status())) return head.status();
    LogWarning("audit", absl::StrCat(head.status().message(),
                                     "; continuing after the newest stored entry ", last_seq_));
  } else if (!head->has_value()) {
    if (tail) {
      LogWarning("audit", absl::StrCat("audit log ends at entry ", last_seq_,
                                       " but has no signed head: newer entries may have been "
                                       "deleted; the next entry signs a head"));
    }
  } else if ((*head)->seq > last_seq_) {
    last_seq_ = (*head)->seq;
    last_hash_ = (*head)->hash;
    last_time_micros_ = std::max(last_time_micros_, (*head)->time_micros);
  } else if ((*head)->seq < last_seq_) {
    LogWarning("audit", absl::StrCat("audit entries after ", (*head)->seq,
                                     " are not covered by the signed head"));
  }
  return absl::OkStatus();
}

absl::StatusOr<AuditEntry> AuditLog::Append(storage::WriteBatch& batch, AuditEntry entry) {
  absl::MutexLock lock(&mu_);
  return AppendLocked(batch, std::move(entry));
}

absl::StatusOr<AuditEntry> AuditLog::Append(AuditEntry entry) {
  // The write happens under mu_, so that no later entry is stored before this one.
  absl::MutexLock lock(&mu_);
  storage::WriteBatch batch = store_->NewBatch();
  CDP_ASSIGN_OR_RETURN(AuditEntry appended, AppendLocked(batch, std::move(entry)));
  absl::Status written = store_->Write(batch);
  if (!written.ok()) {
    // The tail in memory names an entry that was never stored: re-read it. Should the reload
    // fail as well, the write error is still the one the caller needs to see.
    ReloadLocked().IgnoreError();
    return written;
  }
  return appended;
}

absl::StatusOr<AuditEntry> AuditLog::AppendLocked(storage::WriteBatch& batch, AuditEntry entry) {
  for (absl::string_view field :
       {entry.actor, entry.act, entry.target, entry.reason, entry.outcome, entry.detail}) {
    if (field.size() > kMaxFieldBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "audit entry field of ", field.size(), " bytes exceeds the limit of ", kMaxFieldBytes));
    }
  }
  entry.seq = last_seq_ + 1;
  entry.time_micros = std::max(clock_->NowMicros(), last_time_micros_);
  entry.prev_hash = last_hash_;
  entry.hash = ComputeHash(entry);
  CDP_RETURN_IF_ERROR(batch.Put(Family::kAudit, storage::SequenceKey(entry.seq),
                                {.category = kCategoryAudit, .time_micros = entry.time_micros},
                                ToRecord(entry).SerializeAsString()));
  head_.Put(batch, {.seq = entry.seq, .time_micros = entry.time_micros, .hash = entry.hash});
  last_seq_ = entry.seq;
  last_hash_ = entry.hash;
  last_time_micros_ = entry.time_micros;
  return entry;
}

absl::StatusOr<std::vector<AuditEntry>> AuditLog::List(const AuditQuery& query) {
  std::vector<AuditEntry> out;
  if (query.limit == 0) return out;
  absl::Status decode_status;
  CDP_RETURN_IF_ERROR(
      store_->Scan(Family::kAudit, "", {}, [&](absl::string_view key, storage::Record record) {
        absl::StatusOr<uint64_t> seq = storage::ParseSequenceKey(key);
        absl::StatusOr<AuditEntry> entry =
            seq.ok() ? Decode(*seq, record.value)
                     : absl::DataLossError("audit entry has a malformed key");
        if (!entry.ok()) {
          decode_status = entry.status();
          return false;
        }
        if (entry->time_micros >= query.to_micros) return false;  // times only grow
        if (entry->time_micros < query.from_micros) return true;
        if (!query.target.empty() && entry->target != query.target) return true;
        out.push_back(*std::move(entry));
        return out.size() < query.limit;
      }));
  CDP_RETURN_IF_ERROR(decode_status);
  return out;
}

absl::StatusOr<VerifyReport> AuditLog::Verify() {
  std::unique_ptr<storage::Snapshot> snapshot = store_->GetSnapshot();
  VerifyReport report;
  std::optional<uint64_t> prev_seq;
  std::string prev_hash;
  absl::Status key_status;
  auto broken = [&](uint64_t seq, std::string problem) {
    report.first_broken = seq;
    report.problem = std::move(problem);
    return false;
  };
  absl::Status scan_status = store_->Scan(
      Family::kAudit, "", {.snapshot = snapshot.get()},
      [&](absl::string_view key, storage::Record record) {
        absl::StatusOr<uint64_t> seq = storage::ParseSequenceKey(key);
        if (!seq.ok()) {
          key_status = absl::DataLossError("audit family holds a key that is not a sequence");
          return false;
        }
        ++report.entries;
        absl::StatusOr<AuditEntry> entry = Decode(*seq, record.value);
        if (!entry.ok()) return broken(*seq, "entry cannot be decoded (altered)");
        if (prev_seq && *seq != *prev_seq + 1) {
          const uint64_t first_missing = *prev_seq + 1;
          return broken(
              *seq, first_missing == *seq - 1
                        ? absl::StrCat("entry ", first_missing, " is missing (gap in the chain)")
                        : absl::StrCat("entries ", first_missing, " to ", *seq - 1,
                                       " are missing (gap in the chain)"));
        }
        if (std::string problem = CheckEntry(*seq, record, *entry); !problem.empty()) {
          return broken(*seq, std::move(problem));
        }
        if (prev_seq) {
          if (entry->prev_hash != prev_hash) {
            return broken(
                *seq, absl::StrCat("previous hash does not match the hash of entry ", *prev_seq));
          }
        } else if (*seq == 1 && entry->prev_hash != ZeroHash()) {
          return broken(*seq, "first entry's previous hash is not zero");
        }
        // Retention may have expired the oldest entries: a chain whose first remaining entry is
        // after seq 1 is anchored on that entry's stored previous hash, which is trusted. Only
        // the removal of a prefix of the log goes unnoticed this way; a gap inside it does not.
        prev_seq = *seq;
        prev_hash = std::move(entry->hash);
        return true;
      });
  CDP_RETURN_IF_ERROR(key_status);
  if (scan_status.ok() || !absl::IsDataLoss(scan_status) || report.first_broken) {
    CDP_RETURN_IF_ERROR(scan_status);
    CDP_RETURN_IF_ERROR(CheckHead(snapshot.get(), prev_seq, prev_hash, &report));
    return report;
  }
  // The store could not open the next record at all (its envelope is damaged): find which.
  CDP_ASSIGN_OR_RETURN(std::optional<uint64_t> unreadable,
                       FirstUnreadableSeq(store_, snapshot.get(), prev_seq ? *prev_seq + 1 : 0));
  if (!unreadable) return scan_status;
  ++report.entries;
  report.first_broken = *unreadable;
  report.problem = "stored record cannot be read: its envelope is damaged (altered)";
  return report;
}

absl::Status AuditLog::CheckHead(const storage::Snapshot* snapshot,
                                 std::optional<uint64_t> last_seq, const std::string& last_hash,
                                 VerifyReport* report) {
  const bool chain_ok = !report->first_broken.has_value();
  auto note = [&](std::string text) { report->notes.push_back(std::move(text)); };
  auto broken = [&](uint64_t seq, std::string problem) {
    note(problem);
    if (!chain_ok) return;
    report->first_broken = seq;
    report->problem = std::move(problem);
  };
  const uint64_t after_last = last_seq ? *last_seq + 1 : 1;
  absl::StatusOr<std::optional<AuditHeadState>> head = head_.Read(snapshot);
  if (!head.ok()) {
    if (!absl::IsDataLoss(head.status())) return head.status();
    broken(after_last, absl::StrCat(head.status().message(), ": the end of the chain cannot be ",
                                    "vouched for (newest entries may have been deleted)"));
    return absl::OkStatus();
  }
  if (!head->has_value()) {
    if (last_seq) {
      broken(after_last,
             absl::StrCat("signed audit head is missing: entries after ", *last_seq,
                          " may have been deleted (a log written before signed heads has none "
                          "until its next entry)"));
    } else {
      note("no entries and no signed head: the log is empty");
    }
    return absl::OkStatus();
  }
  const AuditHeadState& signed_head = **head;
  report->head_seq = signed_head.seq;
  report->head_hash = signed_head.hash;
  if (!chain_ok) {
    note(absl::StrCat("signed head names entry ", signed_head.seq));
    return absl::OkStatus();
  }
  if (last_seq && signed_head.seq == *last_seq) {
    if (signed_head.hash != last_hash) {
      broken(*last_seq, absl::StrCat("entry ", *last_seq,
                                     " does not match the signed head (rewritten after it)"));
    } else {
      note(absl::StrCat("chain ends with entry ", *last_seq, ", as the signed head says"));
    }
    return absl::OkStatus();
  }
  if (last_seq && signed_head.seq < *last_seq) {
    broken(signed_head.seq + 1,
           absl::StrCat("entries ", signed_head.seq + 1, " to ", *last_seq,
                        " are not covered by the signed head (added outside the audit log)"));
    return absl::OkStatus();
  }
  // The head is ahead of the chain. Entry times never decrease, so when the head's own entry
  // has expired, every entry has: an empty chain is then retention at work, not a deletion.
  const auto& retention = store_->options().retention;
  if (!last_seq && retention &&
      retention->IsExpired(Family::kAudit,
                           {.category = kCategoryAudit, .time_micros = signed_head.time_micros},
                           clock_->NowMicros())) {
    note(absl::StrCat("every entry up to ", signed_head.seq,
                      " (the signed head) has expired under the audit retention period"));
    return absl::OkStatus();
  }
  if (!last_seq) {
    broken(signed_head.seq, absl::StrCat("no entry remains, but the signed head names entry ",
                                         signed_head.seq, " (entries were deleted)"));
  } else if (after_last == signed_head.seq) {
    broken(after_last, absl::StrCat("entry ", after_last, " is missing at the end of the chain: "
                                    "the signed head names it (the newest entry was deleted)"));
  } else {
    broken(after_last,
           absl::StrCat("entries ", after_last, " to ", signed_head.seq,
                        " are missing at the end of the chain: the signed head names entry ",
                        signed_head.seq, " (the newest entries were deleted)"));
  }
  return absl::OkStatus();
}

}  // namespace cdp::consent
