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
#include "tests/storage/fault_fs.h"
#include "tests/support/raw_db.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace cdp::storage::testing {

using ::cdp::testing::FilesContaining;
using ::cdp::testing::RawDb;
using ::cdp::testing::RawFamily;
using ::cdp::testing::RawPut;

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

  // Options() for a store on a file system that fails on demand (fault_fs_). The fixture owns
  // the file system and its env and destroys the store before them.
  StoreOptions FaultyOptions() {
    fault_fs_ = std::make_shared<FaultFileSystem>(rocksdb::FileSystem::Default());
    fault_env_ = rocksdb::NewCompositeEnv(fault_fs_);
    StoreOptions options = Options();
    options.env = fault_env_.get();
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

  // What the database itself holds under `key`: read from a snapshot, which reads past the
  // in-memory copy of the identifiers family.
  std::string StoredValueOrDie(Family family, const std::string& key) {
    std::unique_ptr<Snapshot> snapshot = store_->GetSnapshot();
    absl::StatusOr<std::optional<Record>> record = store_->Get(family, key, snapshot.get());
    EXPECT_TRUE(record.ok()) << record.status();
    if (!record.ok() || !record->has_value()) return "<absent>";
    return (*record)->value;
  }

  std::string GetValueOrDie(Family family, const std::string& key) {
    absl::StatusOr<std::optional<Record>> record = store_->Get(family, key);
    EXPECT_TRUE(record.ok()) << record.status();
    if (!record.ok() || !record->has_value()) return "<absent>";
    return (*record)->value;
  }

  // The store's stats; empty ones (and a test failure) when they cannot be read.
  StoreStats Stats() {
    absl::StatusOr<StoreStats> stats = store_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : StoreStats{};
  }

  cdp::testing::TempDir dir_;
  mutable ManualClock clock_;
  std::shared_ptr<FaultFileSystem> fault_fs_;  // set by FaultyOptions
  std::unique_ptr<rocksdb::Env> fault_env_;
  std::unique_ptr<Store> store_;  // last: destroyed before the env it may use
};

}  // namespace cdp::storage::testing
