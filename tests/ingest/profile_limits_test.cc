// Profile limits (PipelineOptions::profile_limits): a feed with ever-new trait, event or group
// names cannot grow one profile without bound. A held name is always updated; a new one past
// its cap is not kept and is counted; the events themselves are accepted and stored.

#include <gtest/gtest.h>

#include <string>

#include "ingest/pipeline.h"
#include "ingest/profile_data.h"
#include "tests/ingest/pipeline_fixture.h"

namespace cdp::ingest {
namespace {

class ProfileLimitsTest : public testing::PipelineTestBase {
 protected:
  void SetUp() override {
    pipeline_options_.profile_limits = {.max_traits = 3, .max_event_names = 2, .max_groups = 1};
    Open();
  }
};

TEST_F(ProfileLimitsTest, NewNamesPastTheCapsAreCountedNotKeptAndHeldOnesStillUpdate) {
  IngestSummary first = Ingest({
      R"({"type":"identify","messageId":"l1","userId":"u","traits":{"a":1,"b":2,"c":3,"d":4},"timestamp":"2026-11-01T10:00:00Z"})",
      R"({"type":"track","messageId":"l2","userId":"u","event":"Viewed 1","timestamp":"2026-11-01T10:01:00Z"})",
      R"({"type":"track","messageId":"l3","userId":"u","event":"Viewed 2","timestamp":"2026-11-01T10:02:00Z"})",
      R"({"type":"group","messageId":"l4","userId":"u","groupId":"g1","timestamp":"2026-11-01T10:03:00Z"})",
      R"({"type":"group","messageId":"l5","userId":"u","groupId":"g2","timestamp":"2026-11-01T10:04:00Z"})",
  });
  EXPECT_EQ(first.accepted, 5u) << "limits never reject an event";
  EXPECT_EQ(first.dropped.traits, 1u);       // d
  EXPECT_EQ(first.dropped.event_names, 3u);  // Viewed 2, group, group (identify, Viewed 1 kept)
  EXPECT_EQ(first.dropped.groups, 1u);       // g2
  const ProfileId u = ProfileOf("user_id", "u");
  EXPECT_EQ(EventCount(u), 5u);

  IngestSummary second = Ingest({
      R"({"type":"identify","messageId":"l6","userId":"u","traits":{"a":10,"e":5},"timestamp":"2026-11-01T11:00:00Z"})",
  });
  EXPECT_EQ(second.dropped.traits, 1u);  // e
  pb::ProfileData data = DataOf(u);
  EXPECT_EQ(data.traits_size(), 3);
  EXPECT_EQ(data.traits().at("a").json(), "10") << "a held trait still updates";
  EXPECT_FALSE(data.traits().contains("d"));
  EXPECT_FALSE(data.traits().contains("e"));
  EXPECT_EQ(data.events_size(), 2);
  EXPECT_EQ(data.events().at("identify").count(), 2u) << "a held event name still counts";
  EXPECT_EQ(data.total_events(), 6u) << "every event counts in the total";
  EXPECT_EQ(data.groups_size(), 1);
}

TEST_F(ProfileLimitsTest, AMergeKeepsTheSurvivorWithinTheCaps) {
  Ingest({
      R"({"type":"identify","messageId":"m1","anonymousId":"web-1","traits":{"a":1,"b":2},"timestamp":"2026-11-01T10:00:00Z"})",
      R"({"type":"identify","messageId":"m2","userId":"app-1","traits":{"c":3,"d":4},"timestamp":"2026-11-01T10:01:00Z"})",
      R"({"type":"track","messageId":"m2b","userId":"app-1","event":"Opened","timestamp":"2026-11-01T10:01:30Z"})",
  });
  ASSERT_NE(ProfileOf("anonymous_id", "web-1"), ProfileOf("user_id", "app-1"));
  IngestSummary login = Ingest({
      R"({"type":"track","messageId":"m3","anonymousId":"web-1","userId":"app-1","event":"Signed In","timestamp":"2026-11-01T10:02:00Z"})",
  });
  EXPECT_EQ(login.accepted, 1u);
  const ProfileId merged = ProfileOf("user_id", "app-1");
  ASSERT_EQ(ProfileOf("anonymous_id", "web-1"), merged);
  pb::ProfileData data = DataOf(merged);
  EXPECT_EQ(data.traits_size(), 3) << "4 traits combined under a cap of 3";
  EXPECT_EQ(data.events_size(), 2) << "identify, Opened, then Signed In under a cap of 2";
  EXPECT_EQ(data.total_events(), 4u);
  EXPECT_EQ(login.dropped.traits, 1u);
  EXPECT_EQ(login.dropped.event_names, 1u);  // Signed In (identify and Opened combine)
}

}  // namespace
}  // namespace cdp::ingest
