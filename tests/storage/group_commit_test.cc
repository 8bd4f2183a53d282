// Group commit (Store::WriteVisible + Store::WaitDurable): a batch is visible at once, durable
// after one WAL sync that may cover other writers' batches too, and a failed sync fails every
// write it covered and reopens the database.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/storage/fault_fs.h"
#include "tests/storage/store_fixture.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;

class GroupCommitTest : public testing::StoreTestBase {
 protected:
  absl::StatusOr<PendingWrite> PutVisible(const std::string& key, const std::string& value) {
    WriteBatch batch = store_->NewBatch();
    if (absl::Status s = batch.Put(Family::kEvents, key, {}, value); !s.ok()) return s;
    return store_->WriteVisible(batch);
  }
};

TEST_F(GroupCommitTest, AWriteIsVisibleAtOnceAndDurableAfterTheWait) {
  Open();
  const ProfileId a = NewProfile();
  CDP_ASSERT_OK_AND_ASSIGN(PendingWrite pending, PutVisible(ProfileRecordKey(a, 1, 0), "one"));
  EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileRecordKey(a, 1, 0)), "one");
  EXPECT_EQ(Stats().group_commit_syncs, 0u);
  ASSERT_THAT(store_->WaitDurable(std::move(pending)), IsOk());
  EXPECT_EQ(Stats().group_commit_syncs, 1u);
  EXPECT_EQ(Stats().group_commit_writes, 1u);
  Open();
  EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileRecordKey(a, 1, 0)), "one");
}

TEST_F(GroupCommitTest, OneSyncCoversEveryWriteMadeBeforeIt) {
  Open();
  const ProfileId a = NewProfile();
  std::vector<PendingWrite> pending;
  for (int i = 0; i < 3; ++i) {
    CDP_ASSERT_OK_AND_ASSIGN(PendingWrite p, PutVisible(ProfileRecordKey(a, i, 0), "v"));
    pending.push_back(std::move(p));
  }
  // The newest write's sync covers the two before it: they wait for nothing.
  ASSERT_THAT(store_->WaitDurable(std::move(pending[2])), IsOk());
  ASSERT_THAT(store_->WaitDurable(std::move(pending[0])), IsOk());
  ASSERT_THAT(store_->WaitDurable(std::move(pending[1])), IsOk());
  EXPECT_EQ(Stats().group_commit_syncs, 1u);
  EXPECT_EQ(Stats().group_commit_writes, 3u);
}

TEST_F(GroupCommitTest, ConcurrentWritersUnderALockAllBecomeDurable) {
  Open();
  const ProfileId a = NewProfile();
  constexpr int kThreads = 4, kWrites = 50;
  absl::Mutex writers;  // as the profile writers' mutex: held for the write, not for the sync
  std::vector<std::thread> threads;
  std::vector<absl::Status> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites && failures[t].ok(); ++i) {
        absl::StatusOr<PendingWrite> pending = absl::InternalError("unset");
        {
          absl::MutexLock lock(&writers);
          pending = PutVisible(ProfileRecordKey(a, t * kWrites + i, 0), "w");
        }
        failures[t] = pending.ok() ? store_->WaitDurable(*std::move(pending)) : pending.status();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& s : failures) ASSERT_THAT(s, IsOk());
  const StoreStats stats = Stats();
  EXPECT_EQ(stats.group_commit_writes, uint64_t{kThreads * kWrites});
  EXPECT_GE(stats.group_commit_syncs, 1u);
  EXPECT_LE(stats.group_commit_syncs, stats.group_commit_writes);
  Open();
  for (int i = 0; i < kThreads * kWrites; ++i) {
    ASSERT_EQ(GetValueOrDie(Family::kEvents, ProfileRecordKey(a, i, 0)), "w") << i;
  }
}

TEST_F(GroupCommitTest, AFailedSyncFailsItsWritesAndReopensTheDatabase) {
  Open(FaultyOptions());
  const ProfileId a = NewProfile();
  CDP_ASSERT_OK_AND_ASSIGN(PendingWrite first, PutVisible(ProfileRecordKey(a, 1, 0), "one"));
  CDP_ASSERT_OK_AND_ASSIGN(PendingWrite second, PutVisible(ProfileRecordKey(a, 2, 0), "two"));
  fault_fs_->SetIoError(true);
  EXPECT_THAT(store_->WaitDurable(std::move(second)), StatusIs(absl::StatusCode::kUnavailable));
  // The failed sync covered the first write too, and the database refuses writes until reopened.
  EXPECT_THAT(store_->WaitDurable(std::move(first)), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(Stats().recovering);
  EXPECT_THAT(PutVisible(ProfileRecordKey(a, 3, 0), "three").status(),
              StatusIs(absl::StatusCode::kUnavailable));

  fault_fs_->SetIoError(false);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (Stats().recovering && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_FALSE(Stats().recovering) << "the database did not reopen";
  EXPECT_EQ(Stats().reopens, 1u);
  CDP_ASSERT_OK_AND_ASSIGN(PendingWrite after, PutVisible(ProfileRecordKey(a, 4, 0), "four"));
  ASSERT_THAT(store_->WaitDurable(std::move(after)), IsOk());
  EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileRecordKey(a, 4, 0)), "four");
}

}  // namespace
}  // namespace cdp::storage
