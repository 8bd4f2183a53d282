// The in-memory copy of the blind index (StoreOptions::resident_identifiers, ResidentFamily)
// answers exactly what the database would: after every write, across a reopen, after a failed
// write, under concurrent readers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "storage/resident_family.h"
#include "tests/storage/fault_fs.h"
#include "tests/storage/store_fixture.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;

class ResidentIndexTest : public testing::StoreTestBase {
 protected:
  static std::string Key(int i) {
    std::string key(ResidentFamily::kKeySize, '\0');
    const std::string n = absl::StrCat(i);
    key.replace(0, n.size(), n);
    key[8] = static_cast<char>(i * 7);  // spread over the shards
    return key;
  }
};

TEST_F(ResidentIndexTest, ReadsMatchTheDatabaseAfterEveryWrite) {
  Open();
  ASSERT_TRUE(Stats().resident_index_enabled);
  std::mt19937 rng(7);
  std::map<std::string, std::string> expected;
  constexpr int kKeys = 200;
  for (int round = 0; round < 60; ++round) {
    WriteBatch batch = store_->NewBatch();
    const int ops = 1 + static_cast<int>(rng() % 12);
    for (int op = 0; op < ops; ++op) {
      const std::string key = Key(static_cast<int>(rng() % kKeys));
      if (rng() % 4 == 0) {
        batch.Delete(Family::kIdentifiers, key);
        expected.erase(key);
      } else {
        // Up to the largest index entry (profile, flags, eight observation hashes).
        const std::string value(rng() % 82, static_cast<char>('a' + round % 26));
        RecordMeta meta{.category = static_cast<uint32_t>(op), .time_micros = round};
        ASSERT_THAT(batch.Put(Family::kIdentifiers, key, meta, value), IsOk());
        expected[key] = value;
      }
    }
    ASSERT_THAT(store_->Write(batch), IsOk());

    std::vector<std::string> keys;
    for (int i = 0; i < kKeys; ++i) keys.push_back(Key(i));
    absl::StatusOr<std::vector<std::optional<Record>>> many =
        store_->MultiGet(Family::kIdentifiers, keys);
    ASSERT_THAT(many.status(), IsOk());
    for (int i = 0; i < kKeys; ++i) {
      auto it = expected.find(keys[i]);
      const std::string want = it == expected.end() ? "<absent>" : it->second;
      ASSERT_EQ(GetValueOrDie(Family::kIdentifiers, keys[i]), want) << "round " << round;
      ASSERT_EQ(StoredValueOrDie(Family::kIdentifiers, keys[i]), want) << "round " << round;
      ASSERT_EQ((*many)[i].has_value() ? (*many)[i]->value : "<absent>", want);
    }
  }
  const StoreStats stats = Stats();
  EXPECT_TRUE(stats.resident_index_enabled);
  EXPECT_EQ(stats.resident_index_entries, expected.size());
  EXPECT_GT(stats.resident_index_bytes, expected.size() * ResidentFamily::kKeySize);
}

TEST_F(ResidentIndexTest, KeepsTheRecordsMetaAndOrderWithinABatch) {
  Open();
  WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(batch.Put(Family::kIdentifiers, Key(1), {.category = 3, .time_micros = 5}, "x"),
              IsOk());
  batch.Delete(Family::kIdentifiers, Key(1));
  batch.Delete(Family::kIdentifiers, Key(2));
  ASSERT_THAT(batch.Put(Family::kIdentifiers, Key(2), {.category = 4, .time_micros = 9}, "y"),
              IsOk());
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, Key(1)), "<absent>");
  absl::StatusOr<std::optional<Record>> record = store_->Get(Family::kIdentifiers, Key(2));
  ASSERT_THAT(record.status(), IsOk());
  ASSERT_TRUE(record->has_value());
  EXPECT_EQ((*record)->value, "y");
  EXPECT_EQ((*record)->meta.time_micros, 9);
  EXPECT_EQ((*record)->meta.category, 4u);
}

TEST_F(ResidentIndexTest, DeletePrefixReachesTheCopy) {
  Open();
  PutOrDie(Family::kIdentifiers, Key(1), "one");
  std::string other = Key(2);
  other[0] = '\x7f';
  PutOrDie(Family::kIdentifiers, other, "other");
  WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(batch.DeletePrefix(Family::kIdentifiers, Key(1).substr(0, 1)), IsOk());
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, Key(1)), "<absent>");
  EXPECT_EQ(StoredValueOrDie(Family::kIdentifiers, Key(1)), "<absent>");
  EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, other), "other");
}

TEST_F(ResidentIndexTest, IsLoadedFromDiskAtOpen) {
  Open();
  for (int i = 0; i < 50; ++i) PutOrDie(Family::kIdentifiers, Key(i), absl::StrCat("v", i));
  ASSERT_THAT(store_->CompactAll(), IsOk());  // some from table files, ...
  for (int i = 50; i < 60; ++i) PutOrDie(Family::kIdentifiers, Key(i), absl::StrCat("v", i));
  Close();  // ... some from the WAL
  Open();
  EXPECT_EQ(Stats().resident_index_entries, 60u);
  for (int i = 0; i < 60; ++i) {
    EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, Key(i)), absl::StrCat("v", i));
  }
  EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, Key(60)), "<absent>");
}

TEST_F(ResidentIndexTest, SnapshotsReadTheDatabaseAsOfTheirTime) {
  Open();
  PutOrDie(Family::kIdentifiers, Key(1), "old");
  std::unique_ptr<Snapshot> snapshot = store_->GetSnapshot();
  PutOrDie(Family::kIdentifiers, Key(1), "new");
  absl::StatusOr<std::optional<Record>> then =
      store_->Get(Family::kIdentifiers, Key(1), snapshot.get());
  ASSERT_THAT(then.status(), IsOk());
  ASSERT_TRUE(then->has_value());
  EXPECT_EQ((*then)->value, "old");
  EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, Key(1)), "new");
}

TEST_F(ResidentIndexTest, AFailedWriteTurnsTheCopyOffAndReadsStayRight) {
  const StoreOptions options = FaultyOptions();
  Open(options);
  PutOrDie(Family::kIdentifiers, Key(1), "before");

  fault_fs_->SetDiskFull(true);
  WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(batch.Put(Family::kIdentifiers, Key(1), {}, "during"), IsOk());
  EXPECT_THAT(store_->Write(batch), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_FALSE(Stats().resident_index_enabled);
  EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, Key(1)), "before");

  fault_fs_->SetDiskFull(false);
  // RocksDB resumes by itself once space is back; until then writes still fail.
  absl::Status retried = store_->Write(batch);
  for (int i = 0; i < 600 && !retried.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    retried = store_->Write(batch);
  }
  ASSERT_THAT(retried, IsOk());
  EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, Key(1)), "during");
  Close();
  Open(options);  // the next open loads the copy again
  EXPECT_TRUE(Stats().resident_index_enabled);
  EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, Key(1)), "during");
}

TEST_F(ResidentIndexTest, OffByOptionEveryReadGoesToTheDatabase) {
  StoreOptions options = Options();
  options.resident_identifiers = false;
  Open(options);
  PutOrDie(Family::kIdentifiers, Key(1), "one");
  EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, Key(1)), "one");
  const StoreStats stats = Stats();
  EXPECT_FALSE(stats.resident_index_enabled);
  EXPECT_EQ(stats.resident_index_entries, 0u);
}

TEST_F(ResidentIndexTest, ReadersNeverMissAKeyWhileWritesGrowTheTable) {
  Open();
  constexpr int kStable = 64;
  for (int i = 0; i < kStable; ++i) PutOrDie(Family::kIdentifiers, Key(i), "stable");
  std::atomic<bool> done{false};
  std::atomic<int> misses{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      for (int i = t; !done.load(); i = (i + 1) % kStable) {
        absl::StatusOr<std::optional<Record>> record = store_->Get(Family::kIdentifiers, Key(i));
        if (!record.ok() || !record->has_value() || (*record)->value != "stable") ++misses;
      }
    });
  }
  // New keys make the shards rehash under the readers.
  for (int round = 0; round < 40; ++round) {
    WriteBatch batch = store_->NewBatch();
    for (int i = 0; i < 100; ++i) {
      ASSERT_THAT(batch.Put(Family::kIdentifiers, Key(1000 + round * 100 + i), {}, "new"),
                  IsOk());
    }
    ASSERT_THAT(store_->Write(batch), IsOk());
  }
  done = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(misses.load(), 0);
  EXPECT_EQ(Stats().resident_index_entries, kStable + 4000u);
}

TEST(ResidentFamilyTest, ARecordItCannotHoldTurnsItOff) {
  ResidentFamily resident;
  const std::string key(ResidentFamily::kKeySize, 'k');
  ASSERT_TRUE(resident.Load(key, "value"));
  std::string value;
  EXPECT_EQ(resident.Get(key, &value), ResidentFamily::Lookup::kFound);
  EXPECT_EQ(value, "value");
  EXPECT_EQ(resident.Get("short", &value), ResidentFamily::Lookup::kDisabled);

  resident.Apply({{ResidentFamily::Change::Kind::kPut, key,
                   std::string(ResidentFamily::kMaxValueSize + 1, 'v')}});
  EXPECT_FALSE(resident.enabled());
  EXPECT_EQ(resident.Get(key, &value), ResidentFamily::Lookup::kDisabled);
  EXPECT_EQ(resident.size(), 0u);

  ResidentFamily other;
  EXPECT_FALSE(other.Load("not 32 bytes", "value"));
  EXPECT_FALSE(other.enabled());
}

}  // namespace
}  // namespace cdp::storage
