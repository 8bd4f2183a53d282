#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

#include "storage/errors.h"
#include "tests/storage/store_fixture.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class StoreTest : public testing::StoreTestBase {
 protected:
  void SetUp() override { Open(); }
};

TEST_F(StoreTest, SealedAndPlainRecordsRoundTripWithMeta) {
  ProfileId profile = NewProfile();
  RecordMeta meta{.category = 7, .time_micros = 123456};
  PutOrDie(Family::kProfiles, ProfileKey(profile), "profile-bytes", meta);
  PutOrDie(Family::kRedirects, ProfileKey(ProfileId::Random()), "plain-bytes", meta);

  CDP_ASSERT_OK_AND_ASSIGN(std::optional<Record> record,
                           store_->Get(Family::kProfiles, ProfileKey(profile)));
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->value, "profile-bytes");
  EXPECT_EQ(record->meta, meta);
}

TEST_F(StoreTest, AbsentKeyIsNulloptNotAnError) {
  EXPECT_THAT(store_->Get(Family::kProfiles, ProfileKey(ProfileId::Random())),
              ::cdp::testing::IsOkAndHolds(std::nullopt));
}

TEST_F(StoreTest, MultiGetAnswersEachKeyInOrderAsOfTheSnapshot) {
  ProfileId ann = NewProfile();
  ProfileId bob = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(bob), "bob", {.category = 2, .time_micros = 20});
  PutOrDie(Family::kProfiles, ProfileKey(ann), "ann", {.category = 1, .time_micros = 10});
  std::unique_ptr<Snapshot> before = store_->GetSnapshot();
  PutOrDie(Family::kProfiles, ProfileKey(ann), "ann-2");
  const std::vector<std::string> keys = {ProfileKey(ann), ProfileKey(ProfileId::Random()),
                                         ProfileKey(bob), ProfileKey(ann)};

  CDP_ASSERT_OK_AND_ASSIGN(std::vector<std::optional<Record>> now,
                           store_->MultiGet(Family::kProfiles, keys));
  ASSERT_EQ(now.size(), 4u);
  ASSERT_TRUE(now[0] && now[2] && now[3]);
  EXPECT_FALSE(now[1].has_value());
  EXPECT_EQ(now[0]->value, "ann-2");
  EXPECT_EQ(now[2]->value, "bob");
  EXPECT_EQ(now[2]->meta, (RecordMeta{.category = 2, .time_micros = 20}));
  EXPECT_EQ(now[3]->value, "ann-2");

  CDP_ASSERT_OK_AND_ASSIGN(std::vector<std::optional<Record>> then,
                           store_->MultiGet(Family::kProfiles, keys, before.get()));
  ASSERT_TRUE(then[0].has_value());
  EXPECT_EQ(then[0]->value, "ann");
  EXPECT_THAT(store_->MultiGet(Family::kProfiles, {}), ::cdp::testing::IsOkAndHolds(
                                                         std::vector<std::optional<Record>>{}));
}

TEST_F(StoreTest, MultiGetFailsWhenOneProfileIsShredded) {
  ProfileId gone = NewProfile();
  ProfileId kept = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(gone), "gone");
  PutOrDie(Family::kProfiles, ProfileKey(kept), "kept");
  WriteBatch batch = store_->NewBatch();
  batch.DestroyDataKey(gone);
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_TRUE(IsShredded(
      store_->MultiGet(Family::kProfiles, {ProfileKey(kept), ProfileKey(gone)}).status()));
}

TEST_F(StoreTest, ReopenKeepsRecordsAndDataKeys) {
  ProfileId profile = NewProfile();
  PutOrDie(Family::kEvents, ProfileRecordKey(profile, 1, 1), "event-1");
  Close();
  Open();
  EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileRecordKey(profile, 1, 1)), "event-1");
}

TEST_F(StoreTest, ReverseScanGivesLastEventsNewestFirstWithinOneProfile) {
  ProfileId a = NewProfile();
  ProfileId b = NewProfile();
  for (int t = 1; t <= 30; ++t) {
    PutOrDie(Family::kEvents, ProfileRecordKey(a, t * 1000, 0), absl::StrCat("a", t));
    PutOrDie(Family::kEvents, ProfileRecordKey(b, t * 1000 + 1, 0), absl::StrCat("b", t));
  }
  std::vector<std::string> seen;
  ASSERT_THAT(store_->Scan(Family::kEvents, ProfileKey(a), {.reverse = true, .limit = 3},
                           [&](absl::string_view, Record r) {
                             seen.push_back(r.value);
                             return true;
                           }),
              IsOk());
  EXPECT_THAT(seen, ElementsAre("a30", "a29", "a28"));

  seen.clear();
  ASSERT_THAT(store_->Scan(Family::kEvents, ProfileKey(b), {.limit = 2},
                           [&](absl::string_view, Record r) {
                             seen.push_back(r.value);
                             return true;
                           }),
              IsOk());
  EXPECT_THAT(seen, ElementsAre("b1", "b2"));
}

TEST_F(StoreTest, ScanStopsWhenVisitorSaysSo) {
  ProfileId a = NewProfile();
  for (int t = 0; t < 5; ++t) PutOrDie(Family::kEvents, ProfileRecordKey(a, t, 0), "x");
  int visits = 0;
  ASSERT_THAT(store_->Scan(Family::kEvents, ProfileKey(a), {},
                           [&](absl::string_view, Record) { return ++visits < 2; }),
              IsOk());
  EXPECT_EQ(visits, 2);
}

TEST_F(StoreTest, SnapshotSeesThePointInTime) {
  ProfileId a = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(a), "v1");
  std::unique_ptr<Snapshot> snapshot = store_->GetSnapshot();
  PutOrDie(Family::kProfiles, ProfileKey(a), "v2");
  CDP_ASSERT_OK_AND_ASSIGN(auto old_record,
                           store_->Get(Family::kProfiles, ProfileKey(a), snapshot.get()));
  ASSERT_TRUE(old_record.has_value());
  EXPECT_EQ(old_record->value, "v1");
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(a)), "v2");
}

TEST_F(StoreTest, DeletePrefixRemovesOneProfileOnly) {
  ProfileId a = NewProfile();
  ProfileId b = NewProfile();
  for (int t = 0; t < 10; ++t) {
    PutOrDie(Family::kEvents, ProfileRecordKey(a, t, 0), "a");
    PutOrDie(Family::kEvents, ProfileRecordKey(b, t, 0), "b");
  }
  WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(batch.DeletePrefix(Family::kEvents, ProfileKey(a)), IsOk());
  ASSERT_THAT(store_->Write(batch), IsOk());
  int a_count = 0, b_count = 0;
  auto count = [](int* n) {
    return [n](absl::string_view, Record) {
      ++*n;
      return true;
    };
  };
  ASSERT_THAT(store_->Scan(Family::kEvents, ProfileKey(a), {}, count(&a_count)), IsOk());
  ASSERT_THAT(store_->Scan(Family::kEvents, ProfileKey(b), {}, count(&b_count)), IsOk());
  EXPECT_EQ(a_count, 0);
  EXPECT_EQ(b_count, 10);
}

// Operations on one key apply in the order they were added, and a range deletion covers only
// what was put before it in the batch (merges and erasure rely on both).
TEST_F(StoreTest, BatchAppliesOperationsOnOneKeyInTheirOrder) {
  ProfileId a = NewProfile();
  WriteBatch batch = store_->NewBatch();
  for (int t = 199; t >= 0; --t) {  // descending, so the reordering has work to do
    const std::string key = ProfileRecordKey(a, t, 0);
    ASSERT_THAT(batch.Put(Family::kEvents, key, {}, "first"), IsOk());
    if (t % 3 == 0) batch.Delete(Family::kEvents, key);  // deleted for good
    if (t % 3 == 1) {
      batch.Delete(Family::kEvents, key);
      ASSERT_THAT(batch.Put(Family::kEvents, key, {}, "again"), IsOk());
    }
    if (t % 3 == 2) {
      ASSERT_THAT(batch.Put(Family::kEvents, key, {}, "last"), IsOk());
    }
    ASSERT_THAT(batch.Put(Family::kProfiles, ProfileKey(a), {}, absl::StrCat("v", t)), IsOk());
  }
  ASSERT_THAT(store_->Write(batch), IsOk());
  for (int t = 0; t < 200; ++t) {
    CDP_ASSERT_OK_AND_ASSIGN(auto record,
                             store_->Get(Family::kEvents, ProfileRecordKey(a, t, 0)));
    if (t % 3 == 0) {
      EXPECT_FALSE(record.has_value()) << t;
    } else {
      ASSERT_TRUE(record.has_value()) << t;
      EXPECT_EQ(record->value, t % 3 == 1 ? "again" : "last") << t;
    }
  }
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(a)), "v0");  // the last put wins

  WriteBatch with_range = store_->NewBatch();
  for (int t = 0; t < 100; ++t) {
    ASSERT_THAT(with_range.Put(Family::kEvents, ProfileRecordKey(a, 1000 + t, 0), {}, "x"),
                IsOk());
  }
  ASSERT_THAT(with_range.DeletePrefix(Family::kEvents, ProfileKey(a)), IsOk());
  ASSERT_THAT(with_range.Put(Family::kEvents, ProfileRecordKey(a, 5, 0), {}, "after"), IsOk());
  ASSERT_THAT(store_->Write(with_range), IsOk());
  int left = 0;
  ASSERT_THAT(store_->Scan(Family::kEvents, ProfileKey(a), {},
                           [&](absl::string_view, Record record) {
                             EXPECT_EQ(record.value, "after");
                             return ++left > 0;
                           }),
              IsOk());
  EXPECT_EQ(left, 1);
}

TEST_F(StoreTest, BatchIsAllOrNothingWhenAPutFails) {
  ProfileId a = NewProfile();
  WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(batch.Put(Family::kProfiles, ProfileKey(a), {}, "ok"), IsOk());
  // A profile without a data key cannot be sealed: the caller learns before anything is written.
  EXPECT_TRUE(IsShredded(batch.Put(Family::kProfiles, ProfileKey(ProfileId::Random()), {}, "x")));
  EXPECT_THAT(batch.Put(Family::kEvents, "short", {}, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(batch.count(), 1u);
}

TEST_F(StoreTest, CreatingTwoDataKeysForOneProfileInABatchFails) {
  ProfileId a = ProfileId::Random();
  WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(batch.CreateDataKey(a), IsOk());
  EXPECT_THAT(batch.CreateDataKey(a), StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(StoreTest, RecordsOfANewProfileCanBeSealedInTheBatchThatCreatesItsKey) {
  ProfileId a = ProfileId::Random();
  WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(batch.CreateDataKey(a), IsOk());
  ASSERT_THAT(batch.Put(Family::kProfiles, ProfileKey(a), {}, "fresh"), IsOk());
  ASSERT_THAT(store_->Write(batch), IsOk());
  Close();
  Open();
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(a)), "fresh");
}

// Expires events (category 1) older than 100 seconds.
class EventTtl : public RetentionPolicy {
 public:
  bool IsExpired(Family family, const RecordMeta& meta, int64_t now_micros) const override {
    return family == Family::kEvents && meta.category == 1 &&
           meta.time_micros < now_micros - 100'000'000;
  }
};

TEST_F(StoreTest, RetentionHidesExpiredRecordsOnReadAndCompactionDropsThem) {
  StoreOptions options = Options();
  options.retention = std::make_shared<EventTtl>();
  Open(options);
  ProfileId a = NewProfile();
  const int64_t now = clock_.NowMicros();
  PutOrDie(Family::kEvents, ProfileRecordKey(a, 1, 0), "old-expiring",
           {.category = 1, .time_micros = now - 200'000'000});
  PutOrDie(Family::kEvents, ProfileRecordKey(a, 2, 0), "old-kept",
           {.category = 2, .time_micros = now - 200'000'000});
  PutOrDie(Family::kEvents, ProfileRecordKey(a, 3, 0), "new",
           {.category = 1, .time_micros = now});

  EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileRecordKey(a, 1, 0)), "<absent>");
  std::vector<std::string> seen;
  ASSERT_THAT(store_->Scan(Family::kEvents, ProfileKey(a), {},
                           [&](absl::string_view, Record r) {
                             seen.push_back(r.value);
                             return true;
                           }),
              IsOk());
  EXPECT_THAT(seen, ElementsAre("old-kept", "new"));

  ASSERT_THAT(store_->CompactAll(), IsOk());
  Close();
  std::map<std::string, std::string> raw = testing::RawFamily(options.data_dir, Family::kEvents);
  EXPECT_EQ(raw.size(), 2u);
  EXPECT_FALSE(raw.contains(ProfileRecordKey(a, 1, 0)));
  EXPECT_TRUE(raw.contains(ProfileRecordKey(a, 3, 0)));
}

// A reverse scan given an estimate of the prefix's size reads it forward when the estimate is
// small (ScanOptions::expected_records); whatever the estimate, it delivers what a plain reverse
// scan delivers: the same records, newest first, expired ones skipped and not counted against
// the limit, stopping where the visitor says.
TEST_F(StoreTest, ReverseScanWithAnEstimateDeliversWhatAPlainReverseScanDelivers) {
  StoreOptions options = Options();
  options.retention = std::make_shared<EventTtl>();
  Open(options);
  const int64_t now = clock_.NowMicros();
  auto scan = [&](const ProfileId& profile, ScanOptions scan_options, int stop_after = -1) {
    std::vector<std::string> seen;
    EXPECT_THAT(store_->Scan(Family::kEvents, ProfileKey(profile), scan_options,
                             [&](absl::string_view, Record r) {
                               seen.push_back(r.value);
                               return static_cast<int>(seen.size()) != stop_after;
                             }),
                IsOk());
    return seen;
  };
  constexpr size_t kMax = ScanOptions::kMaxBufferedRecords;
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, kMax, kMax + 1, 3 * kMax}) {
    SCOPED_TRACE(absl::StrCat(n, " records"));
    const ProfileId profile = NewProfile();
    const ProfileId neighbour = NewProfile();  // records on either side of the prefix, by chance
    WriteBatch batch = store_->NewBatch();
    std::vector<std::string> newest_first;
    for (size_t i = 1; i <= n; ++i) {
      // Every fifth record has expired.
      const bool expired = i % 5 == 0;
      const std::string value = absl::StrCat("r", i);
      ASSERT_THAT(batch.Put(Family::kEvents, ProfileRecordKey(profile, i, 0),
                            {.category = 1, .time_micros = expired ? now - 200'000'000 : now},
                            value),
                  IsOk());
      ASSERT_THAT(batch.Put(Family::kEvents, ProfileRecordKey(neighbour, i, 0), {}, "other"),
                  IsOk());
      if (!expired) newest_first.insert(newest_first.begin(), value);
    }
    ASSERT_THAT(store_->Write(batch), IsOk());

    for (size_t expected : {size_t{0}, size_t{1}, n, kMax, kMax + 1, size_t{1000}}) {
      SCOPED_TRACE(absl::StrCat("estimate ", expected));
      EXPECT_EQ(scan(profile, {.reverse = true, .expected_records = expected}), newest_first);
      std::vector<std::string> first_three(
          newest_first.begin(), newest_first.begin() + std::min<size_t>(3, newest_first.size()));
      EXPECT_EQ(scan(profile, {.reverse = true, .limit = 3, .expected_records = expected}),
                first_three);
      EXPECT_EQ(scan(profile, {.reverse = true, .expected_records = expected}, 2),
                std::vector<std::string>(newest_first.begin(),
                                         newest_first.begin() +
                                             std::min<size_t>(2, newest_first.size())));
      EXPECT_THAT(scan(profile, {.reverse = true, .limit = 0, .expected_records = expected}),
                  IsEmpty());
    }
  }

  // At a snapshot: records written after it stay out of the forward read too.
  const ProfileId profile = NewProfile();
  PutOrDie(Family::kEvents, ProfileRecordKey(profile, 1, 0), "before", {.time_micros = now});
  std::unique_ptr<Snapshot> snapshot = store_->GetSnapshot();
  PutOrDie(Family::kEvents, ProfileRecordKey(profile, 2, 0), "after", {.time_micros = now});
  EXPECT_THAT(scan(profile, {.reverse = true, .snapshot = snapshot.get(), .expected_records = 5}),
              ElementsAre("before"));
  EXPECT_THAT(scan(profile, {.reverse = true, .expected_records = 5}),
              ElementsAre("after", "before"));
}

TEST_F(StoreTest, CheckpointRestoresWithTheLiveVaultAndKeyFile) {
  ProfileId a = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(a), "in-backup");
  const std::string backup = dir_.Sub("backup");
  ASSERT_THAT(store_->Checkpoint(backup), IsOk());
  PutOrDie(Family::kProfiles, ProfileKey(a), "after-backup");
  Close();

  const std::string restored = dir_.Sub("restored");
  std::filesystem::create_directories(restored);
  std::filesystem::rename(backup, restored + "/db");
  std::filesystem::copy(Options().data_dir + "/keyvault", restored + "/keyvault");
  std::filesystem::copy_file(Options().data_dir + "/keys", restored + "/keys");
  StoreOptions options = Options();
  options.data_dir = restored;
  Open(options);
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(a)), "in-backup");
}

TEST_F(StoreTest, OpenWithoutCreateOnAnEmptyDirectoryIsNotFound) {
  Close();
  StoreOptions options = Options();
  options.data_dir = dir_.Sub("nothing-here");
  options.create_if_missing = false;
  EXPECT_THAT(Store::Open(options), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(StoreTest, InvalidOptionsNameTheField) {
  Close();
  StoreOptions options = Options();
  options.data_dir.clear();
  EXPECT_THAT(Store::Open(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data_dir")));
  options = Options();
  options.block_cache_bytes = 10;
  EXPECT_THAT(Store::Open(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("block_cache_bytes")));
  for (uint32_t percent : {0u, 100u}) {
    options = Options();
    options.event_cache_percent = percent;
    EXPECT_THAT(Store::Open(options),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("event_cache_percent")));
  }
}

}  // namespace
}  // namespace cdp::storage
