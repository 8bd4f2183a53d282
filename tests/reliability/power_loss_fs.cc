#include "tests/reliability/power_loss_fs.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace cdp::testing {

namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

IOStatus Crashed() { return IOStatus::IOError("simulated power loss"); }

std::string ParentOf(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
  return parent;
}

class PowerLossWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  PowerLossWritableFile(std::unique_ptr<rocksdb::FSWritableFile> target, PowerLossFileSystem* fs,
                        std::string fname, uint64_t size)
      : FSWritableFileOwnerWrapper(std::move(target)),
        fs_(fs),
        fname_(std::move(fname)),
        size_(size) {}

  IOStatus Append(const Slice& data, const IOOptions& options, IODebugContext* dbg) override {
    if (fs_->crashed() || fs_->CrashBefore(fname_)) return Crashed();
    IOStatus s = FSWritableFileOwnerWrapper::Append(data, options, dbg);
    if (s.ok()) fs_->Appended(fname_, size_ += data.size());
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo& info, IODebugContext* dbg) override {
    if (fs_->crashed() || fs_->CrashBefore(fname_)) return Crashed();
    IOStatus s = FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    if (s.ok()) fs_->Appended(fname_, size_ += data.size());
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            IODebugContext* dbg) override {
    if (fs_->crashed()) return Crashed();
    IOStatus s = FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
    if (s.ok()) fs_->Appended(fname_, size_ = std::max(size_, offset + data.size()));
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            const rocksdb::DataVerificationInfo& info,
                            IODebugContext* dbg) override {
    if (fs_->crashed()) return Crashed();
    IOStatus s = FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, info, dbg);
    if (s.ok()) fs_->Appended(fname_, size_ = std::max(size_, offset + data.size()));
    return s;
  }
  IOStatus Truncate(uint64_t size, const IOOptions& options, IODebugContext* dbg) override {
    if (fs_->crashed()) return Crashed();
    IOStatus s = FSWritableFileOwnerWrapper::Truncate(size, options, dbg);
    if (s.ok()) fs_->Appended(fname_, size_ = size);
    return s;
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    if (fs_->crashed()) return Crashed();
    IOStatus s = FSWritableFileOwnerWrapper::Sync(options, dbg);
    if (s.ok()) fs_->Synced(fname_);
    return s;
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    if (fs_->crashed()) return Crashed();
    IOStatus s = FSWritableFileOwnerWrapper::Fsync(options, dbg);
    if (s.ok()) fs_->Synced(fname_);
    return s;
  }
  // RangeSync (sync_file_range) is not a durability barrier: it is not counted as a sync.
  IOStatus Close(const IOOptions& options, IODebugContext* dbg) override {
    if (fs_->crashed()) return Crashed();
    return FSWritableFileOwnerWrapper::Close(options, dbg);
  }

 private:
  PowerLossFileSystem* fs_;
  std::string fname_;
  uint64_t size_;
};

class PowerLossDirectory : public rocksdb::FSDirectoryWrapper {
 public:
  PowerLossDirectory(std::unique_ptr<rocksdb::FSDirectory> target, PowerLossFileSystem* fs,
                     std::string name)
      : FSDirectoryWrapper(std::move(target)), fs_(fs), name_(std::move(name)) {}

  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    if (fs_->crashed()) return Crashed();
    IOStatus s = FSDirectoryWrapper::Fsync(options, dbg);
    if (s.ok()) fs_->DirectorySynced(name_);
    return s;
  }
  IOStatus FsyncWithDirOptions(const IOOptions& options, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& dir_options) override {
    if (fs_->crashed()) return Crashed();
    IOStatus s = FSDirectoryWrapper::FsyncWithDirOptions(options, dbg, dir_options);
    if (s.ok()) fs_->DirectorySynced(name_);
    return s;
  }

 private:
  PowerLossFileSystem* fs_;
  std::string name_;
};

}  // namespace

IOStatus PowerLossFileSystem::Track(const std::string& fname, IOStatus opened,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    FileState state) {
  if (!opened.ok()) return opened;
  {
    std::lock_guard<std::mutex> lock(mu_);
    files_[fname] = state;
  }
  result->reset(new PowerLossWritableFile(std::move(*result), this, fname, state.size));
  return opened;
}

IOStatus PowerLossFileSystem::NewWritableFile(const std::string& fname,
                                              const rocksdb::FileOptions& options,
                                              std::unique_ptr<rocksdb::FSWritableFile>* result,
                                              IODebugContext* dbg) {
  if (crashed()) return Crashed();
  return Track(fname, target()->NewWritableFile(fname, options, result, dbg), result, {});
}

IOStatus PowerLossFileSystem::ReopenWritableFile(const std::string& fname,
                                                 const rocksdb::FileOptions& options,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                 IODebugContext* dbg) {
  if (crashed()) return Crashed();
  std::error_code error;
  const uint64_t existing =
      std::filesystem::exists(fname, error) ? std::filesystem::file_size(fname, error) : 0;
  FileState state{.size = existing,
                  .synced_size = existing,
                  .ever_synced = existing > 0,
                  .entry_durable = existing > 0};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = files_.find(fname); it != files_.end()) state = it->second;
  }
  return Track(fname, target()->ReopenWritableFile(fname, options, result, dbg), result, state);
}

IOStatus PowerLossFileSystem::ReuseWritableFile(const std::string& fname,
                                                const std::string& old_fname,
                                                const rocksdb::FileOptions& options,
                                                std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                IODebugContext* dbg) {
  if (crashed()) return Crashed();
  // A recycled log is renamed and then overwritten: model it as a new, empty file.
  {
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(old_fname);
  }
  return Track(fname, target()->ReuseWritableFile(fname, old_fname, options, result, dbg), result,
               {});
}

IOStatus PowerLossFileSystem::NewDirectory(const std::string& name, const IOOptions& options,
                                           std::unique_ptr<rocksdb::FSDirectory>* result,
                                           IODebugContext* dbg) {
  IOStatus s = target()->NewDirectory(name, options, result, dbg);
  if (!s.ok()) return s;
  std::string dir = name;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  result->reset(new PowerLossDirectory(std::move(*result), this, dir));
  return s;
}

IOStatus PowerLossFileSystem::RenameFile(const std::string& src, const std::string& target_name,
                                         const IOOptions& options, IODebugContext* dbg) {
  if (crashed()) return Crashed();
  IOStatus s = target()->RenameFile(src, target_name, options, dbg);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = files_.find(src); it != files_.end()) {
    FileState state = it->second;
    files_.erase(it);
    files_[target_name] = state;
  } else {
    files_.erase(target_name);
  }
  return s;
}

IOStatus PowerLossFileSystem::DeleteFile(const std::string& fname, const IOOptions& options,
                                         IODebugContext* dbg) {
  if (crashed()) return Crashed();
  IOStatus s = target()->DeleteFile(fname, options, dbg);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(fname);
  }
  return s;
}

void PowerLossFileSystem::Appended(const std::string& fname, uint64_t end_offset) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    files_[fname].size = end_offset;
  }
  int64_t left = appends_until_crash_.load();
  while (left > 0 && !appends_until_crash_.compare_exchange_weak(left, left - 1)) {
  }
  if (left == 1) crashed_.store(true);
}

bool PowerLossFileSystem::CrashBefore(const std::string& fname) {
  std::lock_guard<std::mutex> lock(mu_);
  if (crash_prefix_.empty() || !fname.starts_with(crash_prefix_)) return false;
  crash_prefix_.clear();
  crashed_.store(true);
  return true;
}

void PowerLossFileSystem::Synced(const std::string& fname) {
  std::lock_guard<std::mutex> lock(mu_);
  FileState& state = files_[fname];
  state.synced_size = state.size;
  state.ever_synced = true;
}

void PowerLossFileSystem::DirectorySynced(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, state] : files_) {
    if (ParentOf(name) == dir) state.entry_durable = true;
  }
}

absl::StatusOr<PowerLossFileSystem::Dropped> PowerLossFileSystem::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  Dropped dropped;
  for (const auto& [name, state] : files_) {
    std::error_code error;
    if (!std::filesystem::exists(name, error)) continue;
    const uint64_t on_disk = std::filesystem::file_size(name, error);
    if (error) return absl::InternalError(absl::StrCat("size of ", name, ": ", error.message()));
    if (!state.ever_synced && !state.entry_durable) {
      std::filesystem::remove(name, error);
      if (error) return absl::InternalError(absl::StrCat("remove ", name, ": ", error.message()));
      dropped.bytes += on_disk;
      ++dropped.files_deleted;
    } else if (on_disk > state.synced_size) {
      if (truncate(name.c_str(), static_cast<off_t>(state.synced_size)) != 0) {
        return absl::InternalError(absl::StrCat("truncate ", name, ": ", std::strerror(errno)));
      }
      dropped.bytes += on_disk - state.synced_size;
      ++dropped.files_truncated;
    }
  }
  files_.clear();
  crash_prefix_.clear();
  appends_until_crash_.store(0);
  crashed_.store(false);
  return dropped;
}

}  // namespace cdp::testing
