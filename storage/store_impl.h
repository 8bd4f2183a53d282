#pragma once
// Internals of Store shared by store.cc and write_batch.cc. Not for use outside storage/.

#include <memory>
#include <vector>

#include "rocksdb/cache.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/db.h"
#include "storage/family.h"
#include "storage/store.h"

namespace cdp::storage {

struct Store::Impl {
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::ColumnFamilyHandle* meta_cf = nullptr;     // "default"
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // indexed by Family
  std::shared_ptr<rocksdb::Cache> block_cache;
  std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters;
  std::string key_file;

  rocksdb::ColumnFamilyHandle* cf(Family family) const {
    return handles[static_cast<size_t>(family)];
  }

  ~Impl();
};

// The key in the default column family of the meta record `name`: apart from the store's own
// "meta" key, so that no caller can overwrite that.
std::string MetaRecordKey(absl::string_view name);

// The associated data of a sealed record: family (1) | key | envelope header (13).
std::string SealAad(Family family, absl::string_view key, absl::string_view header);

}  // namespace cdp::storage
