// Assumption tests: pin the RocksDB 7.8 behaviours that storage/ relies on, so that an upgrade
// that changes one of them fails here first rather than in production.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "tests/support/temp_dir.h"

namespace cdp {
namespace {

class RocksDbAssumptionsTest : public ::testing::Test {
 protected:
  void OpenDb(bool prefix_extractor = false) {
    db_.reset();
    rocksdb::Options options;
    options.create_if_missing = true;
    if (prefix_extractor) {
      options.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
      rocksdb::BlockBasedTableOptions table;
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
      options.memtable_prefix_bloom_size_ratio = 0.1;
    }
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, path_, &raw).ok());
    db_.reset(raw);
  }

  bool AnyFileContains(const std::string& needle) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path_)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream buffer;
      buffer << in.rdbuf();
      if (buffer.str().find(needle) != std::string::npos) return true;
    }
    return false;
  }

  void FullCompaction() {
    ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    ASSERT_TRUE(db_->CompactRange(compact, nullptr, nullptr).ok());
  }

  cdp::testing::TempDir dir_;
  std::string path_ = dir_.Sub("db");
  std::unique_ptr<rocksdb::DB> db_;
};

// Why erasure destroys keys instead of trusting deletes: a snapshot keeps a deleted value in the
// table files even through a forced bottommost compaction.
TEST_F(RocksDbAssumptionsTest, DeletedValueSurvivesCompactionWhileASnapshotPinsIt) {
  OpenDb();
  const std::string secret = "pinned-secret-value-8841";
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "k", secret).ok());
  ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  ASSERT_TRUE(db_->Delete(rocksdb::WriteOptions(), "k").ok());
  FullCompaction();
  EXPECT_TRUE(AnyFileContains(secret));
  db_->ReleaseSnapshot(snapshot);
  FullCompaction();
  db_.reset();
  // Without the snapshot the value leaves the live files (its WAL is gone after the flush).
  OpenDb();
  std::string value;
  EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), "k", &value).IsNotFound());
}

// "Last N events" is a reverse scan from prefix + 0xff padding, bounded below by the prefix.
TEST_F(RocksDbAssumptionsTest, ReverseScanFromPaddedPrefixStaysInPrefixNewestFirst) {
  OpenDb(/*prefix_extractor=*/true);
  const std::string a(16, 'a'), b(16, 'b');
  for (char t = '0'; t <= '9'; ++t) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), a + t, "a").ok());
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), b + t, "b").ok());
  }
  ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
  rocksdb::ReadOptions options;
  options.total_order_seek = true;
  rocksdb::Slice lower(a);
  options.iterate_lower_bound = &lower;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
  std::vector<std::string> keys;
  for (it->SeekForPrev(a + std::string(64, '\xff')); it->Valid() && keys.size() < 3; it->Prev()) {
    keys.push_back(it->key().ToString());
  }
  EXPECT_THAT(keys, ::testing::ElementsAre(a + '9', a + '8', a + '7'));
}

// Forward scans of one profile use the prefix bloom filter and must not leak into the next one.
TEST_F(RocksDbAssumptionsTest, PrefixSameAsStartStopsAtTheEndOfThePrefix) {
  OpenDb(/*prefix_extractor=*/true);
  const std::string a(16, 'a'), b(16, 'b');
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), a + "1", "a").ok());
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), b + "1", "b").ok());
  ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
  rocksdb::ReadOptions options;
  options.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
  int n = 0;
  for (it->Seek(a); it->Valid(); it->Next()) ++n;
  EXPECT_EQ(n, 1);
}

// A checkpoint is a consistent, independent copy: later writes do not reach it.
TEST_F(RocksDbAssumptionsTest, CheckpointIsIndependentOfLaterWrites) {
  OpenDb();
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "k", "before").ok());
  rocksdb::Checkpoint* raw = nullptr;
  ASSERT_TRUE(rocksdb::Checkpoint::Create(db_.get(), &raw).ok());
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  ASSERT_TRUE(checkpoint->CreateCheckpoint(dir_.Sub("cp")).ok());
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "k", "after").ok());
  rocksdb::DB* copy = nullptr;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir_.Sub("cp"), &copy).ok());
  std::unique_ptr<rocksdb::DB> copy_db(copy);
  std::string value;
  ASSERT_TRUE(copy_db->Get(rocksdb::ReadOptions(), "k", &value).ok());
  EXPECT_EQ(value, "before");
}

// A synced write is readable after the process closes the database without a flush.
TEST_F(RocksDbAssumptionsTest, SyncedWriteIsRecoveredFromTheWal) {
  OpenDb();
  rocksdb::WriteOptions sync;
  sync.sync = true;
  ASSERT_TRUE(db_->Put(sync, "k", "durable").ok());
  db_.reset();
  OpenDb();
  std::string value;
  ASSERT_TRUE(db_->Get(rocksdb::ReadOptions(), "k", &value).ok());
  EXPECT_EQ(value, "durable");
}

// DeleteRange hides a whole profile at once (used by erasure and unmerge).
TEST_F(RocksDbAssumptionsTest, DeleteRangeHidesEveryKeyInTheRange) {
  OpenDb();
  for (char c = 'a'; c <= 'e'; ++c) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), std::string(1, c), "v").ok());
  }
  ASSERT_TRUE(
      db_->DeleteRange(rocksdb::WriteOptions(), db_->DefaultColumnFamily(), "b", "d").ok());
  std::string value;
  EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), "b", &value).IsNotFound());
  EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), "c", &value).IsNotFound());
  EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), "d", &value).ok());
}

}  // namespace
}  // namespace cdp
