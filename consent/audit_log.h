#pragma once
// AuditLog: the append-only, hash-chained record of every privileged act (export, erase,
// unsuppress, consent change, unmerge, key rotation, configuration change, compliance lookups),
// with who, when, what, why and the outcome. Entries hold no personal data: the target is a
// profile id or a blind-index hash, never an identifier value.
//
// Chain: entry n stores hash(n-1) and its own hash = SHA-256 over a canonical encoding of all its
// fields including hash(n-1); the first entry's previous hash is 32 zero bytes. Verify walks the
// chain from the first entry and reports the first entry whose stored fields do not hash to its
// stored hash or whose previous hash does not match. Entries live in the audit family under
// their 64-bit sequence number (plain: no personal data, readable without keys).
//
// Head: each Append also writes, in the same batch, the signed audit head (consent/audit_head.h)
// naming the new entry. Verify then checks that the chain ends with the entry the head names, so
// deleting the newest entries (or the head) is reported as a broken chain. Open continues the
// chain after the head when the head is ahead of the stored entries, so that an append after a
// truncation does not paper over it: the missing entries stay a gap that Verify reports.
//
// Thread safety: safe for concurrent use. Append serializes on an internal mutex; an entry
// appended through a WriteBatch is visible once the caller writes the batch, and the caller must
// write it before the next Append (hold the store's profile_writer_mutex, as every privileged
// writer does, or use the Append that writes by itself).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "consent/audit_head.h"
#include "storage/store.h"

namespace cdp::consent {

struct AuditEntry {
  uint64_t seq = 0;             // assigned by Append, from 1
  int64_t time_micros = 0;      // assigned by Append
  std::string actor;            // token name or client certificate subject
  std::string act;              // "erase", "export", "unsuppress", "consent.set", "unmerge",
                                // "keys.rotate", "config.change", "context.lookup"...
  std::string target;           // profile id (hex) or blind-index hash (hex); may be empty
  std::string reason;           // ticket or free text given by the actor
  std::string outcome;          // "ok", "not_found", "denied", "error: <code>"...
  std::string detail;           // counts or ids (no personal data)
  std::string prev_hash;        // 32 bytes
  std::string hash;             // 32 bytes
};

struct AuditQuery {
  int64_t from_micros = 0;                // inclusive
  int64_t to_micros = INT64_MAX;          // exclusive
  std::string target;                     // empty = any
  size_t limit = 1000;
};

struct VerifyReport {
  uint64_t entries = 0;                   // entries checked
  std::optional<uint64_t> first_broken;   // seq of the first entry that does not verify, or of
                                          // the first one missing at the end of the chain
  std::string problem;                    // what is wrong with it
  std::optional<uint64_t> head_seq;       // the entry the signed head names, when it authenticates
  std::string head_hash;                  // that entry's hash (32 bytes), when it authenticates
  std::vector<std::string> notes;         // how the chain's end compares with the signed head
  bool ok() const { return !first_broken.has_value(); }
};

class AuditLog {
 public:
  // Reads the tail of the chain. kDataLoss if the last entry cannot be decoded.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(storage::Store* store,
                                                        Clock* clock = nullptr);

  // Adds `entry` (seq, time and hashes are filled in) to `batch`; returns the completed entry.
  // The caller must write the batch before the next Append (see the header comment); if the
  // write fails, call Reload().
  absl::StatusOr<AuditEntry> Append(storage::WriteBatch& batch, AuditEntry entry);
  // Appends and writes (synced) on its own.
  absl::StatusOr<AuditEntry> Append(AuditEntry entry);
  // Re-reads the chain tail (after a failed batch write).
  absl::Status Reload();

  absl::StatusOr<std::vector<AuditEntry>> List(const AuditQuery& query);
  absl::StatusOr<VerifyReport> Verify();

 private:
  AuditLog(storage::Store* store, Clock* clock) : store_(store), clock_(clock), head_(store) {}

  absl::StatusOr<AuditEntry> AppendLocked(storage::WriteBatch& batch, AuditEntry entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ReloadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Compares the end of a chain that verified (its last entry, if any) with the signed head as
  // of `snapshot`, filling the head fields, notes and (when they disagree) the broken point.
  absl::Status CheckHead(const storage::Snapshot* snapshot, std::optional<uint64_t> last_seq,
                         const std::string& last_hash, VerifyReport* report);

  storage::Store* store_;
  Clock* clock_;
  const AuditHead head_;
  absl::Mutex mu_;
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_hash_ ABSL_GUARDED_BY(mu_);
  // Entry times never go backwards along the chain (a clock step back reuses the last time), so
  // List can stop at the first entry past its range.
  int64_t last_time_micros_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cdp::consent
