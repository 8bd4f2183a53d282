#include "storage/store.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "storage/key_codec.h"
#include "storage/retention_filter.h"
#include "storage/rocksdb_util.h"
#include "storage/storage.pb.h"
#include "storage/store_impl.h"

namespace cdp::storage {
namespace {

constexpr char kMetaKey[] = "meta";
constexpr uint32_t kFormatVersion = 1;

rocksdb::ColumnFamilyOptions FamilyOptions(Family family, const StoreOptions& options,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = options.write_buffer_bytes;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  if (IsProfilePrefixed(family)) {
    cf.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(ProfileId::kSize));
    cf.memtable_prefix_bloom_size_ratio = 0.02;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Sealed values are random bytes: compressing them only burns CPU.
  if (IsSealed(family)) cf.compression = rocksdb::kNoCompression;
  return cf;
}

}  // namespace

std::string MetaRecordKey(absl::string_view name) { return absl::StrCat("record/", name); }

std::string SealAad(Family family, absl::string_view key, absl::string_view header) {
  std::string aad;
  aad.reserve(1 + key.size() + header.size());
  aad.push_back(static_cast<char>(family));
  aad.append(key.data(), key.size());
  aad.append(header.data(), header.size());
  return aad;
}

Store::Impl::~Impl() {
  if (!db) return;
  for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  db->Close().PermitUncheckedError();
}

absl::Status StoreOptions::Validate() const {
  if (data_dir.empty()) return absl::InvalidArgumentError("storage.data_dir: must not be empty");
  if (block_cache_bytes < (size_t{1} << 20)) {
    return absl::InvalidArgumentError("storage.block_cache_bytes: must be at least 1 MiB");
  }
  if (write_buffer_bytes < (size_t{1} << 20)) {
    return absl::InvalidArgumentError("storage.write_buffer_bytes: must be at least 1 MiB");
  }
  if (data_key_cache_capacity < 16) {
    return absl::InvalidArgumentError("storage.data_key_cache_capacity: must be at least 16");
  }
  return absl::OkStatus();
}

Store::Store(StoreOptions options, std::unique_ptr<Impl> impl)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &SystemClock::Default()),
      impl_(std::move(impl)) {}

Store::~Store() {
  vault_.reset();
  impl_.reset();
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  CDP_RETURN_IF_ERROR(options.Validate());
  const std::string db_path = options.data_dir + "/db";
  const std::string vault_path = options.data_dir + "/keyvault";
  const std::string key_file =
      options.key_file.empty() ? options.data_dir + "/keys" : options.key_file;
  rocksdb::Env* env = options.env ? options.env : rocksdb::Env::Default();
  const bool db_exists = env->FileExists(db_path + "/CURRENT").ok();

  // Keys first: never create a fresh key file for a database written under another one.
  absl::StatusOr<KeyMaterial> keys = KeyFile::Load(key_file);
  if (absl::IsNotFound(keys.status())) {
    if (db_exists) {
      return absl::NotFoundError(absl::StrCat("key file ", key_file, " is missing but database ",
                                              db_path, " exists; restore the key file"));
    }
    if (!options.create_if_missing) {
      return absl::NotFoundError(absl::StrCat("no store at ", options.data_dir));
    }
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    std::filesystem::create_directories(std::filesystem::path(key_file).parent_path(), ec);
    keys = KeyFile::Create(key_file);
    if (keys.ok()) LogInfo("storage", absl::StrCat("created key file ", key_file));
  }
  CDP_RETURN_IF_ERROR(keys.status());
  if (!db_exists && !options.create_if_missing) {
    return absl::NotFoundError(absl::StrCat("no database at ", db_path));
  }

  auto impl = std::make_unique<Impl>();
  impl->key_file = key_file;
  impl->block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.keep_log_file_num = 5;
  if (options.env) db_options.env = options.env;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (Family family : kAllFamilies) {
    rocksdb::ColumnFamilyOptions cf = FamilyOptions(family, options, impl->block_cache);
    if (options.retention) {
      impl->filters.push_back(std::make_unique<RetentionFilter>(
          family, options.retention, options.clock ? options.clock : &SystemClock::Default()));
      cf.compaction_filter = impl->filters.back().get();
    }
    descriptors.emplace_back(std::string(FamilyName(family)), cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, db_path, descriptors, &handles, &raw);
  impl->db.reset(raw);
  CDP_RETURN_IF_ERROR(ToAbsl(s, absl::StrCat("cannot open database ", db_path)));
  impl->handles.assign(handles.begin() + 1, handles.end());
  // The default family's handle is owned by the DB; keep only the others for destruction.
  impl->db->DestroyColumnFamilyHandle(handles[0]).PermitUncheckedError();
  impl->meta_cf = impl->db->DefaultColumnFamily();

  // Tie the key file to the database: the index key fingerprint and a random store id.
  const std::string index_fingerprint = KeyFingerprint(keys->index_key);
  std::string stored;
  pb::StoreMeta meta;
  s = impl->db->Get(rocksdb::ReadOptions(), impl->meta_cf, kMetaKey, &stored);
  if (s.ok()) {
    if (!meta.ParseFromString(stored)) return absl::DataLossError("store meta is corrupt");
    if (meta.index_key_fingerprint() != index_fingerprint) {
      return absl::FailedPreconditionError(absl::StrCat(
          "key file ", key_file, " does not match database ", db_path, ": index key differs"));
    }
    if (meta.format_version() > kFormatVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database format version ", meta.format_version(), " is newer than this build"));
    }
  } else if (s.IsNotFound()) {
    meta.set_store_id(crypto::RandomBytes(16));
    meta.set_index_key_fingerprint(index_fingerprint);
    meta.set_format_version(kFormatVersion);
    meta.set_created_micros((options.clock ? options.clock : &SystemClock::Default())->NowMicros());
    rocksdb::WriteOptions sync;
    sync.sync = true;
    CDP_RETURN_IF_ERROR(ToAbsl(
        impl->db->Put(sync, impl->meta_cf, kMetaKey, meta.SerializeAsString()),
        "cannot write store meta"));
  } else {
    return ToAbsl(s, "cannot read store meta");
  }

  SecureBytes index_key = keys->index_key.Clone();
  KeyVaultOptions vault_options{.path = vault_path,
                                .cache_capacity = options.data_key_cache_capacity,
                                .env = options.env,
                                .clock = options.clock};
  CDP_ASSIGN_OR_RETURN(auto vault,
                       KeyVault::Open(vault_options, *std::move(keys), meta.store_id()));

  std::unique_ptr<Store> store(new Store(options, std::move(impl)));
  store->derivation_key_ = index_key.Clone();
  store->blind_index_ = std::make_unique<BlindIndex>(std::move(index_key));
  store->vault_ = std::move(vault);
  return store;
}

absl::Status Store::Write(WriteBatch& batch) {
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
  write_options.sync = true;
  CDP_RETURN_IF_ERROR(ToAbsl(impl_->db->Write(write_options, batch.batch_.get()), "write failed"));
  if (!batch.retired_keys_.empty()) {
    // The records are durable: failing here leaves unused keys, not a failed write.
    if (absl::Status s = vault_->DestroyKeys(batch.retired_keys_); !s.ok()) {
      LogWarning("storage", absl::StrCat("retired data keys not destroyed: ", s.ToString()));
    }
  }
  return absl::OkStatus();
}

Snapshot::~Snapshot() { store_->impl_->db->ReleaseSnapshot(snapshot_); }

std::unique_ptr<Snapshot> Store::GetSnapshot() {
  return std::unique_ptr<Snapshot>(new Snapshot(this, impl_->db->GetSnapshot()));
}

absl::Status Store::Checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  CDP_RETURN_IF_ERROR(
      ToAbsl(rocksdb::Checkpoint::Create(impl_->db.get(), &raw), "cannot start checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return ToAbsl(checkpoint->CreateCheckpoint(dir), absl::StrCat("checkpoint to ", dir, " failed"));
}

absl::Status Store::CompactRange(Family family, absl::string_view begin, absl::string_view end) {
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  rocksdb::Slice begin_slice = ToSlice(begin), end_slice = ToSlice(end);
  // CompactRange flushes the memtable first when it overlaps the range.
  return ToAbsl(impl_->db->CompactRange(compact, impl_->cf(family),
                                        begin.empty() ? nullptr : &begin_slice,
                                        end.empty() ? nullptr : &end_slice),
                absl::StrCat("compaction of ", FamilyName(family), " failed"));
}

absl::Status Store::CompactRanges(absl::Span<const Family> families, absl::string_view begin,
                                  absl::string_view end) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (Family family : families) handles.push_back(impl_->cf(family));
  CDP_RETURN_IF_ERROR(ToAbsl(impl_->db->Flush(rocksdb::FlushOptions(), handles), "flush failed"));
  for (Family family : families) CDP_RETURN_IF_ERROR(CompactRange(family, begin, end));
  return absl::OkStatus();
}

absl::Status Store::CompactAll() {
  for (Family family : kAllFamilies) CDP_RETURN_IF_ERROR(CompactRange(family));
  // The default family holds only store meta, but its WAL share must go too.
  CDP_RETURN_IF_ERROR(ToAbsl(impl_->db->Flush(rocksdb::FlushOptions(), impl_->meta_cf),
                             "flush failed"));
  return vault_->Purge();
}

SecureBytes Store::DeriveKey(absl::string_view purpose) const {
  return crypto::HkdfSha256(derivation_key_, "cdp.store.derived-key.v1", purpose);
}

absl::StatusOr<RotationReport> Store::RotateKeys() { return vault_->RotateKek(impl_->key_file); }

absl::StatusOr<StoreStats> Store::Stats() {
  StoreStats stats;
  for (Family family : kAllFamilies) {
    impl_->db->GetIntProperty(impl_->cf(family), "rocksdb.estimate-num-keys",
                              &stats.estimated_keys[static_cast<size_t>(family)]);
  }
  impl_->db->GetAggregatedIntProperty("rocksdb.live-sst-files-size", &stats.live_sst_bytes);
  impl_->db->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &stats.memtable_bytes);
  stats.block_cache_usage_bytes = impl_->block_cache->GetUsage();
  return stats;
}

}  // namespace cdp::storage
