#include "consent/retention_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "consent/record_category.h"
#include "storage/key_codec.h"
#include "storage/store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace cdp::consent {
namespace {

using ::cdp::testing::IsOk;
using storage::Family;

constexpr int64_t kDay = 86'400'000'000;

TEST(RecordCategoryTest, EventCategoriesCarryTypeAndNameDigest) {
  uint32_t c = EventCategory("page", "Home");
  EXPECT_TRUE(IsEventCategory(c));
  EXPECT_EQ(EventTypeBits(c), 2u);
  EXPECT_EQ(EventNameBits(c), EventNameDigest("Home"));
  EXPECT_NE(EventCategory("track", "Home"), c);
  EXPECT_FALSE(IsEventCategory(kCategoryDedup));
}

TEST(RetentionPolicyTest, NameBeatsTypeBeatsDefault) {
  RetentionOptions options;
  options.events_ttl_seconds = 100 * 86400;
  options.event_type_ttl_seconds["page"] = 10 * 86400;
  options.event_name_ttl_seconds["Checkout"] = 1 * 86400;
  RetentionPolicy policy(options);
  EXPECT_EQ(policy.EventTtlSeconds(EventCategory("track", "Checkout")), 86400);
  EXPECT_EQ(policy.EventTtlSeconds(EventCategory("page", "Home")), 10 * 86400);
  EXPECT_EQ(policy.EventTtlSeconds(EventCategory("track", "Order")), 100 * 86400);
  const int64_t now = 1000 * kDay;
  EXPECT_TRUE(policy.IsExpired(Family::kEvents,
                               {.category = EventCategory("track", "Checkout"),
                                .time_micros = now - 2 * kDay},
                               now));
  EXPECT_FALSE(policy.IsExpired(
      Family::kEvents, {.category = EventCategory("page", "Home"), .time_micros = now - 2 * kDay},
      now));
  // Not an events record: never expired by event TTLs.
  EXPECT_FALSE(policy.IsExpired(Family::kProfiles,
                                {.category = kCategoryProfileData, .time_micros = 0}, now));
}

TEST(RetentionPolicyTest, DedupWindowTraitsAndInactiveProfiles) {
  RetentionOptions options;
  options.dedup_window_seconds = 7 * 86400;
  options.traits_ttl_seconds = 30 * 86400;
  options.inactive_profile_ttl_seconds = 365 * 86400;
  RetentionPolicy policy(options);
  const int64_t now = 1000 * kDay;
  EXPECT_TRUE(policy.IsExpired(Family::kDedup, {.time_micros = now - 8 * kDay}, now));
  EXPECT_FALSE(policy.IsExpired(Family::kDedup, {.time_micros = now - 6 * kDay}, now));
  EXPECT_TRUE(policy.TraitExpired(now - 31 * kDay, now));
  EXPECT_FALSE(policy.TraitExpired(now - 29 * kDay, now));
  EXPECT_TRUE(policy.ProfileInactive(now - 400 * kDay, now));
  EXPECT_FALSE(policy.ProfileInactive(now - 10 * kDay, now));
  EXPECT_FALSE(RetentionPolicy(RetentionOptions{}).ProfileInactive(0, now));
}

TEST(RetentionPolicyTest, ConversationsExpireAtTheExpiryTheyCarry) {
  RetentionPolicy policy(RetentionOptions{});
  const int64_t now = 1000 * kDay;
  EXPECT_TRUE(policy.IsExpired(Family::kConversations,
                               {.category = kCategoryConversation, .time_micros = now}, now));
  EXPECT_FALSE(policy.IsExpired(Family::kConversations,
                                {.category = kCategoryConversation, .time_micros = now + 1}, now));
  // Without the conversation category the header time is not an expiry.
  EXPECT_FALSE(policy.IsExpired(Family::kConversations, {.time_micros = 0}, now));
}

TEST(RetentionPolicyTest, ExpiredEventsNeverComeBackAndCompactionRemovesThem) {
  cdp::testing::TempDir dir;
  ManualClock clock(500 * kDay);
  RetentionOptions retention;
  retention.event_name_ttl_seconds["Page Ping"] = 86400;
  storage::StoreOptions options;
  options.data_dir = dir.Sub("data");
  options.block_cache_bytes = 8 << 20;
  options.write_buffer_bytes = 4 << 20;
  options.clock = &clock;
  options.retention = std::make_shared<RetentionPolicy>(retention);
  auto store = storage::Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ProfileId p = ProfileId::Random();
  storage::WriteBatch batch = (*store)->NewBatch();
  ASSERT_THAT(batch.CreateDataKey(p), IsOk());
  const int64_t now = clock.NowMicros();
  ASSERT_THAT(batch.Put(Family::kEvents, storage::ProfileRecordKey(p, now, 1),
                        {.category = EventCategory("track", "Page Ping"), .time_micros = now},
                        "ping"),
              IsOk());
  ASSERT_THAT(batch.Put(Family::kEvents, storage::ProfileRecordKey(p, now, 2),
                        {.category = EventCategory("track", "Order"), .time_micros = now},
                        "order"),
              IsOk());
  ASSERT_THAT((*store)->Write(batch), IsOk());
  auto count = [&] {
    int n = 0;
    EXPECT_THAT((*store)->Scan(Family::kEvents, storage::ProfileKey(p), {},
                               [&](absl::string_view, storage::Record) {
                                 ++n;
                                 return true;
                               }),
                IsOk());
    return n;
  };
  EXPECT_EQ(count(), 2);
  clock.Advance(2 * kDay);
  EXPECT_EQ(count(), 1);  // expired before any compaction
  auto ping = (*store)->Get(Family::kEvents, storage::ProfileRecordKey(p, now, 1));
  ASSERT_THAT(ping, IsOk());
  EXPECT_FALSE(ping->has_value());
  ASSERT_THAT((*store)->CompactAll(), IsOk());
  auto stats = (*store)->Stats();
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->estimated_keys[static_cast<size_t>(Family::kEvents)], 1u);
}

}  // namespace
}  // namespace cdp::consent
