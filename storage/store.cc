#include "storage/store.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "rocksdb/utilities/checkpoint.h"
#include "storage/errors.h"
#include "storage/key_codec.h"
#include "storage/rocksdb_util.h"
#include "storage/store_impl.h"
#include "storage/write_order.h"

namespace cdp::storage {

std::string MetaRecordKey(absl::string_view name) { return absl::StrCat("record/", name); }

std::string SealAad(Family family, absl::string_view key, absl::string_view header) {
  std::string aad;
  aad.reserve(1 + key.size() + header.size());
  aad.push_back(static_cast<char>(family));
  aad.append(key.data(), key.size());
  aad.append(header.data(), header.size());
  return aad;
}

Store::Store(StoreOptions options, std::unique_ptr<Impl> impl)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &SystemClock::Default()),
      impl_(std::move(impl)) {}

Store::~Store() {
  vault_.reset();
  impl_.reset();
}

absl::Status Store::Write(WriteBatch& batch) {
  CDP_RETURN_IF_ERROR(Apply(batch, /*sync=*/true, nullptr));
  DestroyRetiredKeys(batch.retired_keys_);
  return absl::OkStatus();
}

absl::StatusOr<PendingWrite> Store::WriteVisible(WriteBatch& batch) {
  std::shared_ptr<const DbInstance> instance;
  CDP_RETURN_IF_ERROR(Apply(batch, /*sync=*/false, &instance));
  PendingWrite pending;
  pending.ticket_ = impl_->group_commit->Written(*instance);
  pending.instance_ = std::move(instance);
  // A merged-away profile's key goes only once the records moved from it are durable.
  pending.retired_keys_ = std::move(batch.retired_keys_);
  return pending;
}

absl::Status Store::WaitDurable(PendingWrite write) {
  if (write.instance_ == nullptr) return absl::InvalidArgumentError("not a pending write");
  CDP_RETURN_IF_ERROR(impl_->group_commit->WaitDurable(
      write.ticket_, *static_cast<const DbInstance*>(write.instance_.get())));
  DestroyRetiredKeys(write.retired_keys_);
  return absl::OkStatus();
}

absl::Status Store::Apply(WriteBatch& batch, bool sync,
                          std::shared_ptr<const DbInstance>* written_to) {
  if (batch.store_ != this) return absl::InvalidArgumentError("batch belongs to another store");
  if (!batch.destroyed_keys_.empty()) {
    CDP_RETURN_IF_ERROR(vault_->DestroyKeys(batch.destroyed_keys_));
  }
  if (!batch.new_keys_.empty()) {
    std::vector<std::pair<ProfileId, DataKey>> keys(batch.new_keys_.begin(),
                                                    batch.new_keys_.end());
    CDP_RETURN_IF_ERROR(vault_->PutKeys(keys));
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  std::optional<rocksdb::WriteBatch> ordered = OrderedByKey(*batch.batch_, *impl_->db->Current());
  rocksdb::WriteBatch* records = ordered ? &*ordered : batch.batch_.get();
  ResidentFamily* resident =
      batch.resident_changes_.empty() ? nullptr : impl_->resident_identifiers.get();
  if (resident) {
    // Held across the write and the apply: the copy applies batches in commit order.
    absl::MutexLock lock(&resident->write_mutex());
    absl::Status s = impl_->db->Write(write_options, records, "write failed", written_to);
    if (!s.ok()) {
      if (resident->enabled()) {
        resident->Disable();
        LogWarning("storage", "a write to the blind index failed: its in-memory copy is off and "
                              "index reads go to the database until the next start");
      }
      return s;
    }
    resident->Apply(batch.resident_changes_);
  } else {
    CDP_RETURN_IF_ERROR(impl_->db->Write(write_options, records, "write failed", written_to));
  }
  return absl::OkStatus();
}

void Store::DestroyRetiredKeys(const std::vector<ProfileId>& keys) {
  if (keys.empty()) return;
  // The records are durable: failing here leaves unused keys, not a failed write.
  if (absl::Status s = vault_->DestroyKeys(keys); !s.ok()) {
    LogWarning("storage", absl::StrCat("retired data keys not destroyed: ", s.ToString()));
  }
}

absl::StatusOr<size_t> Store::MoveRecordsOf(
    Family family, const ProfileId& from, WriteBatch& batch,
    absl::FunctionRef<absl::StatusOr<std::optional<ProfileId>>(const Record& record)>
        destination) {
  size_t moved = 0;
  absl::Status status;
  CDP_RETURN_IF_ERROR(Scan(family, ProfileKey(from), {}, [&](absl::string_view key, Record record) {
    absl::StatusOr<std::optional<ProfileId>> to = destination(record);
    if (!to.ok()) {
      status = to.status();
      return false;
    }
    if (!*to || **to == from) return true;
    status = batch.MoveToProfile(family, key, record, **to);
    moved += status.ok() ? 1 : 0;
    return status.ok();
  }));
  CDP_RETURN_IF_ERROR(status);
  return moved;
}

Snapshot::Snapshot(std::shared_ptr<const DbInstance> db)
    : db_(std::move(db)), snapshot_(db_->db()->GetSnapshot()) {}

Snapshot::~Snapshot() { db_->db()->ReleaseSnapshot(snapshot_); }

std::unique_ptr<Snapshot> Store::GetSnapshot() {
  return std::unique_ptr<Snapshot>(new Snapshot(impl_->db->Current()));
}

std::shared_ptr<const DbInstance> Store::ReadInstance(const Snapshot* snapshot) const {
  return snapshot ? snapshot->db_ : impl_->db->Current();
}


absl::Status Store::Checkpoint(const std::string& dir) {
  CDP_ASSIGN_OR_RETURN(std::shared_ptr<const DbInstance> db, impl_->db->Writable());
  rocksdb::Checkpoint* raw = nullptr;
  CDP_RETURN_IF_ERROR(
      ToAbsl(rocksdb::Checkpoint::Create(db->db(), &raw), "cannot start checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return ToAbsl(checkpoint->CreateCheckpoint(dir), absl::StrCat("checkpoint to ", dir, " failed"));
}

absl::Status Store::CompactRange(Family family, absl::string_view begin, absl::string_view end) {
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  rocksdb::Slice begin_slice = ToSlice(begin), end_slice = ToSlice(end);
  // CompactRange flushes the memtable first when it overlaps the range.
  CDP_ASSIGN_OR_RETURN(std::shared_ptr<const DbInstance> db, impl_->db->Writable());
  rocksdb::Status s = db->db()->CompactRange(compact, FamilyHandle(*db, family),
                                             begin.empty() ? nullptr : &begin_slice,
                                             end.empty() ? nullptr : &end_slice);
  impl_->db->ReportError(*db, s);
  return ToAbsl(s, absl::StrCat("compaction of ", FamilyName(family), " failed"));
}

absl::Status Store::CompactRanges(absl::Span<const Family> families, absl::string_view begin,
                                  absl::string_view end) {
  {
    CDP_ASSIGN_OR_RETURN(std::shared_ptr<const DbInstance> db, impl_->db->Writable());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    for (Family family : families) handles.push_back(FamilyHandle(*db, family));
    rocksdb::Status s = db->db()->Flush(rocksdb::FlushOptions(), handles);
    impl_->db->ReportError(*db, s);
    CDP_RETURN_IF_ERROR(ToAbsl(s, "flush failed"));
  }
  for (Family family : families) CDP_RETURN_IF_ERROR(CompactRange(family, begin, end));
  return absl::OkStatus();
}

absl::Status Store::CompactAll() {
  for (Family family : kAllFamilies) CDP_RETURN_IF_ERROR(CompactRange(family));
  // The default family holds only store meta, but its WAL share must go too.
  CDP_ASSIGN_OR_RETURN(std::shared_ptr<const DbInstance> db, impl_->db->Writable());
  rocksdb::Status s = db->db()->Flush(rocksdb::FlushOptions(), MetaHandle(*db));
  impl_->db->ReportError(*db, s);
  CDP_RETURN_IF_ERROR(ToAbsl(s, "flush failed"));
  return vault_->Purge();
}

SecureBytes Store::DeriveKey(absl::string_view purpose) const {
  return crypto::HkdfSha256(derivation_key_, "cdp.store.derived-key.v1", purpose);
}

absl::StatusOr<RotationReport> Store::RotateKeys() { return vault_->RotateKek(impl_->key_file); }

absl::StatusOr<StoreStats> Store::Stats() {
  StoreStats stats;
  const std::shared_ptr<const DbInstance> db = impl_->db->Current();
  for (Family family : kAllFamilies) {
    db->db()->GetIntProperty(FamilyHandle(*db, family), "rocksdb.estimate-num-keys",
                             &stats.estimated_keys[static_cast<size_t>(family)]);
  }
  db->db()->GetAggregatedIntProperty("rocksdb.live-sst-files-size", &stats.live_sst_bytes);
  db->db()->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &stats.memtable_bytes);
  stats.recovering = impl_->db->recovering() || vault_->recovering();
  stats.reopens = impl_->db->reopens() + vault_->reopens();
  stats.group_commit_syncs = impl_->group_commit->syncs();
  stats.group_commit_writes = impl_->group_commit->writes();
  const KeyVault::CacheStats keys = vault_->cache_stats();
  stats.data_key_cache_keys = keys.keys;
  stats.data_key_cache_capacity = keys.capacity;
  stats.data_key_vault_reads = keys.vault_reads;
  stats.block_cache_usage_bytes = impl_->block_cache->GetUsage();
  if (impl_->event_block_cache) {
    stats.block_cache_usage_bytes += impl_->event_block_cache->GetUsage();
  }
  if (const ResidentFamily* resident = impl_->resident_identifiers.get()) {
    stats.resident_index_enabled = resident->enabled();
    stats.resident_index_entries = resident->size();
    stats.resident_index_bytes = resident->memory_bytes();
  }
  return stats;
}

}  // namespace cdp::storage
