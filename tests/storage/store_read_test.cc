// Store reads added for erasure, merges and the audit head: scans over many prefixes (keys only
// and whole records), meta records, derived keys.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "storage/errors.h"
#include "tests/storage/store_fixture.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::IsOkAndHolds;
using ::cdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class StoreReadTest : public testing::StoreTestBase {
 protected:
  void SetUp() override { Open(); }

  std::vector<std::string> KeysWithPrefixes(Family family, std::vector<std::string> prefixes,
                                            const Snapshot* snapshot = nullptr) {
    std::vector<std::string> keys;
    EXPECT_THAT(store_->ScanKeysWithPrefixes(family, prefixes, snapshot,
                                             [&](absl::string_view key) {
                                               keys.emplace_back(key);
                                               return true;
                                             }),
                IsOk());
    return keys;
  }
};

TEST_F(StoreReadTest, KeysWithPrefixesDeliversMatchingKeysInOrderWithoutDataKeys) {
  ProfileId a = NewProfile();
  for (int t = 0; t < 3; ++t) PutOrDie(Family::kEvents, ProfileRecordKey(a, t, 7), "secret");
  // Keys only: the data key may be gone, the scan still lists what is stored.
  WriteBatch shred = store_->NewBatch();
  shred.DestroyDataKey(a);
  ASSERT_THAT(store_->Write(shred), IsOk());
  EXPECT_THAT(KeysWithPrefixes(Family::kEvents, {ProfileKey(a)}),
              ElementsAre(ProfileRecordKey(a, 0, 7), ProfileRecordKey(a, 1, 7),
                          ProfileRecordKey(a, 2, 7)));
}

TEST_F(StoreReadTest, KeysWithPrefixesServesManySparseAndDensePrefixesInOnePass) {
  // Dedup-like keys: 200 keys "k<nnn>x"; ask for every 7th (dense: reached by Next) and some far
  // apart (sparse: reached by Seek), plus prefixes that match nothing.
  std::vector<std::string> all;
  for (int i = 0; i < 200; ++i) {
    all.push_back(absl::StrFormat("k%03dx", i));
    PutOrDie(Family::kDedup, all.back(), "p");
  }
  std::vector<std::string> prefixes, expected;
  for (int i = 0; i < 200; i += 7) {
    prefixes.push_back(absl::StrFormat("k%03d", i));
    expected.push_back(all[i]);
  }
  prefixes.push_back("k1999");  // between keys
  prefixes.push_back("z");      // past the end
  std::sort(prefixes.begin(), prefixes.end());
  EXPECT_EQ(KeysWithPrefixes(Family::kDedup, prefixes), expected);
  EXPECT_THAT(KeysWithPrefixes(Family::kDedup, {"k19"}),
              ElementsAre("k190x", "k191x", "k192x", "k193x", "k194x", "k195x", "k196x",
                          "k197x", "k198x", "k199x"));
  EXPECT_THAT(KeysWithPrefixes(Family::kDedup, {}), IsEmpty());
}

TEST_F(StoreReadTest, KeysWithPrefixesRejectsUnsortedPrefixesAndStopsWhenAsked) {
  PutOrDie(Family::kDedup, "a1", "p");
  PutOrDie(Family::kDedup, "a2", "p");
  std::vector<std::string> unsorted = {"b", "a"};
  EXPECT_THAT(store_->ScanKeysWithPrefixes(Family::kDedup, unsorted, nullptr,
                                           [](absl::string_view) { return true; }),
              StatusIs(absl::StatusCode::kInvalidArgument));
  int visits = 0;
  std::vector<std::string> prefixes = {"a"};
  ASSERT_THAT(store_->ScanKeysWithPrefixes(Family::kDedup, prefixes, nullptr,
                                           [&](absl::string_view) { return ++visits < 1; }),
              IsOk());
  EXPECT_EQ(visits, 1);
}

TEST_F(StoreReadTest, KeysWithPrefixesSeesTheSnapshot) {
  PutOrDie(Family::kDedup, "a1", "p");
  std::unique_ptr<Snapshot> snapshot = store_->GetSnapshot();
  PutOrDie(Family::kDedup, "a2", "p");
  EXPECT_THAT(KeysWithPrefixes(Family::kDedup, {"a"}, snapshot.get()), ElementsAre("a1"));
  EXPECT_THAT(KeysWithPrefixes(Family::kDedup, {"a"}), ElementsAre("a1", "a2"));
}

TEST_F(StoreReadTest, CountKeysWithPrefixesCountsEachPrefixUpToTheLimit) {
  // "a" has 30 keys (past the limit), "b" 3 and "c" none; "d" 5 right after a capped prefix.
  for (int i = 0; i < 30; ++i) PutOrDie(Family::kDedup, absl::StrFormat("a%02d", i), "p");
  for (int i = 0; i < 3; ++i) PutOrDie(Family::kDedup, absl::StrFormat("b%d", i), "p");
  for (int i = 0; i < 5; ++i) PutOrDie(Family::kDedup, absl::StrFormat("d%d", i), "p");
  std::vector<std::string> prefixes = {"a", "b", "c", "d", "e"};
  EXPECT_THAT(store_->CountKeysWithPrefixes(Family::kDedup, prefixes, 10),
              IsOkAndHolds(ElementsAre(10, 3, 0, 5, 0)));
  EXPECT_THAT(store_->CountKeysWithPrefixes(Family::kDedup, prefixes, 100),
              IsOkAndHolds(ElementsAre(30, 3, 0, 5, 0)));
  EXPECT_THAT(store_->CountKeysWithPrefixes(Family::kDedup, {}, 10),
              IsOkAndHolds(IsEmpty()));
  std::vector<std::string> unsorted = {"b", "a"};
  EXPECT_THAT(store_->CountKeysWithPrefixes(Family::kDedup, unsorted, 10),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Expires records with category 1.
class CategoryOneExpired : public RetentionPolicy {
 public:
  bool IsExpired(Family, const RecordMeta& meta, int64_t) const override {
    return meta.category == 1;
  }
};

TEST_F(StoreReadTest, ScanWithPrefixesOpensEachPrefixsRecordsAndNamesTheExpiredOnes) {
  StoreOptions options = Options();
  options.retention = std::make_shared<CategoryOneExpired>();
  Open(options);
  std::vector<ProfileId> profiles = {NewProfile(), NewProfile(), NewProfile(), NewProfile()};
  std::sort(profiles.begin(), profiles.end());
  // Profiles 0 and 2 have records; 1 has none; 3 has one expired record only.
  PutOrDie(Family::kEvents, ProfileRecordKey(profiles[0], 1, 0), "a1");
  PutOrDie(Family::kEvents, ProfileRecordKey(profiles[0], 2, 0), "a2-expired", {.category = 1});
  PutOrDie(Family::kEvents, ProfileRecordKey(profiles[0], 3, 0), "a3");
  PutOrDie(Family::kEvents, ProfileRecordKey(profiles[2], 1, 0), "c1");
  PutOrDie(Family::kEvents, ProfileRecordKey(profiles[3], 1, 0), "d1-expired", {.category = 1});
  std::vector<std::string> prefixes;
  for (const ProfileId& p : profiles) prefixes.push_back(ProfileKey(p));

  std::vector<std::string> seen;
  ASSERT_THAT(store_->ScanWithPrefixes(Family::kEvents, prefixes, nullptr,
                                       [&](size_t i, absl::string_view key,
                                           std::optional<Record> record) {
                                         EXPECT_TRUE(absl::StartsWith(key, prefixes[i]));
                                         seen.push_back(absl::StrCat(
                                             i, ":", record ? record->value : "expired"));
                                         return true;
                                       }),
              IsOk());
  EXPECT_THAT(seen, ElementsAre("0:a1", "0:expired", "0:a3", "2:c1", "3:expired"));
  // Keys only, by profile as well, with a limit that moves on before a profile's end.
  EXPECT_THAT(store_->CountKeysWithPrefixes(Family::kEvents, prefixes, 2),
              IsOkAndHolds(ElementsAre(2, 0, 1, 1)));

  int visits = 0;
  ASSERT_THAT(store_->ScanWithPrefixes(
                  Family::kEvents, prefixes, nullptr,
                  [&](size_t, absl::string_view, std::optional<Record>) { return ++visits < 2; }),
              IsOk());
  EXPECT_EQ(visits, 2);

  std::vector<std::string> unsorted = {prefixes[1], prefixes[0]};
  EXPECT_THAT(store_->ScanWithPrefixes(Family::kEvents, unsorted, nullptr,
                                       [](size_t, absl::string_view, std::optional<Record>) {
                                         return true;
                                       }),
              StatusIs(absl::StatusCode::kInvalidArgument));

  // A record that cannot be opened (its profile shredded) fails the scan.
  WriteBatch shred = store_->NewBatch();
  shred.DestroyDataKey(profiles[2]);
  ASSERT_THAT(store_->Write(shred), IsOk());
  absl::Status shredded = store_->ScanWithPrefixes(
      Family::kEvents, prefixes, nullptr,
      [](size_t, absl::string_view, std::optional<Record>) { return true; });
  EXPECT_TRUE(IsShredded(shredded)) << shredded;
}

TEST_F(StoreReadTest, MoveRecordsOfMovesWhatTheDestinationNamesAndKeepsTheRest) {
  ProfileId from = NewProfile(), to = NewProfile();
  PutOrDie(Family::kConsent, ProfileRecordKey(from, 1, 1), "go");
  PutOrDie(Family::kConsent, ProfileRecordKey(from, 2, 2), "stay");
  WriteBatch batch = store_->NewBatch();
  auto moved = store_->MoveRecordsOf(
      Family::kConsent, from, batch,
      [&](const Record& r) -> absl::StatusOr<std::optional<ProfileId>> {
        if (r.value == "go") return to;
        return std::nullopt;
      });
  EXPECT_THAT(moved, IsOkAndHolds(1u));
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_EQ(GetValueOrDie(Family::kConsent, ProfileRecordKey(to, 1, 1)), "go");
  EXPECT_EQ(GetValueOrDie(Family::kConsent, ProfileRecordKey(from, 1, 1)), "<absent>");
  EXPECT_EQ(GetValueOrDie(Family::kConsent, ProfileRecordKey(from, 2, 2)), "stay");

  WriteBatch failing = store_->NewBatch();
  EXPECT_THAT(store_->MoveRecordsOf(Family::kConsent, from, failing,
                                    [](const Record&) -> absl::StatusOr<std::optional<ProfileId>> {
                                      return absl::DataLossError("bad record");
                                    }),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(StoreReadTest, MetaRecordsRoundTripSurviveReopenAndNeverTouchStoreMeta) {
  CDP_ASSERT_OK_AND_ASSIGN(std::optional<std::string> absent, store_->GetMeta("audit_head"));
  EXPECT_EQ(absent, std::nullopt);
  WriteBatch batch = store_->NewBatch();
  batch.PutMeta("audit_head", "v1");
  batch.PutMeta("meta", "not the store's meta");  // a user's "meta" is kept apart
  ASSERT_THAT(store_->Write(batch), IsOk());
  Open();  // would fail if the store's own meta record had been overwritten
  CDP_ASSERT_OK_AND_ASSIGN(std::optional<std::string> head, store_->GetMeta("audit_head"));
  EXPECT_EQ(head, std::optional<std::string>("v1"));
  std::unique_ptr<Snapshot> snapshot = store_->GetSnapshot();
  WriteBatch remove = store_->NewBatch();
  remove.DeleteMeta("audit_head");
  ASSERT_THAT(store_->Write(remove), IsOk());
  CDP_ASSERT_OK_AND_ASSIGN(head, store_->GetMeta("audit_head"));
  EXPECT_EQ(head, std::nullopt);
  CDP_ASSERT_OK_AND_ASSIGN(head, store_->GetMeta("audit_head", snapshot.get()));
  EXPECT_EQ(head, std::optional<std::string>("v1"));
}

TEST_F(StoreReadTest, DerivedKeysAreStablePerPurposeAndDifferAcrossPurposesAndKeyFiles) {
  const std::string first = std::string(store_->DeriveKey("audit-head.v1").view());
  EXPECT_EQ(first.size(), 32u);
  EXPECT_NE(first, std::string(store_->DeriveKey("other.v1").view()));
  Open();
  EXPECT_EQ(first, std::string(store_->DeriveKey("audit-head.v1").view()));
  StoreOptions other = Options();
  other.data_dir = dir_.Sub("other");
  Open(other);
  EXPECT_NE(first, std::string(store_->DeriveKey("audit-head.v1").view()));
}

}  // namespace
}  // namespace cdp::storage
