// Store::MultiGet: point reads of many keys of one family in one RocksDB call.

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/rocksdb_util.h"
#include "storage/store.h"
#include "storage/store_impl.h"

namespace cdp::storage {

absl::StatusOr<std::vector<std::optional<Record>>> Store::MultiGet(
    Family family, absl::Span<const std::string> keys, const Snapshot* snapshot) {
  std::vector<std::optional<Record>> results(keys.size());
  if (keys.empty()) return results;
  const std::shared_ptr<const DbInstance> db = ReadInstance(snapshot);
  rocksdb::ReadOptions read_options;
  if (snapshot) read_options.snapshot = snapshot->snapshot_;
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (const std::string& key : keys) slices.push_back(ToSlice(key));
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db->db()->MultiGet(read_options, FamilyHandle(*db, family), keys.size(), slices.data(),
                     values.data(), statuses.data());
  DataKey data_key;
  ProfileId profile;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    CDP_RETURN_IF_ERROR(
        ToAbsl(statuses[i], absl::StrCat("read from ", FamilyName(family), " failed")));
    CDP_ASSIGN_OR_RETURN(results[i], OpenValue(family, keys[i], ToView(values[i]), &data_key,
                                               &profile));
  }
  return results;
}

}  // namespace cdp::storage
