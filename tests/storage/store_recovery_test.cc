// Recovery in place from an I/O error (EIO) that RocksDB cannot clear by itself: writes are
// refused with kUnavailable, reads go on, and once the disk works again the store reopens its
// databases and accepts writes without being reopened by its owner, having lost nothing that it
// acknowledged.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/storage/fault_fs.h"
#include "tests/storage/store_fixture.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;

constexpr absl::Duration kRecoveryDeadline = absl::Seconds(20);

class StoreRecoveryTest : public testing::StoreTestBase {
 protected:
  void SetUp() override {
    fs_ = std::make_shared<testing::FaultFileSystem>(rocksdb::FileSystem::Default());
    env_ = rocksdb::NewCompositeEnv(fs_);
    StoreOptions options = Options();
    options.env = env_.get();
    Open(options);
  }
  void TearDown() override {
    fs_->SetIoError(false);
    Close();  // before env_ goes
  }

  absl::Status TryPut(Family family, const std::string& key, const std::string& value) {
    WriteBatch batch = store_->NewBatch();
    if (absl::Status s = batch.Put(family, key, {}, value); !s.ok()) return s;
    return store_->Write(batch);
  }

  // Retries the write until it succeeds; every refusal must be kUnavailable. Returns how long
  // that took, or an infinite duration past the deadline.
  absl::Duration PutUntilAccepted(Family family, const std::string& key,
                                  const std::string& value) {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < kRecoveryDeadline) {
      absl::Status s = TryPut(family, key, value);
      if (s.ok()) return absl::Now() - start;
      EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
      absl::SleepFor(absl::Milliseconds(10));
    }
    return absl::InfiniteDuration();
  }

  // Waits until neither database recovers any more; false past the deadline.
  bool AwaitRecovered() {
    const absl::Time start = absl::Now();
    while (Recovering()) {
      if (absl::Now() - start > kRecoveryDeadline) return false;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return true;
  }

  bool Recovering() {
    absl::StatusOr<StoreStats> stats = store_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() && stats->recovering;
  }

  std::shared_ptr<testing::FaultFileSystem> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

TEST_F(StoreRecoveryTest, EioRefusesWritesServesReadsAndRecoversInPlaceWhenItClears) {
  ProfileId a = NewProfile();
  std::vector<std::string> keys;
  for (int i = 0; i < 50; ++i) {
    keys.push_back(ProfileRecordKey(a, i, 0));
    PutOrDie(Family::kEvents, keys.back(), "acked-" + std::to_string(i));
  }

  fs_->SetIoError(true);
  // The first write fails in the WAL; later ones are refused while the store recovers.
  for (int attempt = 0; attempt < 3; ++attempt) {
    EXPECT_THAT(TryPut(Family::kEvents, ProfileRecordKey(a, 100 + attempt, 0), "refused"),
                StatusIs(absl::StatusCode::kUnavailable))
        << "attempt " << attempt;
  }
  // A new profile writes the key vault: it fails too, and the vault recovers as well.
  WriteBatch new_profile = store_->NewBatch();
  ASSERT_THAT(new_profile.CreateDataKey(ProfileId::Random()), IsOk());
  EXPECT_THAT(store_->Write(new_profile), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(Recovering());
  EXPECT_THAT(store_->CompactAll(), StatusIs(absl::StatusCode::kUnavailable));

  // Reads go on, point and scan, while the fault lasts.
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(GetValueOrDie(Family::kEvents, keys[i]), "acked-" + std::to_string(i));
  }
  int scanned = 0;
  ASSERT_THAT(store_->Scan(Family::kEvents, ProfileKey(a), {},
                           [&](absl::string_view, Record) { return ++scanned, true; }),
              IsOk());
  EXPECT_EQ(scanned, 50);
  absl::SleepFor(absl::Milliseconds(300));  // several failed probes
  EXPECT_TRUE(Recovering());
  EXPECT_THAT(TryPut(Family::kEvents, ProfileRecordKey(a, 200, 0), "refused"),
              StatusIs(absl::StatusCode::kUnavailable));

  fs_->SetIoError(false);
  const absl::Duration took = PutUntilAccepted(Family::kEvents, ProfileRecordKey(a, 300, 0), "new");
  ASSERT_LT(took, kRecoveryDeadline) << "writes did not recover";
  std::printf("store_recovery: writes accepted again %.0f ms after the EIO cleared\n",
              absl::ToDoubleMilliseconds(took));
  ASSERT_TRUE(AwaitRecovered());
  CDP_ASSERT_OK_AND_ASSIGN(StoreStats stats, store_->Stats());
  EXPECT_EQ(stats.reopens, 2u) << "the record database and the key vault";

  // Everything acknowledged is there, nothing refused is, and new profiles work again.
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(GetValueOrDie(Family::kEvents, keys[i]), "acked-" + std::to_string(i));
  }
  EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileRecordKey(a, 300, 0)), "new");
  for (int attempt = 0; attempt < 3; ++attempt) {
    EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileRecordKey(a, 100 + attempt, 0)), "<absent>");
  }
  EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileRecordKey(a, 200, 0)), "<absent>");
  ProfileId b = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(b), "b");
  EXPECT_THAT(store_->CompactAll(), IsOk());

  // And it all survives a normal close and open.
  StoreOptions options = Options();
  options.env = env_.get();
  Open(options);
  EXPECT_EQ(GetValueOrDie(Family::kEvents, keys[49]), "acked-49");
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(b)), "b");
}

TEST_F(StoreRecoveryTest, SnapshotKeepsReadingAndDelaysTheReopenUntilReleased) {
  ProfileId a = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(a), "before");
  std::unique_ptr<Snapshot> snapshot = store_->GetSnapshot();

  fs_->SetIoError(true);
  EXPECT_THAT(TryPut(Family::kProfiles, ProfileKey(a), "refused"),
              StatusIs(absl::StatusCode::kUnavailable));
  fs_->SetIoError(false);
  // The broken database cannot close while the snapshot holds it.
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_TRUE(Recovering());
  absl::StatusOr<std::optional<Record>> read =
      store_->Get(Family::kProfiles, ProfileKey(a), snapshot.get());
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, "before");
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(a)), "before");

  snapshot.reset();
  ASSERT_LT(PutUntilAccepted(Family::kProfiles, ProfileKey(a), "after"), kRecoveryDeadline);
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(a)), "after");
}

// Readers keep going through the whole recovery (fault, read-only instance, reopen): every read
// answers, from whichever instance is current when it starts, and none sees a closed database.
TEST_F(StoreRecoveryTest, ConcurrentReadersAnswerThroughoutTheRecovery) {
  ProfileId a = NewProfile();
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) {
    keys.push_back(ProfileRecordKey(a, i, 0));
    PutOrDie(Family::kEvents, keys.back(), "acked");
  }
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, failures{0};
  absl::Mutex first_failure_mu;
  std::string first_failure;
  auto reader = [&](int id) {
    while (!done.load()) {
      std::unique_ptr<Snapshot> snapshot = id == 0 ? store_->GetSnapshot() : nullptr;
      absl::StatusOr<std::vector<std::optional<Record>>> many =
          store_->MultiGet(Family::kEvents, keys, snapshot.get());
      int scanned = 0;
      ScanOptions scan;
      scan.snapshot = snapshot.get();
      absl::Status s = store_->Scan(Family::kEvents, ProfileKey(a), scan,
                                    [&](absl::string_view, Record) { return ++scanned, true; });
      // 20 acknowledged records, and the one written after the recovery once it is.
      if (!many.ok() || !s.ok() || scanned < 20 || scanned > 21) {
        if (failures.fetch_add(1) == 0) {
          absl::MutexLock lock(&first_failure_mu);
          first_failure = absl::StrCat(many.status().ToString(), " / ", s.ToString(), " / ",
                                       scanned, " scanned");
        }
      }
      reads.fetch_add(1);
    }
  };
  std::thread r0(reader, 0), r1(reader, 1);
  fs_->SetIoError(true);
  EXPECT_THAT(TryPut(Family::kEvents, ProfileRecordKey(a, 50, 0), "refused"),
              StatusIs(absl::StatusCode::kUnavailable));
  absl::SleepFor(absl::Milliseconds(200));
  fs_->SetIoError(false);
  EXPECT_LT(PutUntilAccepted(Family::kEvents, ProfileRecordKey(a, 51, 0), "new"),
            kRecoveryDeadline);
  absl::SleepFor(absl::Milliseconds(100));
  done.store(true);
  r0.join();
  r1.join();
  EXPECT_GT(reads.load(), 0);
  absl::MutexLock lock(&first_failure_mu);
  EXPECT_EQ(failures.load(), 0) << "of " << reads.load() << " reads; first: " << first_failure;
  CDP_ASSERT_OK_AND_ASSIGN(StoreStats stats, store_->Stats());
  EXPECT_EQ(stats.reopens, 1u);
}

TEST_F(StoreRecoveryTest, FullDiskIsLeftToRocksDbAndStartsNoReopen) {
  ProfileId a = NewProfile();
  fs_->SetDiskFull(true);
  EXPECT_THAT(TryPut(Family::kProfiles, ProfileKey(a), "refused"),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_FALSE(Recovering());
  fs_->SetDiskFull(false);
  CDP_ASSERT_OK_AND_ASSIGN(StoreStats stats, store_->Stats());
  EXPECT_EQ(stats.reopens, 0u);
}

}  // namespace
}  // namespace cdp::storage
