#pragma once
// PowerLossFileSystem: a RocksDB FileSystemWrapper that can simulate a power loss. It tracks, per
// file written through it, the size reached by appends and the size at the last Sync/Fsync, and
// whether the file's directory was fsynced since the file was created. (RocksDB's own
// fault-injection file system is not installed by Debian.)
//
//   Crash()            from now on every write, sync, create, rename and delete fails, as if the
//                      machine had stopped (reads still work, so the database can be closed);
//   DropUnsyncedData() after the database is closed: truncates every tracked file to its last
//                      synced size, deletes files that were never synced and whose directory was
//                      not fsynced after they were created, forgets the tracking and lifts the
//                      crash, so the database can be reopened on what a disk would have kept.
//
// Simplifications (stricter models would only add losses RocksDB guards against by design):
// renames and deletions are durable at once, and a synced file survives even if its directory
// entry was never fsynced. Files that existed before the wrapper saw them are fully durable.
//
// Thread safety: all methods may be called concurrently.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "rocksdb/file_system.h"

namespace cdp::testing {

class PowerLossFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit PowerLossFileSystem(std::shared_ptr<rocksdb::FileSystem> target)
      : FileSystemWrapper(std::move(target)) {}
  const char* Name() const override { return "PowerLossFileSystem"; }

  void Crash() { crashed_.store(true); }
  // Crashes right after the n-th append from now has reached the file (n >= 1), so that the
  // crash lands between a write and its sync, wherever in the write path that is.
  void CrashAfterAppends(int64_t n) { appends_until_crash_.store(n); }
  // Crashes at the next append to a file whose path starts with `prefix`, before the bytes
  // reach it: a crash between two writes, e.g. after the key vault's write and before the
  // record database's.
  void CrashBeforeAppendUnder(std::string prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    crash_prefix_ = std::move(prefix);
  }
  // True (and crashed from now on) when an append to `fname` must not happen.
  bool CrashBefore(const std::string& fname);
  bool crashed() const { return crashed_.load(); }
  // Returns what it dropped: bytes cut from files and files deleted.
  struct Dropped {
    uint64_t bytes = 0;
    int files_truncated = 0;
    int files_deleted = 0;
  };
  absl::StatusOr<Dropped> DropUnsyncedData();

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname,
                                       const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& options,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;

  // Called by the wrapped files and directories.
  void Appended(const std::string& fname, uint64_t end_offset);
  void Synced(const std::string& fname);
  void DirectorySynced(const std::string& dir);

 private:
  struct FileState {
    uint64_t size = 0;         // bytes appended
    uint64_t synced_size = 0;  // size at the last Sync/Fsync
    bool ever_synced = false;
    bool entry_durable = false;  // the directory was fsynced after the file was created
  };
  rocksdb::IOStatus Track(const std::string& fname, rocksdb::IOStatus opened,
                          std::unique_ptr<rocksdb::FSWritableFile>* result, FileState state);

  std::atomic<bool> crashed_{false};
  std::atomic<int64_t> appends_until_crash_{0};  // 0: no crash armed
  std::mutex mu_;
  std::map<std::string, FileState> files_ ABSL_GUARDED_BY(mu_);
  std::string crash_prefix_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cdp::testing
