#include "storage/group_commit.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace cdp::storage {

uint64_t GroupCommit::Written(const DbInstance& instance) {
  absl::MutexLock lock(&mu_);
  const uint64_t ticket = ++written_;
  if (instance.generation() != generation_) {
    // A new instance (the first, or one reopened after an I/O error: the old one is closed, so no
    // sync of it is running). What the old one had not synced is decided: lost.
    if (ticket - 1 > synced_) lost_.emplace_back(synced_ + 1, ticket - 1);
    synced_ = ticket - 1;
    generation_ = instance.generation();
    failure_ = absl::OkStatus();
  }
  return ticket;
}

bool GroupCommit::Lost(uint64_t ticket) const {
  return std::any_of(lost_.begin(), lost_.end(), [ticket](const auto& range) {
    return range.first <= ticket && ticket <= range.second;
  });
}

absl::Status GroupCommit::WaitDurable(uint64_t ticket, const DbInstance& instance) {
  mu_.Lock();
  while (true) {
    if (Lost(ticket) || (ticket > synced_ && instance.generation() != generation_)) {
      mu_.Unlock();
      return absl::UnavailableError(
          "the write was applied, but the database was reopened after an I/O error before it "
          "was synced: it may be lost; retry");
    }
    if (ticket <= synced_) {
      mu_.Unlock();
      return absl::OkStatus();
    }
    if (!failure_.ok()) {
      absl::Status failure = failure_;
      mu_.Unlock();
      return failure;
    }
    if (!syncing_) break;
    mu_.Await(absl::Condition(
        +[](bool* syncing) { return !*syncing; }, &syncing_));
  }
  // This caller syncs for everyone written so far.
  syncing_ = true;
  const uint64_t target = written_;
  mu_.Unlock();
  const rocksdb::Status s = instance.db()->SyncWAL();
  mu_.Lock();
  syncing_ = false;
  ++syncs_;
  if (instance.generation() == generation_) {
    if (s.ok()) {
      synced_ = std::max(synced_, target);
    } else if (failure_.ok()) {
      failure_ = absl::UnavailableError(absl::StrCat(
          "the write was applied, but the WAL sync that makes it durable failed (",
          s.ToString(), "): it may be lost; retry once the database has recovered"));
    }
  }
  mu_.Unlock();
  if (!s.ok()) db_->ReportLostSync(instance, s);
  // Decide this caller's ticket as everyone else's.
  return WaitDurable(ticket, instance);
}

uint64_t GroupCommit::writes() const {
  absl::MutexLock lock(&mu_);
  return written_;
}

uint64_t GroupCommit::syncs() const {
  absl::MutexLock lock(&mu_);
  return syncs_;
}

}  // namespace cdp::storage
