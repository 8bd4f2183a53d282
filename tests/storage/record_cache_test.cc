// The record cache alone (tickets, invalidation, capacity) and through the Store: every read
// sees the last completed write, snapshots and shredded profiles bypass it, retention applies.

#include "storage/record_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/errors.h"
#include "tests/storage/store_fixture.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::Optional;

Record R(std::string value) {
  return Record{.meta = {.category = 1, .time_micros = 2}, .value = std::move(value)};
}

TEST(RecordCacheTest, CachesRecordsAndAbsencesPerFamilyAndKey) {
  RecordCache cache(1 << 20);
  EXPECT_EQ(cache.Lookup(Family::kProfiles, "a"), std::nullopt);
  cache.Insert(Family::kProfiles, "a", R("one"), cache.Prepare(Family::kProfiles, "a"));
  cache.Insert(Family::kSuppression, "a", std::nullopt, cache.Prepare(Family::kSuppression, "a"));
  EXPECT_THAT(cache.Lookup(Family::kProfiles, "a"), Optional(Optional(R("one"))));
  // A known absence is a cached answer too, and families do not share keys.
  EXPECT_THAT(cache.Lookup(Family::kSuppression, "a"), Optional(std::optional<Record>()));
  EXPECT_EQ(cache.Lookup(Family::kIdentifiers, "a"), std::nullopt);
  EXPECT_GT(cache.usage(), 0u);
}

TEST(RecordCacheTest, AReadThatRacedAnInvalidationIsNotCached) {
  RecordCache cache(1 << 20);
  RecordCache::Ticket before = cache.Prepare(Family::kProfiles, "k");
  cache.Invalidate(Family::kProfiles, "k");  // a write landed after the read began
  cache.Insert(Family::kProfiles, "k", R("stale"), before);
  EXPECT_EQ(cache.Lookup(Family::kProfiles, "k"), std::nullopt);

  RecordCache::Ticket after = cache.Prepare(Family::kProfiles, "k");
  cache.Insert(Family::kProfiles, "k", R("fresh"), after);
  EXPECT_THAT(cache.Lookup(Family::kProfiles, "k"), Optional(Optional(R("fresh"))));
  cache.Invalidate(Family::kProfiles, "k");
  EXPECT_EQ(cache.Lookup(Family::kProfiles, "k"), std::nullopt);
}

TEST(RecordCacheTest, InvalidateAllForgetsEverythingAndRefusesReadsBegunBefore) {
  RecordCache cache(1 << 20);
  cache.Insert(Family::kProfiles, "a", R("a"), cache.Prepare(Family::kProfiles, "a"));
  RecordCache::Ticket before = cache.Prepare(Family::kRedirects, "b");
  cache.InvalidateAll();
  EXPECT_EQ(cache.Lookup(Family::kProfiles, "a"), std::nullopt);
  cache.Insert(Family::kRedirects, "b", R("b"), before);
  EXPECT_EQ(cache.Lookup(Family::kRedirects, "b"), std::nullopt);
}

TEST(RecordCacheTest, StaysWithinItsCapacity) {
  constexpr size_t kCapacity = 1 << 20;
  RecordCache cache(kCapacity);
  const std::string value(1000, 'x');
  for (int i = 0; i < 5000; ++i) {  // ~5 MB offered
    const std::string key = absl::StrCat("key", i);
    cache.Insert(Family::kProfiles, key, R(value), cache.Prepare(Family::kProfiles, key));
  }
  EXPECT_LE(cache.usage(), kCapacity);
  EXPECT_GT(cache.usage(), kCapacity / 2);
  EXPECT_THAT(cache.Lookup(Family::kProfiles, "key4999"), Optional(Optional(R(value))));
}

class StoreRecordCacheTest : public testing::StoreTestBase {
 protected:
  void SetUp() override { Open(); }
};

TEST_F(StoreRecordCacheTest, EveryReadSeesTheLastWriteOfItsKey) {
  ProfileId a = NewProfile();
  const std::string key = ProfileKey(a);
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, key), "<absent>");  // absence cached
  PutOrDie(Family::kProfiles, key, "v1");
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, key), "v1");
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, key), "v1");  // now from the cache
  PutOrDie(Family::kProfiles, key, "v2");
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, key), "v2");
  WriteBatch batch = store_->NewBatch();
  batch.Delete(Family::kProfiles, key);
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, key), "<absent>");

  // MultiGet mixes hits and misses and keeps the order of its keys.
  const std::string index_a(32, 'a'), index_b(32, 'b'), index_c(32, 'c');
  PutOrDie(Family::kIdentifiers, index_a, "A");
  EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, index_a), "A");
  EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, index_c), "<absent>");
  PutOrDie(Family::kIdentifiers, index_c, "C");
  auto records = store_->MultiGet(Family::kIdentifiers, {index_c, index_b, index_a});
  ASSERT_THAT(records, IsOk());
  ASSERT_EQ(records->size(), 3u);
  EXPECT_THAT((*records)[0], Optional(::testing::Field(&Record::value, "C")));
  EXPECT_EQ((*records)[1], std::nullopt);
  EXPECT_THAT((*records)[2], Optional(::testing::Field(&Record::value, "A")));
  PutOrDie(Family::kIdentifiers, index_b, "B");
  records = store_->MultiGet(Family::kIdentifiers, {index_b});
  ASSERT_THAT(records, IsOk());
  EXPECT_THAT((*records)[0], Optional(::testing::Field(&Record::value, "B")));
  EXPECT_GT(store_->Stats()->record_cache_usage_bytes, 0u);
}

TEST_F(StoreRecordCacheTest, PrefixDeletesAndSnapshotsAreHonoured) {
  ProfileId a = NewProfile();
  PutOrDie(Family::kProfiles, ProfileChildKey(a, "x"), "old");
  std::unique_ptr<Snapshot> snapshot = store_->GetSnapshot();
  PutOrDie(Family::kProfiles, ProfileChildKey(a, "x"), "new");
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileChildKey(a, "x")), "new");
  auto at_snapshot = store_->Get(Family::kProfiles, ProfileChildKey(a, "x"), snapshot.get());
  ASSERT_THAT(at_snapshot, IsOk());
  EXPECT_THAT(*at_snapshot, Optional(::testing::Field(&Record::value, "old")));

  WriteBatch batch = store_->NewBatch();
  batch.DeletePrefix(Family::kProfiles, ProfileKey(a));
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileChildKey(a, "x")), "<absent>");
}

TEST_F(StoreRecordCacheTest, ADestroyedDataKeyLeavesNoReadablePlaintextBehind) {
  ProfileId a = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(a), "secret");
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(a)), "secret");  // cached
  WriteBatch batch = store_->NewBatch();
  batch.DestroyDataKey(a);  // records left in place: crypto-shredding alone
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_TRUE(IsShredded(store_->Get(Family::kProfiles, ProfileKey(a)).status()));
}

TEST_F(StoreRecordCacheTest, ACachedRecordExpiresLikeAStoredOne) {
  StoreOptions options = Options();
  options.retention =
      std::make_shared<testing::CategoryTtl>(Family::kProfiles, 7, 100'000'000);  // 100 s
  Open(options);
  ProfileId a = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(a), "short-lived",
           {.category = 7, .time_micros = clock_.NowMicros()});
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(a)), "short-lived");
  clock_.Advance(101'000'000);
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(a)), "<absent>");
  auto records = store_->MultiGet(Family::kProfiles, {ProfileKey(a)});
  ASSERT_THAT(records, IsOk());
  EXPECT_EQ((*records)[0], std::nullopt);
}

TEST_F(StoreRecordCacheTest, ConcurrentReadersEndOnTheLastWrite) {
  const std::string key(32, 'k');
  constexpr int kWrites = 300;
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  std::vector<std::string> last(3);
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      while (!done.load()) {
        auto record = store_->Get(Family::kIdentifiers, key);
        if (record.ok() && record->has_value()) last[r] = (*record)->value;
      }
      last[r] = GetValueOrDie(Family::kIdentifiers, key);
    });
  }
  for (int i = 1; i <= kWrites; ++i) PutOrDie(Family::kIdentifiers, key, absl::StrCat(i));
  done = true;
  for (std::thread& t : readers) t.join();
  const std::string final_value = absl::StrCat(kWrites);
  EXPECT_THAT(last, ElementsAre(final_value, final_value, final_value));
  EXPECT_EQ(GetValueOrDie(Family::kIdentifiers, key), final_value);
}

}  // namespace
}  // namespace cdp::storage
