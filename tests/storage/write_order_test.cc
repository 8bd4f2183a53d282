// Store::Write hands large batches to RocksDB ordered by family and key (storage/write_order.h):
// what a reader sees afterwards must be exactly what the batch said, in the order it said it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/write_order.h"
#include "tests/storage/store_fixture.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;

class WriteOrderTest : public testing::StoreTestBase {};

TEST_F(WriteOrderTest, ALargeBatchEndsAsItsOperationsSayInTheirOrder) {
  Open();
  const ProfileId profile = NewProfile();
  std::mt19937 rng(11);
  // Few keys, many operations: the same key is put and deleted many times in one batch, in both
  // a plain and a sealed family, so any reordering of one key's operations changes the result.
  constexpr int kKeys = 12;
  auto key_of = [&](Family family, int i) {
    return family == Family::kProfiles ? ProfileChildKey(profile, absl::StrCat("k", i))
                                       : std::string(32, static_cast<char>('a' + i));
  };
  for (int round = 0; round < 5; ++round) {
    std::map<std::pair<Family, int>, std::string> expected;
    for (Family family : {Family::kIdentifiers, Family::kProfiles}) {
      for (int i = 0; i < kKeys; ++i) {
        expected[{family, i}] = StoredValueOrDie(family, key_of(family, i));
      }
    }
    WriteBatch batch = store_->NewBatch();
    for (int op = 0; op < 4 * static_cast<int>(kMinOperationsToOrder); ++op) {
      const Family family = rng() % 2 ? Family::kIdentifiers : Family::kProfiles;
      const int i = static_cast<int>(rng() % kKeys);
      if (rng() % 3 == 0) {
        batch.Delete(family, key_of(family, i));
        expected[{family, i}] = "<absent>";
      } else {
        const std::string value = absl::StrCat("r", round, "-op", op);
        ASSERT_THAT(batch.Put(family, key_of(family, i), {}, value), IsOk());
        expected[{family, i}] = value;
      }
    }
    ASSERT_THAT(store_->Write(batch), IsOk());
    for (const auto& [where, value] : expected) {
      const std::string key = key_of(where.first, where.second);
      EXPECT_EQ(StoredValueOrDie(where.first, key), value) << "round " << round;
      EXPECT_EQ(GetValueOrDie(where.first, key), value) << "round " << round;
    }
  }
  Close();
  Open();  // and the WAL replays the same
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileChildKey(profile, "never")), "<absent>");
}

TEST_F(WriteOrderTest, ARangeDeletionKeepsItsPlaceAmongThePuts) {
  Open();
  const ProfileId profile = NewProfile();
  WriteBatch batch = store_->NewBatch();
  // Puts before the prefix deletion are deleted by it, puts after it survive; enough of them
  // that the batch would otherwise be reordered.
  for (int i = 0; i < static_cast<int>(kMinOperationsToOrder); ++i) {
    ASSERT_THAT(batch.Put(Family::kEvents, ProfileChildKey(profile, absl::StrCat("b", i)), {},
                          "before"),
                IsOk());
  }
  ASSERT_THAT(batch.DeletePrefix(Family::kEvents, ProfileKey(profile)), IsOk());
  ASSERT_THAT(batch.Put(Family::kEvents, ProfileChildKey(profile, "a"), {}, "after"), IsOk());
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileChildKey(profile, "a")), "after");
  EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileChildKey(profile, "b0")), "<absent>");
}

TEST_F(WriteOrderTest, PrefixDeletionsAreAtMostAProfileIdLong) {
  Open();
  WriteBatch batch = store_->NewBatch();
  EXPECT_THAT(batch.DeletePrefix(Family::kEvents, std::string(kMaxRangeDeletionStart + 1, 'p')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(batch.DeletePrefix(Family::kEvents, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(batch.count(), 0u);
}

}  // namespace
}  // namespace cdp::storage
