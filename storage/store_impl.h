#pragma once
// Internals of Store shared by its .cc files. Not for use outside storage/.

#include <memory>
#include <string>
#include <vector>

#include "rocksdb/cache.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/db.h"
#include "storage/family.h"
#include "storage/group_commit.h"
#include "storage/reopenable_db.h"
#include "storage/resident_family.h"
#include "storage/store.h"

namespace cdp::storage {

struct Store::Impl {
  // Blocks of the events family (null with StoreOptions::mmap_reads), and blocks of every other
  // family that has a block cache (see Store::Open).
  std::shared_ptr<rocksdb::Cache> event_block_cache;
  std::shared_ptr<rocksdb::Cache> block_cache;
  std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters;
  std::string key_file;
  // The in-memory copy of the identifiers family; null when StoreOptions::resident_identifiers
  // is off.
  std::unique_ptr<ResidentFamily> resident_identifiers;
  // Column families in descriptor order: "default" (store meta), then one per Family. After the
  // filters: its instances are closed before the filters they use go.
  std::unique_ptr<ReopenableDb> db;
  // Syncs the WAL for the writes WriteVisible applied; uses db (and goes before it).
  std::unique_ptr<GroupCommit> group_commit;
};

// The column family of `family` in an instance of the record database.
inline rocksdb::ColumnFamilyHandle* FamilyHandle(const DbInstance& db, Family family) {
  return db.handle(1 + static_cast<size_t>(family));
}
inline rocksdb::ColumnFamilyHandle* MetaHandle(const DbInstance& db) { return db.handle(0); }

// The key in the default column family of the meta record `name`: apart from the store's own
// "meta" key, so that no caller can overwrite that.
std::string MetaRecordKey(absl::string_view name);

// The associated data of a sealed record: family (1) | key | envelope header (13).
std::string SealAad(Family family, absl::string_view key, absl::string_view header);

}  // namespace cdp::storage
