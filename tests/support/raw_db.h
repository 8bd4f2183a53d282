#pragma once
// Test helpers that look at a store's files from outside: the record database opened with RocksDB
// directly (the store must be closed), and a byte search over every file of a directory.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "rocksdb/db.h"
#include "storage/family.h"

namespace cdp::testing {

using storage::Family;
using storage::FamilyName;

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

}  // namespace cdp::testing
