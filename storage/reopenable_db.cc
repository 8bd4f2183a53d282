#include "storage/reopenable_db.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "rocksdb/file_system.h"
#include "storage/rocksdb_util.h"

namespace cdp::storage {
namespace {

constexpr char kProbeFile[] = "/CDP-WRITE-PROBE";

// An error that only closing and reopening the database clears. A full disk is not one: RocksDB
// polls free space and resumes by itself.
bool NeedsReopen(rocksdb::DB* db, const rocksdb::Status& status) {
  if (!status.IsIOError() || status.IsNoSpace()) return false;
  if (status.severity() >= rocksdb::Status::Severity::kFatalError) return true;
  // A soft or hard error may clear with Resume(); a fatal one makes Resume() fail.
  return !db->Resume().ok();
}

}  // namespace

DbInstance::DbInstance(std::unique_ptr<rocksdb::DB> db,
                       std::vector<rocksdb::ColumnFamilyHandle*> handles, bool read_only,
                       uint64_t generation)
    : db_(std::move(db)),
      handles_(std::move(handles)),
      read_only_(read_only),
      generation_(generation) {}

DbInstance::~DbInstance() {
  // handles_[0] is DefaultColumnFamily(), owned by the DB.
  for (size_t i = 1; i < handles_.size(); ++i) {
    db_->DestroyColumnFamilyHandle(handles_[i]).PermitUncheckedError();
  }
  db_->Close().PermitUncheckedError();
}

absl::StatusOr<std::unique_ptr<ReopenableDb>> ReopenableDb::Open(ReopenableDbOptions options) {
  if (options.path.empty()) return absl::InvalidArgumentError("database path is empty");
  std::unique_ptr<ReopenableDb> db(new ReopenableDb(std::move(options), nullptr));
  CDP_ASSIGN_OR_RETURN(std::shared_ptr<const DbInstance> instance,
                       db->OpenInstance(/*read_only=*/false));
  db->SetCurrent(std::move(instance));
  return db;
}

ReopenableDb::ReopenableDb(ReopenableDbOptions options, std::shared_ptr<const DbInstance> instance)
    : options_(std::move(options)), current_(std::move(instance)) {}

ReopenableDb::~ReopenableDb() {
  std::thread recovery;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    recovery = std::move(recovery_);
  }
  changed_.notify_all();
  if (recovery.joinable()) recovery.join();
  SetCurrent(nullptr);
}

std::shared_ptr<const DbInstance> ReopenableDb::Current() const {
  std::lock_guard<std::mutex> lock(current_mu_);
  return current_;
}

void ReopenableDb::SetCurrent(std::shared_ptr<const DbInstance> instance) {
  {
    std::lock_guard<std::mutex> lock(current_mu_);
    current_.swap(instance);
  }
  // `instance` now holds the replaced one: closed here if nobody else holds it.
}

void ReopenableDb::InstanceClosed(uintptr_t instance) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (awaiting_close_ != instance) return;
    awaiting_close_ = 0;
  }
  changed_.notify_all();
}

absl::StatusOr<std::shared_ptr<const DbInstance>> ReopenableDb::OpenInstance(bool read_only) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      read_only ? rocksdb::DB::OpenForReadOnly(options_.db_options, options_.path,
                                               options_.families, &handles, &raw)
                : rocksdb::DB::Open(options_.db_options, options_.path, options_.families,
                                    &handles, &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  CDP_RETURN_IF_ERROR(ToAbsl(s, absl::StrCat("cannot open ", options_.name, " ", options_.path)));
  // Keep the DB's own default handle, which needs no destruction, in place of the returned one.
  db->DestroyColumnFamilyHandle(handles[0]).PermitUncheckedError();
  handles[0] = db->DefaultColumnFamily();
  // The deleter runs on the thread that releases the last reference, after every other holder's
  // release (the reference count orders them), and tells a waiting recovery thread.
  return std::shared_ptr<const DbInstance>(
      new DbInstance(std::move(db), std::move(handles), read_only, ++generations_),
      [this](const DbInstance* instance) {
        const auto id = reinterpret_cast<uintptr_t>(instance);
        delete instance;
        InstanceClosed(id);
      });
}

absl::StatusOr<std::shared_ptr<const DbInstance>> ReopenableDb::Writable() const {
  std::shared_ptr<const DbInstance> instance = Current();
  if (recovering_.load() || instance->read_only()) {
    return absl::UnavailableError(absl::StrCat(
        options_.name, " is recovering from an I/O error and refuses writes; retry later"));
  }
  return instance;
}

absl::Status ReopenableDb::Write(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* batch,
                                 absl::string_view context,
                                 std::shared_ptr<const DbInstance>* written_to) {
  CDP_ASSIGN_OR_RETURN(std::shared_ptr<const DbInstance> instance, Writable());
  rocksdb::Status s = instance->db()->Write(options, batch);
  if (!s.ok()) ReportError(*instance, s);
  if (s.ok() && written_to != nullptr) *written_to = std::move(instance);
  return ToAbsl(s, context);
}

void ReopenableDb::ReportError(const DbInstance& instance, const rocksdb::Status& status) {
  // An error of an instance already replaced says nothing about the current one.
  if (Current().get() != &instance || instance.read_only()) return;
  if (!NeedsReopen(instance.db(), status)) return;
  StartRecovery(status);
}

void ReopenableDb::ReportLostSync(const DbInstance& instance, const rocksdb::Status& status) {
  if (Current().get() != &instance || instance.read_only()) return;
  StartRecovery(status);
}

void ReopenableDb::StartRecovery(const rocksdb::Status& status) {
  if (recovering_.exchange(true)) return;
  LogWarning("storage", absl::StrCat(options_.name, " ", options_.path,
                                     ": I/O error the database cannot clear (", status.ToString(),
                                     "); refusing writes and reopening once the disk works"));
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  // A thread of an earlier recovery has finished (it cleared recovering_ as its last step).
  if (recovery_.joinable()) recovery_.join();
  recovery_ = std::thread([this] { Recover(); });
}

absl::Status ReopenableDb::Probe() const {
  const std::shared_ptr<rocksdb::FileSystem>& fs = options_.db_options.env->GetFileSystem();
  const std::string path = options_.path + kProbeFile;
  rocksdb::IOOptions io;
  std::unique_ptr<rocksdb::FSWritableFile> file;
  rocksdb::IOStatus s = fs->NewWritableFile(path, rocksdb::FileOptions(), &file, nullptr);
  if (s.ok()) s = file->Append("probe", io, nullptr);
  if (s.ok()) s = file->Fsync(io, nullptr);
  if (file) {
    rocksdb::IOStatus closed = file->Close(io, nullptr);
    if (s.ok()) s = closed;
  }
  fs->DeleteFile(path, io, nullptr).PermitUncheckedError();
  return ToAbsl(s, "write probe failed");
}

bool ReopenableDb::SleepUnlessStopping(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !changed_.wait_for(lock, d, [this] { return stopping_; });
}

void ReopenableDb::Recover() {
  const absl::Time started = absl::Now();
  std::chrono::milliseconds backoff = options_.initial_backoff;
  // Waits the current backoff and doubles it; false when stopping.
  auto back_off = [&] {
    const bool go_on = SleepUnlessStopping(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
    return go_on;
  };
  // Opens an instance and makes it current, retrying with backoff; false when stopping.
  auto swap_in = [&](bool read_only) {
    while (true) {
      absl::StatusOr<std::shared_ptr<const DbInstance>> instance = OpenInstance(read_only);
      if (instance.ok()) {
        SetCurrent(*std::move(instance));
        return true;
      }
      LogWarning("storage", instance.status().ToString());
      if (!back_off()) return false;
    }
  };
  while (!Probe().ok()) {
    if (!back_off()) return;
  }
  // Serve reads from a read-only instance while the broken one drains and is closed.
  const auto broken = reinterpret_cast<uintptr_t>(Current().get());
  {
    std::lock_guard<std::mutex> lock(mu_);
    awaiting_close_ = broken;
  }
  if (!swap_in(/*read_only=*/true)) return;
  // Two read-write instances of one directory cannot coexist: wait until in-flight calls,
  // snapshots and iterators on the broken one are gone and it is closed.
  {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return awaiting_close_ == 0 || stopping_; });
    if (stopping_) return;
  }
  if (!swap_in(/*read_only=*/false)) return;
  reopens_.fetch_add(1);
  recovering_.store(false);
  LogInfo("storage", absl::StrCat(options_.name, " ", options_.path, ": reopened after an I/O error",
                                  " in ", absl::ToInt64Milliseconds(absl::Now() - started),
                                  " ms; accepting writes again"));
}

}  // namespace cdp::storage
