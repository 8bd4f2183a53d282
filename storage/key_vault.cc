#include "storage/key_vault.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "storage/errors.h"
#include "storage/reopenable_db.h"
#include "storage/rocksdb_util.h"
#include "storage/storage.pb.h"

namespace cdp::storage {
namespace {

constexpr char kMetaKey[] = "meta";
constexpr size_t kRewrapBatch = 1000;

std::string WrapAad(const ProfileId& profile, uint32_t kek_version) {
  return absl::StrCat("cdp-dek v1|", profile.bytes(), "|", kek_version);
}

}  // namespace

KeyVault::KeyVault(const KeyVaultOptions& options, std::unique_ptr<ReopenableDb> db,
                   KeyMaterial keys)
    : options_(options),
      clock_(options.clock ? options.clock : &SystemClock::Default()),
      db_(std::move(db)),
      cache_(options.cache_capacity),
      keys_(std::move(keys)) {}

KeyVault::~KeyVault() = default;

bool KeyVault::recovering() const { return db_->recovering(); }
uint64_t KeyVault::reopens() const { return db_->reopens(); }

absl::Status KeyVault::SyncedWrite(rocksdb::WriteBatch* batch, absl::string_view context) {
  rocksdb::WriteOptions options;
  options.sync = true;
  return db_->Write(options, batch, context);
}

absl::Status KeyVault::FlushAndCompact(
    const std::vector<std::pair<std::string, std::string>>& ranges) {
  CDP_ASSIGN_OR_RETURN(std::shared_ptr<const DbInstance> db, db_->Writable());
  rocksdb::FlushOptions flush;
  flush.wait = true;
  rocksdb::Status s = db->db()->Flush(flush);
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  if (s.ok() && ranges.empty()) s = db->db()->CompactRange(compact, nullptr, nullptr);
  for (size_t i = 0; s.ok() && i < ranges.size(); ++i) {
    const rocksdb::Slice begin(ranges[i].first), end(ranges[i].second);
    s = db->db()->CompactRange(compact, &begin, &end);
  }
  db_->ReportError(*db, s);
  return ToAbsl(s, "cannot flush and compact key vault");
}

absl::StatusOr<std::unique_ptr<KeyVault>> KeyVault::Open(const KeyVaultOptions& options,
                                                         KeyMaterial keys, std::string store_id) {
  if (options.path.empty()) return absl::InvalidArgumentError("key vault path is empty");
  if (keys.keks.empty()) return absl::InvalidArgumentError("no key-encryption key");
  ReopenableDbOptions db_options{.path = options.path, .name = "key vault"};
  db_options.db_options.create_if_missing = true;
  db_options.db_options.paranoid_checks = true;
  db_options.db_options.max_background_jobs = 1;
  db_options.db_options.keep_log_file_num = 2;
  db_options.db_options.allow_mmap_reads = options.mmap_reads;
  if (options.env) db_options.db_options.env = options.env;
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 4 << 20;
  // Wrapped keys are random bytes: compression would only cost, and uncompressed blocks are what
  // mapped reads use in place. Every lookup of a profile whose key is not cached reads one key.
  cf.compression = rocksdb::kNoCompression;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(PointReadTableOptions(
      options.block_cache)));
  db_options.families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf);
  CDP_ASSIGN_OR_RETURN(std::unique_ptr<ReopenableDb> db, ReopenableDb::Open(std::move(db_options)));
  std::unique_ptr<KeyVault> vault(new KeyVault(options, std::move(db), std::move(keys)));
  CDP_RETURN_IF_ERROR(vault->CheckAndRecordMeta(store_id));
  return vault;
}

absl::Status KeyVault::CheckAndRecordMeta(const std::string& store_id) {
  std::string stored;
  rocksdb::Status s = db_->Current()->db()->Get(rocksdb::ReadOptions(), kMetaKey, &stored);
  pb::VaultMeta meta;
  if (s.ok()) {
    if (!meta.ParseFromString(stored)) return absl::DataLossError("key vault meta is corrupt");
    if (meta.store_id() != store_id) {
      return absl::FailedPreconditionError(
          "key vault belongs to another database (store id differs)");
    }
  } else if (s.IsNotFound()) {
    meta.set_store_id(store_id);
  } else {
    return ToAbsl(s, "cannot read key vault meta");
  }

  absl::MutexLock lock(&keys_mu_);
  std::map<uint32_t, std::string> recorded;
  for (const auto& kek : meta.keks()) recorded[kek.version()] = kek.fingerprint();
  for (const auto& [version, fingerprint] : recorded) {
    auto it = keys_.keks.find(version);
    if (it == keys_.keks.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "key file lacks key-encryption key version ", version, " that this store uses"));
    }
    if (KeyFingerprint(it->second) != fingerprint) {
      return absl::FailedPreconditionError(absl::StrCat(
          "key file does not match this store: key-encryption key version ", version,
          " differs from the one the data was written with"));
    }
  }
  bool changed = !s.ok();
  for (const auto& [version, kek] : keys_.keks) {
    if (recorded.contains(version)) continue;
    auto* entry = meta.add_keks();
    entry->set_version(version);
    entry->set_fingerprint(KeyFingerprint(kek));
    changed = true;
  }
  if (!changed) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  batch.Put(kMetaKey, meta.SerializeAsString()).PermitUncheckedError();
  return SyncedWrite(&batch, "cannot write key vault meta");
}

DataKey KeyVault::NewKey() { return std::make_shared<const SecureBytes>(crypto::RandomKey()); }

absl::StatusOr<std::string> KeyVault::Wrap(const ProfileId& profile, const SecureBytes& dek) {
  pb::WrappedDataKey wrapped;
  std::string sealed;
  {
    absl::ReaderMutexLock lock(&keys_mu_);
    const uint32_t version = keys_.active_kek_version();
    CDP_RETURN_IF_ERROR(crypto::AesGcmSeal(keys_.keks.at(version), WrapAad(profile, version),
                                           dek.view(), &sealed));
    wrapped.set_kek_version(version);
  }
  wrapped.set_sealed(std::move(sealed));
  wrapped.set_created_micros(clock_->NowMicros());
  return wrapped.SerializeAsString();
}

absl::StatusOr<DataKey> KeyVault::Unwrap(const ProfileId& profile, absl::string_view stored) {
  pb::WrappedDataKey wrapped;
  if (!wrapped.ParseFromArray(stored.data(), static_cast<int>(stored.size()))) {
    return absl::DataLossError(
        absl::StrCat("wrapped data key of profile ", profile.ToHex(), " is corrupt"));
  }
  std::string plain;
  {
    absl::ReaderMutexLock lock(&keys_mu_);
    auto it = keys_.keks.find(wrapped.kek_version());
    if (it == keys_.keks.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("data key of profile ", profile.ToHex(), " is wrapped under KEK version ",
                       wrapped.kek_version(), ", which the key file lacks"));
    }
    absl::Status s = crypto::AesGcmOpen(it->second, WrapAad(profile, wrapped.kek_version()),
                                        wrapped.sealed(), &plain);
    if (!s.ok()) {
      return absl::DataLossError(absl::StrCat("data key of profile ", profile.ToHex(),
                                              " does not unwrap: wrong key file or tampered vault"));
    }
  }
  auto key = std::make_shared<const SecureBytes>(plain);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (key->size() != crypto::kAes256KeySize) {
    return absl::DataLossError("unwrapped data key has the wrong size");
  }
  return key;
}

absl::Status KeyVault::PutKeys(const std::vector<std::pair<ProfileId, DataKey>>& keys) {
  if (keys.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  for (const auto& [profile, key] : keys) {
    CDP_ASSIGN_OR_RETURN(std::string wrapped, Wrap(profile, *key));
    batch.Put(ToSlice(profile.bytes()), wrapped);
  }
  CDP_RETURN_IF_ERROR(SyncedWrite(&batch, "cannot store data keys"));
  for (const auto& [profile, key] : keys) cache_.Put(profile, key);
  return absl::OkStatus();
}

absl::StatusOr<ProfileId> KeyVault::TakePooledKey() {
  absl::MutexLock lock(&pool_mu_);
  if (pool_.empty()) {
    std::vector<std::pair<ProfileId, DataKey>> keys;
    keys.reserve(kKeyPoolRefill);
    for (size_t i = 0; i < kKeyPoolRefill; ++i) keys.emplace_back(ProfileId::Random(), NewKey());
    CDP_RETURN_IF_ERROR(PutKeys(keys));
    for (const auto& entry : keys) pool_.push_back(entry.first);
  }
  const ProfileId profile = pool_.back();
  pool_.pop_back();
  return profile;
}

size_t KeyVault::pooled_keys() {
  absl::MutexLock lock(&pool_mu_);
  return pool_.size();
}

void KeyVault::ReturnPooledKey(const ProfileId& profile) {
  absl::MutexLock lock(&pool_mu_);
  pool_.push_back(profile);
}

absl::StatusOr<DataKey> KeyVault::GetKey(const ProfileId& profile) {
  DataKey key;
  switch (cache_.Get(profile, &key)) {
    case DataKeyCache::Lookup::kHit:
      return key;
    case DataKeyCache::Lookup::kDestroyed:
      return ShreddedError(profile);
    case DataKeyCache::Lookup::kMiss:
      break;
  }
  vault_reads_.fetch_add(1, std::memory_order_relaxed);
  std::string stored;
  rocksdb::Status s =
      db_->Current()->db()->Get(rocksdb::ReadOptions(), ToSlice(profile.bytes()), &stored);
  if (s.IsNotFound()) return ShreddedError(profile);
  CDP_RETURN_IF_ERROR(ToAbsl(s, "cannot read data key"));
  CDP_ASSIGN_OR_RETURN(key, Unwrap(profile, stored));
  cache_.InsertIfAbsent(profile, key);
  return key;
}

KeyVault::CacheStats KeyVault::cache_stats() {
  return {.keys = cache_.size(),
          .capacity = cache_.capacity(),
          .vault_reads = vault_reads_.load(std::memory_order_relaxed)};
}

absl::Status KeyVault::DestroyKeys(const std::vector<ProfileId>& profiles) {
  if (profiles.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  for (const ProfileId& profile : profiles) batch.Delete(ToSlice(profile.bytes()));
  // Tombstone first so no reader caches the key while the delete is in flight.
  for (const ProfileId& profile : profiles) cache_.MarkDestroyed(profile);
  return SyncedWrite(&batch, "cannot destroy data keys");
}

absl::Status KeyVault::Purge() { return FlushAndCompact({}); }

absl::Status KeyVault::PurgeKeys(const std::vector<ProfileId>& profiles) {
  if (profiles.empty()) return absl::OkStatus();
  std::vector<std::pair<std::string, std::string>> ranges;
  ranges.reserve(profiles.size());
  for (const ProfileId& profile : profiles) {
    std::string begin(profile.bytes().data(), profile.bytes().size());
    std::string end = begin + std::string(1, '\0');
    ranges.emplace_back(std::move(begin), std::move(end));
  }
  return FlushAndCompact(ranges);
}

absl::StatusOr<RotationReport> KeyVault::RotateKek(const std::string& key_file_path) {
  absl::MutexLock rotation(&rotation_mu_);
  RotationReport report;
  {
    absl::MutexLock lock(&keys_mu_);
    report.new_version = keys_.active_kek_version() + 1;
    KeyMaterial next;
    next.index_key = keys_.index_key.Clone();
    for (const auto& [version, kek] : keys_.keks) next.keks.emplace(version, kek.Clone());
    next.keks.emplace(report.new_version, crypto::RandomKey());
    // The key file first: a crash after this leaves a file with a version the vault has not yet
    // recorded, which Open accepts; the reverse order would lock the store out.
    CDP_RETURN_IF_ERROR(KeyFile::Save(key_file_path, next));
    keys_ = std::move(next);
  }
  // Store ids are checked at open; re-recording picks up the new fingerprint.
  const std::shared_ptr<const DbInstance> db = db_->Current();
  std::string stored;
  CDP_RETURN_IF_ERROR(ToAbsl(db->db()->Get(rocksdb::ReadOptions(), kMetaKey, &stored),
                             "cannot read key vault meta"));
  pb::VaultMeta meta;
  if (!meta.ParseFromString(stored)) return absl::DataLossError("key vault meta is corrupt");
  CDP_RETURN_IF_ERROR(CheckAndRecordMeta(meta.store_id()));

  std::unique_ptr<rocksdb::Iterator> it(db->db()->NewIterator(rocksdb::ReadOptions()));
  rocksdb::WriteBatch batch;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != ProfileId::kSize) continue;  // the meta record
    const ProfileId profile = ProfileId::FromBytes(ToView(it->key())).value();
    pb::WrappedDataKey wrapped;
    if (!wrapped.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("wrapped data key of profile ", profile.ToHex(), " is corrupt"));
    }
    if (wrapped.kek_version() == report.new_version) continue;
    CDP_ASSIGN_OR_RETURN(DataKey dek, Unwrap(profile, ToView(it->value())));
    CDP_ASSIGN_OR_RETURN(std::string rewrapped, Wrap(profile, *dek));
    batch.Put(it->key(), rewrapped);
    ++report.rewrapped;
    if (batch.Count() >= kRewrapBatch) {
      CDP_RETURN_IF_ERROR(SyncedWrite(&batch, "cannot rewrap data keys"));
      batch.Clear();
    }
  }
  CDP_RETURN_IF_ERROR(ToAbsl(it->status(), "cannot scan key vault"));
  CDP_RETURN_IF_ERROR(SyncedWrite(&batch, "cannot rewrap data keys"));
  LogInfo("storage", absl::StrCat("rotated key-encryption key to version ", report.new_version,
                                  ", rewrapped ", report.rewrapped, " data keys"));
  return report;
}

absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>> KeyVault::CountByKekVersion() {
  std::map<uint32_t, uint64_t> counts;
  const std::shared_ptr<const DbInstance> db = db_->Current();
  std::unique_ptr<rocksdb::Iterator> it(db->db()->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != ProfileId::kSize) continue;
    pb::WrappedDataKey wrapped;
    if (!wrapped.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("a wrapped data key is corrupt");
    }
    ++counts[wrapped.kek_version()];
  }
  CDP_RETURN_IF_ERROR(ToAbsl(it->status(), "cannot scan key vault"));
  return std::vector<std::pair<uint32_t, uint64_t>>(counts.begin(), counts.end());
}

}  // namespace cdp::storage
