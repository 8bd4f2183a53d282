#pragma once
// The key vault: per-profile data keys (DEKs), wrapped by the key-encryption keys (KEKs) of the
// key file, in a RocksDB instance of their own beside the record database.
//
// Why a separate database: a checkpoint (backup) of the record database then holds no data keys,
// so once a person's key is destroyed here, their records in every earlier backup are unreadable
// too. Destroying a key is a synced delete followed (on Purge) by a flush and a forced compaction
// so the wrapped key leaves the vault's files.
//
// Like the record database, the vault recovers in place from an I/O error RocksDB cannot clear
// (reopenable_db.h): meanwhile its writes answer kUnavailable and its reads go on.
//
// Thread safety: all methods are safe for concurrent use. REQUIRES from callers: a profile's key
// is not created and destroyed concurrently (the identity layer serializes writers per profile).

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/profile_id.h"
#include "storage/data_key_cache.h"
#include "storage/key_file.h"

namespace rocksdb {
class Cache;
class Env;
class Slice;
class WriteBatch;
}  // namespace rocksdb

namespace cdp::storage {

class ReopenableDb;

struct KeyVaultOptions {
  std::string path;                    // directory of the vault's RocksDB; required
  size_t cache_capacity = 1'000'000;   // unwrapped data keys kept in memory (~240 B each)
  rocksdb::Env* env = nullptr;         // RocksDB environment; null = default (tests inject)
  Clock* clock = nullptr;              // null = SystemClock
  // Read the vault's files in place through memory maps (the store's StoreOptions::mmap_reads),
  // with no `block_cache`: a data key not in `cache_capacity` then costs no system call and no
  // copy. Otherwise blocks are copied into `block_cache`. Null: no block cache.
  bool mmap_reads = false;
  std::shared_ptr<rocksdb::Cache> block_cache;
};

struct RotationReport {
  uint32_t new_version = 0;
  uint64_t rewrapped = 0;
};

class KeyVault {
 public:
  // Opens or creates the vault and checks it against the key file's KEKs and the store id:
  // kFailedPrecondition when a KEK the vault was written with is missing from, or differs in,
  // the key file, or when the vault belongs to another store.
  static absl::StatusOr<std::unique_ptr<KeyVault>> Open(const KeyVaultOptions& options,
                                                        KeyMaterial keys, std::string store_id);
  ~KeyVault();

  // A fresh random data key (not yet stored).
  static DataKey NewKey();

  // Wraps and durably (synced) stores the keys, then caches them.
  absl::Status PutKeys(const std::vector<std::pair<ProfileId, DataKey>>& keys);

  // A new profile id whose fresh data key is already durably stored (and cached), so that
  // creating a profile writes nothing to the vault on the caller's path. The vault keeps a pool
  // of such keys and stores the next kKeyPoolRefill in one synced write when the pool runs dry.
  // A pooled key nobody takes (the server stopped first) stays in the vault unused, as a retired
  // key does until its profile's records are compacted away: harmless, it seals nothing.
  absl::StatusOr<ProfileId> TakePooledKey();
  // Gives back an id from TakePooledKey that no record and no write refers to (a profile created
  // and absorbed within one batch), for the next TakePooledKey.
  void ReturnPooledKey(const ProfileId& profile);
  static constexpr size_t kKeyPoolRefill = 1024;
  // Keys in the pool now (stored in the vault, no profile yet).
  size_t pooled_keys();

  // The profile's data key. ShreddedError when it was destroyed (or never created); kDataLoss
  // when the wrapped key does not authenticate; kFailedPrecondition when its KEK is unknown.
  absl::StatusOr<DataKey> GetKey(const ProfileId& profile);

  // Durably (synced) deletes the keys; from then on GetKey reports them shredded.
  absl::Status DestroyKeys(const std::vector<ProfileId>& profiles);

  // Flushes and compacts the vault so destroyed keys leave its files.
  absl::Status Purge();
  // The same for the key ranges of `profiles` only: cheap enough for every erasure.
  absl::Status PurgeKeys(const std::vector<ProfileId>& profiles);

  // Adds a new KEK version to the key file at `key_file_path`, then rewraps every data key under
  // it. Records are untouched. Safe to re-run after a crash: keys not yet rewrapped stay readable
  // under their old version.
  absl::StatusOr<RotationReport> RotateKek(const std::string& key_file_path);

  // Number of data keys per KEK version (for operations and tests).
  absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>> CountByKekVersion();

  // Whether the vault recovers from an I/O error now, and how often it was reopened.
  bool recovering() const;
  uint64_t reopens() const;

  // The data-key cache: keys it holds, its capacity, and the keys read from the vault because
  // the cache did not hold them since Open (a count that keeps rising in steady state means
  // the cache is smaller than the people being served).
  struct CacheStats {
    uint64_t keys = 0;
    uint64_t capacity = 0;
    uint64_t vault_reads = 0;
  };
  CacheStats cache_stats();

 private:
  KeyVault(const KeyVaultOptions& options, std::unique_ptr<ReopenableDb> db, KeyMaterial keys);
  absl::Status CheckAndRecordMeta(const std::string& store_id);
  absl::Status SyncedWrite(rocksdb::WriteBatch* batch, absl::string_view context);
  // Flushes the memtable once, then compacts each [begin, end) of `ranges` to the bottom level
  // (no ranges: everything).
  absl::Status FlushAndCompact(const std::vector<std::pair<std::string, std::string>>& ranges);
  absl::StatusOr<std::string> Wrap(const ProfileId& profile, const SecureBytes& dek);
  absl::StatusOr<DataKey> Unwrap(const ProfileId& profile, absl::string_view stored);

  KeyVaultOptions options_;
  Clock* clock_;
  std::unique_ptr<ReopenableDb> db_;
  DataKeyCache cache_;
  std::atomic<uint64_t> vault_reads_{0};
  absl::Mutex keys_mu_;
  KeyMaterial keys_ ABSL_GUARDED_BY(keys_mu_);
  absl::Mutex rotation_mu_;  // one rotation at a time
  absl::Mutex pool_mu_;
  std::vector<ProfileId> pool_ ABSL_GUARDED_BY(pool_mu_);  // durable keys nobody took yet
};

}  // namespace cdp::storage
