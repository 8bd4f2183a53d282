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

// The record database opened with RocksDB directly, bypassing the store (which must be closed),
// to look at or alter raw values.
class RawDb {
 public:
  RawDb(const std::string& data_dir, bool read_only) {
    const std::string path = data_dir + "/db";
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names_).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string& name : names_) {
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s =
        read_only ? rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, descriptors,
                                                 &handles_, &raw)
                  : rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles_, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(raw);
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }

  std::map<std::string, std::string> All(Family family) {
    std::map<std::string, std::string> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Handle(family)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out[it->key().ToString()] = it->value().ToString();
    }
    return out;
  }

  void Put(Family family, const std::string& key, const std::string& value) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    EXPECT_TRUE(db_->Put(sync, Handle(family), key, value).ok());
  }

 private:
  rocksdb::ColumnFamilyHandle* Handle(Family family) {
    const std::string name(FamilyName(family).data(), FamilyName(family).size());
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return handles_[i];
    }
    ADD_FAILURE() << "no column family " << name;
    return db_->DefaultColumnFamily();
  }

  std::vector<std::string> names_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

inline std::map<std::string, std::string> RawFamily(const std::string& data_dir, Family family) {
  return RawDb(data_dir, /*read_only=*/true).All(family);
}

inline void RawPut(const std::string& data_dir, Family family, const std::string& key,
                   const std::string& value) {
  RawDb(data_dir, /*read_only=*/false).Put(family, key, value);
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
