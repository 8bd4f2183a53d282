#pragma once
// ReopenableDb: a RocksDB database that recovers in place from an I/O error that RocksDB itself
// cannot clear. Internal to storage/ (used by Store and KeyVault).
//
// Under paranoid_checks an EIO in the WAL write becomes a background error that DB::Resume()
// cannot clear: the DB refuses writes until it is closed and opened again. ReopenableDb owns the
// open database behind a shared pointer that it swaps under a small mutex. When a write fails
// that way it switches to recovering: writes answer kUnavailable at once, reads go on (from the broken
// database, then from a read-only instance), and a background thread probes the directory with
// a write + fsync + delete of a small file, backing off from 50 ms to 1 s. Once the probe
// succeeds it waits until nobody uses the broken instance (in-flight calls, snapshots), closes
// it, opens the database read-write again (same options and column families; the WAL replays
// every acknowledged, synced write) and swaps it in. A full disk (NoSpace) is left to RocksDB,
// which recovers from it by itself.
//
// Thread safety: all methods are safe for concurrent use. A DbInstance is immutable; holding its
// shared pointer keeps that database open (a long holder delays a reopen), and whoever releases
// the last reference to a replaced instance closes it. REQUIRES: every instance is released
// before the ReopenableDb is destroyed.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/base/thread_annotations.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"

namespace cdp::storage {

// One opened incarnation of the database and its column family handles.
class DbInstance {
 public:
  ~DbInstance();
  DbInstance(const DbInstance&) = delete;
  DbInstance& operator=(const DbInstance&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  // The handle of the i-th descriptor given to ReopenableDb::Open (0 = "default").
  rocksdb::ColumnFamilyHandle* handle(size_t i) const { return handles_[i]; }
  size_t handle_count() const { return handles_.size(); }
  bool read_only() const { return read_only_; }
  // Numbers the instances of one ReopenableDb in the order they were opened, from 1.
  uint64_t generation() const { return generation_; }

 private:
  friend class ReopenableDb;
  DbInstance(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
             bool read_only, uint64_t generation);
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // [0] is the DB's own default handle
  bool read_only_;
  uint64_t generation_;
};

struct ReopenableDbOptions {
  std::string path;  // the database directory; required
  rocksdb::DBOptions db_options;
  // Every column family of the database, "default" first.
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  // Named in log lines and errors ("database", "key vault").
  std::string name = "database";
  // Backoff between probes: starts at `initial_backoff`, doubles up to `max_backoff`.
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{1000};
};

class ReopenableDb {
 public:
  // Opens the database read-write. Errors are those of rocksdb::DB::Open, converted by ToAbsl.
  static absl::StatusOr<std::unique_ptr<ReopenableDb>> Open(ReopenableDbOptions options);
  // Stops the recovery thread and closes the database (callers have released every instance).
  ~ReopenableDb();

  // The current instance, for one operation or one snapshot. Never null.
  std::shared_ptr<const DbInstance> Current() const;

  // The current instance when it accepts writes; kUnavailable while recovering.
  absl::StatusOr<std::shared_ptr<const DbInstance>> Writable() const;

  // Writes the batch. kUnavailable while recovering; when the write fails with an I/O error
  // that the database cannot clear, starts recovery and returns the write's error (kUnavailable).
  // `written_to`, when set, receives the instance the batch went to (set only on OK).
  absl::Status Write(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* batch,
                     absl::string_view context,
                     std::shared_ptr<const DbInstance>* written_to = nullptr);

  // Reports a failed operation's status (e.g. of a Flush): starts recovery when needed.
  void ReportError(const DbInstance& instance, const rocksdb::Status& status);
  // Reports that a WAL sync failed after writes made without one were applied (GroupCommit):
  // the instance's memtables may hold what its WAL on disk lost, so it is reopened whatever the
  // error, once the disk works.
  void ReportLostSync(const DbInstance& instance, const rocksdb::Status& status);

  bool recovering() const { return recovering_.load(); }
  // Times the database was reopened read-write after an I/O error.
  uint64_t reopens() const { return reopens_.load(); }

 private:
  ReopenableDb(ReopenableDbOptions options, std::shared_ptr<const DbInstance> instance);
  // The instance's deleter closes it and reports that to the recovery thread.
  absl::StatusOr<std::shared_ptr<const DbInstance>> OpenInstance(bool read_only);
  // Makes `instance` current; the replaced one is released outside the lock.
  void SetCurrent(std::shared_ptr<const DbInstance> instance);
  void InstanceClosed(uintptr_t instance);
  // Refuses writes and starts the recovery thread (once; later calls do nothing until it ends).
  void StartRecovery(const rocksdb::Status& status);
  absl::Status Probe() const;
  void Recover();
  // Sleeps up to `d`; false when the destructor asked the thread to stop.
  bool SleepUnlessStopping(std::chrono::milliseconds d);

  const ReopenableDbOptions options_;
  // std::mutex (here and for mu_), where the rest of the code base uses absl::Mutex: instances
  // pass between threads here, and ThreadSanitizer sees a pthread mutex but not Debian's
  // uninstrumented Abseil (nor the lock inside GCC 12's std::atomic<std::shared_ptr>).
  mutable std::mutex current_mu_;
  std::shared_ptr<const DbInstance> current_ ABSL_GUARDED_BY(current_mu_);
  std::atomic<bool> recovering_{false};
  std::atomic<uint64_t> reopens_{0};
  std::atomic<uint64_t> generations_{0};

  std::mutex mu_;
  std::condition_variable changed_;  // stopping_ or awaiting_close_ changed
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread recovery_ ABSL_GUARDED_BY(mu_);
  // The replaced instance whose close the recovery thread awaits; 0 = none.
  uintptr_t awaiting_close_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cdp::storage
