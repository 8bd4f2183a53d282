#pragma once
// Shared set-up for Store tests: a store in a temp dir with small caches and a manual clock, and
// helpers to create profiles and scan files for plaintext.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "rocksdb/db.h"
#include "storage/key_codec.h"
#include "storage/store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace cdp::storage::testing {

class StoreTestBase : public ::testing::Test {
 protected:
  StoreOptions Options() const {
    StoreOptions options;
    options.data_dir = dir_.Sub("data");
    options.block_cache_bytes = 8 << 20;
    options.write_buffer_bytes = 4 << 20;
    options.data_key_cache_capacity = 1024;
    options.clock = &clock_;
    return options;
  }

  void Open(const StoreOptions& options) {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void Open() { Open(Options()); }
  void Close() { store_.reset(); }

  // A profile with a fresh data key, committed.
  ProfileId NewProfile() {
    ProfileId profile = ProfileId::Random();
    WriteBatch batch = store_->NewBatch();
    EXPECT_TRUE(batch.CreateDataKey(profile).ok());
    EXPECT_TRUE(store_->Write(batch).ok());
    return profile;
  }

  void PutOrDie(Family family, const std::string& key, const std::string& value,
                RecordMeta meta = {}) {
    WriteBatch batch = store_->NewBatch();
    ASSERT_TRUE(batch.Put(family, key, meta, value).ok());
    absl::Status status = store_->Write(batch);
    ASSERT_TRUE(status.ok()) << status;
  }

  std::string GetValueOrDie(Family family, const std::string& key) {
    absl::StatusOr<std::optional<Record>> record = store_->Get(family, key);
    EXPECT_TRUE(record.ok()) << record.status();
    if (!record.ok() || !record->has_value()) return "<absent>";
    return (*record)->value;
  }

  cdp::testing::TempDir dir_;
  mutable ManualClock clock_;
  std::unique_ptr<Store> store_;
};

// The raw key/value pairs of one family, read with RocksDB directly (the store must be closed).
inline std::map<std::string, std::string> RawFamily(const std::string& data_dir, Family family) {
  const std::string path = data_dir + "/db";
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, descriptors, &handles, &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::map<std::string, std::string> out;
  if (!s.ok()) return out;
  std::unique_ptr<rocksdb::DB> db(raw);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != std::string(FamilyName(family).data(), FamilyName(family).size())) continue;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) out[it->key().ToString()] = it->value().ToString();
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  return out;
}

// Overwrites one raw value of a family with RocksDB directly (the store must be closed).
inline void RawPut(const std::string& data_dir, Family family, const std::string& key,
                   const std::string& value) {
  const std::string path = data_dir + "/db";
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == std::string(FamilyName(family).data(), FamilyName(family).size())) {
      rocksdb::WriteOptions sync;
      sync.sync = true;
      ASSERT_TRUE(db->Put(sync, handles[i], key, value).ok());
    }
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
}

// Every regular file under `root` whose bytes contain `needle`.
inline std::vector<std::string> FilesContaining(const std::string& root, const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    if (buffer.str().find(needle) != std::string::npos) hits.push_back(entry.path().string());
  }
  return hits;
}

}  // namespace cdp::storage::testing
