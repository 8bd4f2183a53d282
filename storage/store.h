#pragma once
// Store: the one RocksDB database of a CDP server, with envelope encryption of personal data.
//
// Layout on disk (data_dir):
//   db/        RocksDB with one column family per storage::Family
//   keyvault/  RocksDB holding each profile's data key wrapped by the KEKs (see key_vault.h)
//   keys       the key file (index key and KEKs), unless StoreOptions::key_file names another
//
// Values of sealed families are sealed with AES-256-GCM under the data key of the profile that
// prefixes their key; callers pass and receive plaintext and cannot forget to encrypt. Every write
// is one atomic, synced WriteBatch (durable when Write returns OK, or, for a writer that holds a
// lock, when WaitDurable returns OK after WriteVisible: group commit). Reads go through an optional
// snapshot and never return records that the retention policy says have expired.
//
// Thread safety: Store is safe for concurrent use. A WriteBatch or Snapshot belongs to one thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/profile_id.h"
#include "common/secure_bytes.h"
#include "storage/blind_index.h"
#include "storage/dictionary_codec.h"
#include "storage/family.h"
#include "storage/key_vault.h"
#include "storage/record.h"
#include "storage/resident_family.h"
#include "storage/retention_hook.h"

namespace rocksdb {
class Env;
class WriteBatch;
class Snapshot;
}  // namespace rocksdb

namespace cdp::storage {

class DbInstance;

// Memory a cached data key takes (measured: 242 bytes per key for 1M keys with jemalloc: the
// cache's entry, its index slot, the shared key and the key's bytes), rounded up.
inline constexpr size_t kDataKeyCacheBytesPerKey = 256;
// The default capacity of the data-key cache: the keys a sixteenth of this machine's physical
// memory holds (6.1M keys, ~1.5 GiB at most, on 24 GiB), and at least 1,000,000. Memory is taken
// only as keys are cached, so a smaller store costs only what it uses.
size_t DefaultDataKeyCacheCapacity();

struct StoreOptions {
  // Directory holding db/, keyvault/ and (by default) the key file. Required.
  std::string data_dir;
  // Key file path; empty = data_dir + "/keys".
  std::string key_file;
  // Create the database, vault and key file when none exist. When false, a missing store is
  // kNotFound. An existing database whose key file is missing is always an error.
  bool create_if_missing = true;
  // RocksDB block cache budget, in bytes. Default 256 MiB.
  size_t block_cache_bytes = size_t{256} << 20;
  // Percent of block_cache_bytes in a cache of its own for the events family, 1..99; the rest is
  // one cache for every other family. Default 50 (see docs/architecture.md, Storage). Used only
  // when mmap_reads is off.
  uint32_t event_cache_percent = 50;
  // Read the sealed families (profiles, events, consent, merges, conversations) in place from
  // memory-mapped SST files, leaving their blocks to the OS page cache; block_cache_bytes then
  // caches only the other (compressed) families. Their values are random bytes, stored
  // uncompressed, so a mapped block needs no copy: a read costs no system call and no block
  // cache insert or eviction (docs/performance.md, "Sealed families read in place"). An I/O
  // error on a mapped page stops the process (SIGBUS) instead of failing the one read. Default on.
  bool mmap_reads = true;
  // Unwrapped data keys cached in memory, ~240 bytes each (kDataKeyCacheBytesPerKey rounds it
  // up). A profile whose key is not cached pays a vault read and an unwrap when it is next read
  // or written. Default DefaultDataKeyCacheCapacity(): enough for every profile of most stores.
  size_t data_key_cache_capacity = DefaultDataKeyCacheCapacity();
  // Memtable size per column family, in bytes. Default 32 MiB.
  size_t write_buffer_bytes = size_t{32} << 20;
  // Keep an exact copy of the blind index (the identifiers family) in memory, loaded at open,
  // so that reads of it without a snapshot cost no RocksDB read (see resident_family.h). Costs
  // about 110 bytes per indexed identifier and a scan of the family at open. Default on.
  bool resident_identifiers = true;
  // Retention policy consulted on reads and by compaction; null keeps everything.
  std::shared_ptr<const RetentionPolicy> retention;
  // RocksDB environment for both databases; null = the default (tests inject MemEnv or faults).
  rocksdb::Env* env = nullptr;
  // Clock for retention and timestamps; null = SystemClock.
  Clock* clock = nullptr;

  absl::Status Validate() const;
};

class Store;

// A group of writes applied atomically and durably by Store::Write.
class WriteBatch {
 public:
  explicit WriteBatch(Store* store);
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;

  // Writes `value` under `key`, sealed when the family is sealed. For sealed families the key
  // must start with a profile id whose data key exists or was created in this batch; otherwise
  // returns ShreddedError. kInvalidArgument when the key is shorter than a profile id.
  absl::Status Put(Family family, absl::string_view key, const RecordMeta& meta,
                   absl::string_view value);
  void Delete(Family family, absl::string_view key);
  // Moves `record`, stored under `key` (a profile-prefixed key), to the same key under profile
  // `to`: Put there (sealed under `to`'s data key), Delete here. For splits and merges.
  absl::Status MoveToProfile(Family family, absl::string_view key, const Record& record,
                             const ProfileId& to);
  // Deletes every key that starts with `prefix` (one range deletion). kInvalidArgument when
  // `prefix` is empty or longer than a profile id (see InsertHintExtractor in write_order.h).
  absl::Status DeletePrefix(Family family, absl::string_view prefix);

  // Writes (or deletes) the meta record `name`: a small plain value outside every family, for
  // state of the store's users that is no personal data (the signed audit head). Meta records
  // are not subject to retention and never sealed.
  void PutMeta(absl::string_view name, absl::string_view value);
  void DeleteMeta(absl::string_view name);

  // Creates a data key for a new profile. It is stored (synced) when the batch is written, before
  // the batch's records. kAlreadyExists when the batch already created one for the profile.
  absl::Status CreateDataKey(const ProfileId& profile);
  // Destroys the profile's data key when the batch is written, before the batch's records: the
  // erasure order (a crash in between leaves records nobody can read, never a readable person).
  void DestroyDataKey(const ProfileId& profile);
  // Destroys the profile's data key after the batch's records are written: for a profile whose
  // records the batch moves under another key (a merge). A crash in between leaves an unused
  // key, never records whose key is gone.
  void RetireDataKey(const ProfileId& profile);

  size_t count() const;
  size_t byte_size() const;

 private:
  friend class Store;
  // Whether the store keeps `family` resident, so this batch records its changes to it.
  bool IsResident(Family family) const;

  Store* store_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  absl::flat_hash_map<ProfileId, DataKey> new_keys_;
  // Keys of existing profiles this batch has sealed under: a batch writes several records per
  // profile, and this small map is cheaper than the store-wide cache.
  absl::flat_hash_map<ProfileId, DataKey> used_keys_;
  std::vector<ProfileId> destroyed_keys_;
  std::vector<ProfileId> retired_keys_;
  // This batch's changes to the store's resident family, in order (see ResidentFamily).
  std::vector<ResidentFamily::Change> resident_changes_;
};

// A consistent point-in-time view for reads; released on destruction. It keeps the database
// instance it was taken from open, so holding one for long delays a reopen after an I/O error
// (see Store::Write).
class Snapshot {
 public:
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

 private:
  friend class Store;
  explicit Snapshot(std::shared_ptr<const DbInstance> db);
  std::shared_ptr<const DbInstance> db_;
  const rocksdb::Snapshot* snapshot_;
};

struct ScanOptions {
  bool reverse = false;         // newest (largest key) first
  size_t limit = SIZE_MAX;      // records delivered at most
  const Snapshot* snapshot = nullptr;
  // For a reverse Scan (ScanMeta ignores it): how many records the caller expects under the
  // prefix (a count it keeps, such as a profile's event total), or 0 when it has no idea. When
  // the estimate is at most kMaxBufferedRecords, the scan reads the prefix forward into memory
  // and delivers it newest first, because RocksDB's reverse iteration costs more per record than
  // its forward iteration. Reading forward also reads the records the caller will not take, so
  // it pays only for a prefix of at most about twice the records the caller takes: pass 0 for a
  // longer one (docs/performance.md, "Newest first from a forward read"). Should the prefix hold
  // more than kMaxBufferedRecords after all, the scan goes on by reverse iteration: a wrong
  // estimate costs time, never records or their order. Values are opened only when delivered.
  size_t expected_records = 0;
  static constexpr size_t kMaxBufferedRecords = 64;
};

struct StoreStats {
  uint64_t estimated_keys[kFamilyCount] = {};
  uint64_t live_sst_bytes = 0;
  uint64_t memtable_bytes = 0;
  uint64_t block_cache_usage_bytes = 0;
  // True while the record database or the key vault recovers from an I/O error (writes refused).
  bool recovering = false;
  // Times they were reopened after an I/O error since Open.
  uint64_t reopens = 0;
  // The in-memory blind index (StoreOptions::resident_identifiers): whether it answers reads
  // (false when off, or after a failed write until the next open), its entries and memory.
  bool resident_index_enabled = false;
  uint64_t resident_index_entries = 0;
  uint64_t resident_index_bytes = 0;
  // WAL syncs run by WaitDurable, and the writes WriteVisible applied: the fewer syncs per write,
  // the more writers shared one (group commit).
  uint64_t group_commit_syncs = 0;
  uint64_t group_commit_writes = 0;
  // The data-key cache (StoreOptions::data_key_cache_capacity): keys held, capacity, and keys
  // read from the vault since Open because it did not hold them.
  uint64_t data_key_cache_keys = 0;
  uint64_t data_key_cache_capacity = 0;
  uint64_t data_key_vault_reads = 0;
};

// A batch WriteVisible applied: visible to readers, durable once Store::WaitDurable returns OK.
class PendingWrite {
 public:
  PendingWrite(PendingWrite&&) = default;
  PendingWrite& operator=(PendingWrite&&) = default;

 private:
  friend class Store;
  PendingWrite() = default;
  uint64_t ticket_ = 0;
  std::shared_ptr<const void> instance_;  // the database instance it went to
  std::vector<ProfileId> retired_keys_;   // destroyed once the write is durable
};

class Store {
 public:
  // Opens (or creates, per options) the store. Errors:
  //   kNotFound           key file missing (its path is named), or store missing and !create
  //   kInvalidArgument    options or key file malformed
  //   kFailedPrecondition key file or vault does not belong to this database
  //   kDataLoss           database corruption
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();

  WriteBatch NewBatch() { return WriteBatch(this); }
  // Applies the batch atomically with a synced WAL write; on OK every write is durable. New data
  // keys are stored first, destroyed ones are destroyed first. kResourceExhausted on a full disk
  // (RocksDB resumes by itself once space is freed). An I/O error that RocksDB cannot clear
  // (EIO in the WAL) fails the write with kUnavailable and starts a recovery in place: until the
  // database has been reopened, writes (and compactions, checkpoints) answer kUnavailable at
  // once while reads go on. No restart is needed.
  absl::Status Write(WriteBatch& batch);

  // Group commit for a writer that holds a lock while it reads and writes (the profile writers'
  // mutex): WriteVisible applies the batch as Write does but without syncing the WAL, so it is
  // visible at once and the writer can release its lock; WaitDurable, called after that, returns
  // OK once a WAL sync that began after the write has finished. Concurrent writers thereby share
  // one fsync instead of each paying one under the lock. Acknowledge nothing before WaitDurable
  // returns OK: until then a crash may take the batch away, although readers may have seen it
  // (and a later writer's WaitDurable covers it, since its sync comes after). Errors of
  // WriteVisible are those of Write; WaitDurable answers kUnavailable when the sync failed (the
  // database is then reopened, as after a failed Write) and the writer should retry.
  absl::StatusOr<PendingWrite> WriteVisible(WriteBatch& batch);
  absl::Status WaitDurable(PendingWrite write);

  std::unique_ptr<Snapshot> GetSnapshot();

  // The record, opened; nullopt when absent or expired. ShreddedError when the profile's data key
  // was destroyed; kDataLoss when the value was tampered with or moved.
  absl::StatusOr<std::optional<Record>> Get(Family family, absl::string_view key,
                                            const Snapshot* snapshot = nullptr);

  // Get for many keys of one family at once: one RocksDB MultiGet, whose sorted, batched
  // lookups cost much less per key than separate Gets. results[i] answers keys[i]; errors are
  // those of Get, and the first one fails the whole call.
  absl::StatusOr<std::vector<std::optional<Record>>> MultiGet(Family family,
                                                              absl::Span<const std::string> keys,
                                                              const Snapshot* snapshot = nullptr);

  // Calls `visit` for each unexpired record whose key starts with `prefix`, in key order (or
  // reverse), until it returns false or `limit` records were delivered. Stops at the first error.
  absl::Status Scan(Family family, absl::string_view prefix, const ScanOptions& options,
                    absl::FunctionRef<bool(absl::string_view key, Record record)> visit);

  // For a split: moves into `batch` (WriteBatch::MoveToProfile) every unexpired record of `from`
  // in `family` for which `destination` names another profile; nullopt (or `from`) keeps it.
  // Returns how many moved; the first error, of the scan or of `destination`, ends it.
  absl::StatusOr<size_t> MoveRecordsOf(
      Family family, const ProfileId& from, WriteBatch& batch,
      absl::FunctionRef<absl::StatusOr<std::optional<ProfileId>>(const Record& record)>
          destination);

  // Serializes the writers that change profile-prefixed records (identity resolution, merges,
  // unmerge, erasure, consent changes), so that a merge never races another change to a profile.
  // Readers do not take it.
  absl::Mutex& profile_writer_mutex() { return profile_writer_mu_; }

  // Like Scan, but delivers only each record's key and envelope header, without opening sealed
  // values (no data keys needed): for sweeps over many profiles. Expired records are skipped.
  absl::Status ScanMeta(Family family, absl::string_view prefix, const ScanOptions& options,
                        absl::FunctionRef<bool(absl::string_view key, const RecordMeta& meta)> visit);

  // Calls `visit` with each key of `family` that starts with one of `prefixes` (sorted, ascending),
  // in key order, until it returns false. Reads keys only: no value is parsed or opened, so no
  // data key is needed, and retention is not consulted (expired records not yet compacted away
  // are delivered too). One iterator serves all prefixes. kInvalidArgument when `prefixes` are
  // not sorted.
  absl::Status ScanKeysWithPrefixes(Family family, absl::Span<const std::string> prefixes,
                                    const Snapshot* snapshot,
                                    absl::FunctionRef<bool(absl::string_view key)> visit);
  // Like ScanKeysWithPrefixes, but for whole records: `visit` gets the index of the prefix the
  // key starts with, the key, and the record opened, or nullopt when the retention policy says it
  // has expired (its key stays until compaction removes it). For moving many profiles' records
  // in one pass (merges). Errors: those of Scan, and kInvalidArgument for unsorted `prefixes`.
  absl::Status ScanWithPrefixes(
      Family family, absl::Span<const std::string> prefixes, const Snapshot* snapshot,
      absl::FunctionRef<bool(size_t prefix_index, absl::string_view key,
                             std::optional<Record> record)>
          visit);
  // For each of `prefixes` (sorted, ascending, none a prefix of another), how many keys of
  // `family` start with it, counted up to `limit` (a prefix with more counts as `limit`). Keys
  // only, as ScanKeysWithPrefixes, with one iterator for all prefixes: many small counts cost one
  // iterator, not one each. kInvalidArgument when `prefixes` are not sorted.
  absl::StatusOr<std::vector<uint64_t>> CountKeysWithPrefixes(
      Family family, absl::Span<const std::string> prefixes, uint64_t limit,
      const Snapshot* snapshot = nullptr);

  // The meta record `name` (see WriteBatch::PutMeta) as of `snapshot` (null = latest); nullopt
  // when absent.
  absl::StatusOr<std::optional<std::string>> GetMeta(absl::string_view name,
                                                     const Snapshot* snapshot = nullptr);

  // A 256-bit key for `purpose`, derived with HKDF-SHA256 from the key file's index key (which,
  // unlike the KEKs, never rotates): the same purpose gives the same key for as long as the key
  // file is the store's. For MACs over non-personal state (the audit head); never stored.
  SecureBytes DeriveKey(absl::string_view purpose) const;

  // Value compression with dictionaries trained on this store's data (dictionary_codec.h): the
  // codec holds every dictionary the store has recorded, loaded at open.
  const DictionaryCodec& codec() const { return codec_; }
  // Durably records `content` as the next dictionary (sealed, in a meta record; see
  // DictionaryCodec for what it may hold) and then makes it the one Compress uses. Returns its
  // id. Concurrent calls serialize. kInvalidArgument as DictionaryCodec::Add.
  absl::StatusOr<uint32_t> AddDictionary(std::string content);
  // The compression ratio (plain / compressed bytes) dictionary `id` reached on the first values
  // it compressed, as recorded by RecordDictionaryRatio: what later values are compared with to
  // tell when the dictionary has fallen behind the data (ingest/compression_watch.h), kept so a
  // restart does not take a later, worse ratio as the dictionary's own. 0 when none was recorded.
  double DictionaryFirstRatio(uint32_t id) const;
  // Durably records `ratio` for dictionary `id`. kInvalidArgument for an id the codec does not
  // hold or a ratio that is not positive. Concurrent calls serialize with AddDictionary.
  absl::Status RecordDictionaryRatio(uint32_t id, double ratio);

  const BlindIndex& blind_index() const { return *blind_index_; }
  KeyVault& key_vault() { return *vault_; }
  const StoreOptions& options() const { return options_; }
  Clock& clock() const { return *clock_; }

  // Writes a consistent copy of the record database to `dir` (which must not exist), online.
  // The copy holds no data keys: restoring it needs this store's key vault and key file, and a
  // person erased after the copy was taken stays unreadable in it.
  absl::Status Checkpoint(const std::string& dir);

  // Compacts the key range [begin, end) of a family to the bottom level (empty = unbounded),
  // so deleted and expired records leave the files.
  absl::Status CompactRange(Family family, absl::string_view begin = {}, absl::string_view end = {});
  // The same for one key range in several families, with a single flush of their memtables.
  absl::Status CompactRanges(absl::Span<const Family> families, absl::string_view begin,
                             absl::string_view end);
  // Flushes memtables and compacts every family.
  absl::Status CompactAll();

  // Adds a new KEK version to the key file and rewraps every data key under it.
  absl::StatusOr<RotationReport> RotateKeys();

  absl::StatusOr<StoreStats> Stats();

 private:
  friend class WriteBatch;
  friend class Snapshot;
  struct Impl;
  Store(StoreOptions options, std::unique_ptr<Impl> impl);
  // The database instance a read uses: the snapshot's, else the current one.
  std::shared_ptr<const DbInstance> ReadInstance(const Snapshot* snapshot) const;

  // What a keys-only visitor wants next.
  enum class KeyVisit { kNext, kNextPrefix, kStop };
  // The loop of ScanKeysWithPrefixes, ScanWithPrefixes and CountKeysWithPrefixes: `visit` gets
  // the index of the prefix the key starts with, the key and the stored value (not opened).
  absl::Status VisitWithPrefixes(
      Family family, absl::Span<const std::string> prefixes, const Snapshot* snapshot,
      absl::FunctionRef<KeyVisit(size_t prefix_index, absl::string_view key,
                                 absl::string_view value)>
          visit);

  // The resident copy of `family` when reads of it without `snapshot` may use one, else null.
  const ResidentFamily* ResidentFor(Family family, const Snapshot* snapshot) const;

  absl::StatusOr<std::optional<Record>> OpenValue(Family family, absl::string_view key,
                                                  absl::string_view value, DataKey* cached_key,
                                                  ProfileId* cached_profile);
  absl::StatusOr<std::string> Seal(Family family, absl::string_view key, const RecordMeta& meta,
                                   absl::string_view value, const DataKey& key_for_batch);

  // Loads the recorded dictionaries into codec_ and dictionary_info_ (at open).
  absl::Status LoadDictionaries();
  struct DictionaryInfo {
    int64_t created_micros = 0;
    double first_ratio = 0;
  };
  // Seals and durably writes the dictionaries record: dictionary i + 1 with info[i], its content
  // from the codec, or `added` for the one the codec does not hold yet (AddDictionary).
  absl::Status WriteDictionaries(const std::vector<DictionaryInfo>& info, absl::string_view added)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(dictionaries_mu_);

  // Write and WriteVisible: stores new keys, destroys destroyed ones, applies the records.
  absl::Status Apply(WriteBatch& batch, bool sync, std::shared_ptr<const DbInstance>* written_to);
  // Destroys keys retired by a durable write (a failure is logged: it leaves unused keys).
  void DestroyRetiredKeys(const std::vector<ProfileId>& keys);

  StoreOptions options_;
  Clock* clock_;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<BlindIndex> blind_index_;
  SecureBytes derivation_key_;  // the index key, input of DeriveKey
  std::unique_ptr<KeyVault> vault_;
  absl::Mutex profile_writer_mu_;
  mutable absl::Mutex dictionaries_mu_;  // serializes changes of the dictionaries record
  // What the record holds beside the contents (which the codec holds); element i is dictionary
  // i + 1.
  std::vector<DictionaryInfo> dictionary_info_ ABSL_GUARDED_BY(dictionaries_mu_);
  DictionaryCodec codec_;
};

}  // namespace cdp::storage
