// Store::Open: options, key file, record database, store meta and key vault.

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/proc_status.h"
#include "common/status_macros.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "storage/key_codec.h"
#include "storage/retention_filter.h"
#include "storage/rocksdb_util.h"
#include "storage/storage.pb.h"
#include "storage/store.h"
#include "storage/store_impl.h"
#include "storage/write_order.h"

namespace cdp::storage {
namespace {

constexpr char kMetaKey[] = "meta";
constexpr uint32_t kFormatVersion = 1;

// `cache` null: the family's blocks bypass the block cache.
rocksdb::ColumnFamilyOptions FamilyOptions(Family family, const StoreOptions& options,
                                           std::shared_ptr<rocksdb::Cache> cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = options.write_buffer_bytes;
  // Point lookups (index entries, nodes, profile data, dedup checks) dominate reads.
  rocksdb::BlockBasedTableOptions table = PointReadTableOptions(std::move(cache));
  // Point lookups mostly miss the memtable (dedup and suppression checks, index entries of
  // known identifiers, nodes and profile data written by earlier calls): a whole-key bloom filter
  // answers those without descending the skip list. Profile-prefixed families add the prefix,
  // which prefix scans use.
  cf.memtable_whole_key_filtering = true;
  cf.memtable_prefix_bloom_size_ratio = 0.02;
  if (IsProfilePrefixed(family)) {
    cf.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(ProfileId::kSize));
  }
  // Store::Write hands each batch to RocksDB ordered by family and key (storage/write_order.h):
  // with one insert hint per memtable, each insert starts from where the previous one ended.
  cf.memtable_insert_with_hint_prefix_extractor = InsertHintExtractor();
  // A lookup reads a person's newest events (~20 of ~1 KB, adjacent keys) in one scan: in 16 KiB
  // blocks that is 1-2 block reads instead of 5-6 when the blocks are not cached, which halved the
  // wall time of uncached lookups (docs/performance.md); cached scans cost the same.
  if (family == Family::kEvents) table.block_size = 16 << 10;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Sealed values are random bytes: compressing them only burns CPU.
  if (IsSealed(family)) cf.compression = rocksdb::kNoCompression;
  return cf;
}

// Ties the key file to the database: the index key fingerprint and a random store id. Returns
// the store meta, recorded now when the database is new.
absl::StatusOr<pb::StoreMeta> CheckStoreMeta(const DbInstance& db, const KeyMaterial& keys,
                                             const std::string& key_file,
                                             const std::string& db_path, Clock& clock) {
  const std::string index_fingerprint = KeyFingerprint(keys.index_key);
  std::string stored;
  pb::StoreMeta meta;
  rocksdb::Status s = db.db()->Get(rocksdb::ReadOptions(), MetaHandle(db), kMetaKey, &stored);
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
    return meta;
  }
  if (!s.IsNotFound()) return ToAbsl(s, "cannot read store meta");
  meta.set_store_id(crypto::RandomBytes(16));
  meta.set_index_key_fingerprint(index_fingerprint);
  meta.set_format_version(kFormatVersion);
  meta.set_created_micros(clock.NowMicros());
  rocksdb::WriteOptions sync;
  sync.sync = true;
  CDP_RETURN_IF_ERROR(ToAbsl(db.db()->Put(sync, MetaHandle(db), kMetaKey, meta.SerializeAsString()),
                             "cannot write store meta"));
  return meta;
}

// Loads the copy of the identifiers family that reads use instead of the database (see
// StoreOptions::resident_identifiers), from a scan that bypasses the block cache.
absl::StatusOr<std::unique_ptr<ResidentFamily>> LoadResidentIdentifiers(const DbInstance& db) {
  const auto start = std::chrono::steady_clock::now();
  auto resident = std::make_unique<ResidentFamily>();
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  read_options.readahead_size = size_t{2} << 20;
  std::unique_ptr<rocksdb::Iterator> it(
      db.db()->NewIterator(read_options, FamilyHandle(db, Family::kIdentifiers)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!resident->Load(ToView(it->key()), ToView(it->value()))) {
      LogWarning("storage", "the blind index holds a record the in-memory copy cannot: index "
                            "reads go to the database");
      return resident;
    }
  }
  CDP_RETURN_IF_ERROR(ToAbsl(it->status(), "cannot load the blind index"));
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  LogInfo("storage", absl::StrFormat("loaded the blind index into memory: %d entries, %.0f MiB, "
                                     "in %.1f s",
                                     resident->size(),
                                     static_cast<double>(resident->memory_bytes()) / (1 << 20),
                                     took.count()));
  return resident;
}

}  // namespace

size_t DefaultDataKeyCacheCapacity() {
  constexpr uint64_t kFloor = 1'000'000;
  return static_cast<size_t>(
      std::max(kFloor, PhysicalMemoryBytes() / 16 / kDataKeyCacheBytesPerKey));
}

absl::Status StoreOptions::Validate() const {
  if (data_dir.empty()) return absl::InvalidArgumentError("storage.data_dir: must not be empty");
  if (block_cache_bytes < (size_t{1} << 20)) {
    return absl::InvalidArgumentError("storage.block_cache_bytes: must be at least 1 MiB");
  }
  if (write_buffer_bytes < (size_t{1} << 20)) {
    return absl::InvalidArgumentError("storage.write_buffer_bytes: must be at least 1 MiB");
  }
  if (event_cache_percent < 1 || event_cache_percent > 99) {
    return absl::InvalidArgumentError("storage.event_cache_percent: must be in 1..99");
  }
  if (data_key_cache_capacity < 16) {
    return absl::InvalidArgumentError("storage.data_key_cache_capacity: must be at least 16");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  CDP_RETURN_IF_ERROR(options.Validate());
  const std::string db_path = options.data_dir + "/db";
  const std::string vault_path = options.data_dir + "/keyvault";
  const std::string key_file =
      options.key_file.empty() ? options.data_dir + "/keys" : options.key_file;
  rocksdb::Env* env = options.env ? options.env : rocksdb::Env::Default();
  Clock& clock = options.clock ? *options.clock : SystemClock::Default();
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
  // Every lookup reads one index entry, one identity node, one profile data record and a few
  // consent and conversation records (point reads of small records, a few GiB at 1M people) and
  // ~20 events (most of the bytes). In one LRU cache the events' blocks push the others out
  // under uniform access, and a lookup then misses on five families instead of one. So the
  // events get a cache of their own (by default half the budget) and the small families, which
  // a lookup reads ~6x more densely per byte, keep theirs.
  // With mapped reads the sealed families need no block cache: RocksDB caches only blocks it
  // copied, and a block of an uncompressed family is used in place in the mapping. The page
  // cache holds them, and the whole budget goes to the other families.
  if (options.mmap_reads) {
    impl->block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  } else {
    const size_t event_cache_bytes =
        options.block_cache_bytes / 100 * options.event_cache_percent;
    impl->event_block_cache = rocksdb::NewLRUCache(event_cache_bytes);
    impl->block_cache = rocksdb::NewLRUCache(options.block_cache_bytes - event_cache_bytes);
  }
  ReopenableDbOptions db_options{.path = db_path};
  db_options.db_options.create_if_missing = options.create_if_missing;
  db_options.db_options.create_missing_column_families = true;
  db_options.db_options.paranoid_checks = true;
  db_options.db_options.max_background_jobs = 2;
  db_options.db_options.bytes_per_sync = 1 << 20;
  db_options.db_options.keep_log_file_num = 5;
  db_options.db_options.env = env;
  db_options.db_options.allow_mmap_reads = options.mmap_reads;
  db_options.families.emplace_back(rocksdb::kDefaultColumnFamilyName,
                                   rocksdb::ColumnFamilyOptions());
  for (Family family : kAllFamilies) {
    std::shared_ptr<rocksdb::Cache> cache =
        options.mmap_reads ? (IsSealed(family) ? nullptr : impl->block_cache)
                           : (family == Family::kEvents ? impl->event_block_cache
                                                        : impl->block_cache);
    rocksdb::ColumnFamilyOptions cf = FamilyOptions(family, options, std::move(cache));
    if (options.retention) {
      impl->filters.push_back(std::make_unique<RetentionFilter>(family, options.retention, &clock));
      cf.compaction_filter = impl->filters.back().get();
    }
    db_options.families.emplace_back(std::string(FamilyName(family)), cf);
  }
  CDP_ASSIGN_OR_RETURN(impl->db, ReopenableDb::Open(std::move(db_options)));
  impl->group_commit = std::make_unique<GroupCommit>(impl->db.get());
  CDP_ASSIGN_OR_RETURN(pb::StoreMeta meta,
                       CheckStoreMeta(*impl->db->Current(), *keys, key_file, db_path, clock));
  if (options.resident_identifiers) {
    CDP_ASSIGN_OR_RETURN(impl->resident_identifiers,
                         LoadResidentIdentifiers(*impl->db->Current()));
  }

  SecureBytes index_key = keys->index_key.Clone();
  KeyVaultOptions vault_options{.path = vault_path,
                                .cache_capacity = options.data_key_cache_capacity,
                                .env = options.env,
                                .clock = options.clock,
                                .mmap_reads = options.mmap_reads,
                                .block_cache = options.mmap_reads ? nullptr : impl->block_cache};
  CDP_ASSIGN_OR_RETURN(auto vault,
                       KeyVault::Open(vault_options, *std::move(keys), meta.store_id()));

  std::unique_ptr<Store> store(new Store(options, std::move(impl)));
  store->derivation_key_ = index_key.Clone();
  store->blind_index_ = std::make_unique<BlindIndex>(std::move(index_key));
  store->vault_ = std::move(vault);
  CDP_RETURN_IF_ERROR(store->LoadDictionaries());
  return store;
}

}  // namespace cdp::storage
