#pragma once
// GroupCommit: makes writes that were applied without a WAL sync durable, one fsync for many.
// Internal to storage/ (used by Store::WriteVisible and Store::WaitDurable).
//
// A writer that holds a lock while it reads and writes (the store's profile writers) writes with
// sync=false, which makes the batch visible at once, releases the lock, and then waits here.
// Whoever finds no sync running starts one (DB::SyncWAL), which covers every write made before
// it began; the writers that arrive meanwhile wait for it, or for the next one, instead of each
// paying an fsync under the lock. One sync per burst of concurrent writers is the group commit.
//
// Failure: a failed sync fails every write it covered and every later write on the same database
// instance, and is reported to the ReopenableDb, which reopens the database (its WAL on disk then
// says what survived). A write whose instance was replaced before a sync covered it fails too:
// it may not have survived. Failed writes answer kUnavailable; their callers retry (ingest is
// idempotent by messageId).
//
// Thread safety: all methods may be called concurrently.

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "storage/reopenable_db.h"

namespace cdp::storage {

class GroupCommit {
 public:
  // `db` reopens an instance whose sync failed; it must outlive this object.
  explicit GroupCommit(ReopenableDb* db) : db_(db) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Records a write that has just returned OK on `instance` without a sync; returns its ticket.
  uint64_t Written(const DbInstance& instance);

  // Returns OK once the write of `ticket` (made on `instance`) is durable: after a WAL sync that
  // began after the write, run by this caller when no sync is running, else by another one.
  // kUnavailable when that sync failed or the instance was replaced first.
  absl::Status WaitDurable(uint64_t ticket, const DbInstance& instance);

  // Writes recorded (Written) and WAL syncs run so far.
  uint64_t writes() const;
  uint64_t syncs() const;

 private:
  // Whether `ticket` lies in a range of writes that were lost or whose sync failed.
  bool Lost(uint64_t ticket) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  ReopenableDb* const db_;
  mutable absl::Mutex mu_;
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;  // the last ticket given
  uint64_t synced_ ABSL_GUARDED_BY(mu_) = 0;   // every ticket up to it is decided
  bool syncing_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t syncs_ ABSL_GUARDED_BY(mu_) = 0;
  // The instance the tickets after synced_ were written on (DbInstance::generation; 0: none yet).
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  // Set when a sync on that instance failed: its tickets after synced_ fail.
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  // Ticket ranges [first, last] that failed (rare: one per I/O error or reopen).
  std::vector<std::pair<uint64_t, uint64_t>> lost_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cdp::storage
