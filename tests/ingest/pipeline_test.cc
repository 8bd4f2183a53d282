// The ingest pipeline end to end against a real store: parse, dedup, resolve, consent, store.

#include "ingest/pipeline.h"
#include "tests/ingest/pipeline_fixture.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ingest/profile_data.h"
#include "ingest/segment_parser.h"
#include "storage/key_codec.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_store.h"

namespace cdp::ingest {
namespace {

using ::cdp::testing::IsOk;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Key;

class PipelineTest : public testing::PipelineTestBase {};

TEST_F(PipelineTest, EveryEventTypeReachesTheProfile) {
  IngestSummary summary = Ingest({
      R"({"type":"identify","messageId":"m1","userId":"u1","traits":{"email":"Ann@Example.com","plan":"gold"},"timestamp":"2026-11-01T10:00:00Z"})",
      R"({"type":"track","messageId":"m2","userId":"u1","event":"Order Completed","properties":{"total":42},"context":{"channel":"web"},"timestamp":"2026-11-01T10:01:00Z"})",
      R"({"type":"page","messageId":"m3","userId":"u1","name":"Home","timestamp":"2026-11-01T10:02:00Z"})",
      R"({"type":"screen","messageId":"m4","anonymousId":"app-anon","name":"Cart","context":{"channel":"mobile"},"timestamp":"2026-11-01T10:03:00Z"})",
      R"({"type":"group","messageId":"m5","userId":"u1","groupId":"acme","traits":{"industry":"retail"},"timestamp":"2026-11-01T10:04:00Z"})",
      R"({"type":"alias","messageId":"m6","previousId":"app-anon","userId":"u1","timestamp":"2026-11-01T10:05:00Z"})",
  });
  EXPECT_EQ(summary.accepted, 6u) << summary.records[0].reason;
  EXPECT_EQ(summary.rejected, 0u);
  const ProfileId ann = ProfileOf("user_id", "u1");
  EXPECT_EQ(ProfileOf("email", "ann@example.com"), ann);
  EXPECT_EQ(ProfileOf("anonymous_id", "app-anon"), ann);  // linked by the alias
  EXPECT_EQ(EventCount(ann), 6u);
  pb::ProfileData data = DataOf(ann);
  EXPECT_EQ(data.traits().at("plan").json(), "\"gold\"");
  EXPECT_EQ(data.traits().at("plan").source(), "m1");
  EXPECT_EQ(data.total_events(), 6u);
  EXPECT_EQ(data.events().at("Order Completed").count(), 1u);
  EXPECT_EQ(data.events().at("page:Home").count(), 1u);
  EXPECT_THAT(data.groups(), ElementsAre("acme"));
  EXPECT_THAT(std::vector<std::string>(data.channels().begin(), data.channels().end()),
              ::testing::UnorderedElementsAre("web", "mobile"));
}

TEST_F(PipelineTest, TraitsMergePerTraitByEventTime) {
  Ingest(
      {R"({"type":"identify","messageId":"a","userId":"u","traits":{"plan":"new","city":"Oslo"},"timestamp":"2026-11-02T00:00:00Z"})",
       R"({"type":"identify","messageId":"b","userId":"u","traits":{"plan":"old"},"timestamp":"2026-11-01T00:00:00Z"})"});
  pb::ProfileData data = DataOf(ProfileOf("user_id", "u"));
  EXPECT_EQ(data.traits().at("plan").json(), "\"new\"");  // the older update arrived late
  EXPECT_EQ(data.traits().at("city").json(), "\"Oslo\"");
}

TEST_F(PipelineTest, DuplicatesWithinACallAcrossCallsAndAcrossARestart) {
  const std::string event =
      R"({"type":"track","messageId":"dup-1","userId":"u","event":"E","timestamp":"2026-11-01T00:00:00Z"})";
  IngestSummary first = Ingest({event, event});
  EXPECT_EQ(first.accepted, 1u);
  EXPECT_EQ(first.duplicate, 1u);
  EXPECT_EQ(Ingest({event}).duplicate, 1u);
  Open();
  EXPECT_EQ(Ingest({event}).duplicate, 1u);
  EXPECT_EQ(EventCount(ProfileOf("user_id", "u")), 1u);
}

TEST_F(PipelineTest, RedeliveringRecordsWithoutMessageIdNeverDoubleCounts) {
  const std::vector<std::string> feed = {
      R"({"type":"track","userId":"v","event":"A","timestamp":"2026-11-01T00:00:00Z"})",
      R"({"type":"track","userId":"v","event":"B","timestamp":"2026-11-01T00:00:00Z"})"};
  EXPECT_EQ(Ingest(feed).accepted, 2u);
  IngestSummary again = Ingest(feed);
  EXPECT_EQ(again.duplicate, 2u);
  EXPECT_EQ(again.accepted, 0u);
}

TEST_F(PipelineTest, MixedBatchAppliesExactlyTheGoodRecordsAndReportsTheRest) {
  IngestSummary summary = Ingest({
      R"({"type":"track","messageId":"g1","userId":"w","event":"E"})",
      R"({"type":"track","messageId":"b1","event":"E"})",
      R"({not json)",
      R"({"type":"track","messageId":"b2","userId":"null","event":"E"})",
      R"({"type":"track","messageId":"g2","userId":"w","event":"F"})",
  });
  EXPECT_EQ(summary.accepted, 2u);
  EXPECT_EQ(summary.rejected, 3u);
  ASSERT_EQ(summary.records.size(), 5u);
  std::vector<std::pair<uint64_t, std::string>> rejected;
  for (const RecordResult& r : summary.records) {
    if (r.outcome == Outcome::kRejected) rejected.push_back({r.position, r.reason});
  }
  ASSERT_EQ(rejected.size(), 3u);
  EXPECT_EQ(rejected[0].first, 2u);
  EXPECT_EQ(rejected[1].first, 3u);
  EXPECT_EQ(rejected[2].first, 4u);
  EXPECT_THAT(rejected[2].second, HasSubstr("no usable identifier"));
  EXPECT_THAT(summary.identifier_rejections, Contains(Key("user_id/blocked")));
  EXPECT_EQ(EventCount(ProfileOf("user_id", "w")), 2u);
}

TEST_F(PipelineTest, EventsForDeniedPurposesAreFilteredButTheirConsentIsRecorded) {
  consent::ConsentOptions options;
  options.default_event_purposes = {"analytics"};
  Open(options);
  IngestSummary summary = Ingest({
      R"({"type":"track","messageId":"c1","userId":"x","event":"E","context":{"consent":{"categoryPreferences":{"analytics":false,"marketing":true,"telemetry":true}}},"timestamp":"2026-11-01T00:00:00Z"})",
      R"({"type":"track","messageId":"c2","userId":"x","event":"E","context":{"consent":{"categoryPreferences":{"analytics":true}}},"timestamp":"2026-11-01T00:00:01Z"})",
  });
  EXPECT_EQ(summary.filtered, 1u);
  EXPECT_EQ(summary.accepted, 1u);
  EXPECT_THAT(summary.unknown_consent_categories, Contains(Key("telemetry")));
  const ProfileId x = ProfileOf("user_id", "x");
  EXPECT_EQ(EventCount(x), 1u);
  auto state = ledger_->State(x);
  ASSERT_THAT(state, IsOk());
  EXPECT_TRUE(state->Allowed("marketing"));
  EXPECT_TRUE(state->Allowed("analytics"));
}

// A filtered event is kept nowhere unless it changed the ledger: then its dedup entry stops a
// replay from appending its consent changes twice; otherwise a replay is simply filtered again.
TEST_F(PipelineTest, ReplayOfAFilteredEventIsADuplicateOnlyWhenItChangedConsent) {
  consent::ConsentOptions options;
  options.default_event_purposes = {"analytics"};
  Open(options);
  const std::vector<std::string> feed = {
      R"({"type":"track","messageId":"f1","userId":"x","event":"E","context":{"consent":{"categoryPreferences":{"analytics":false}}},"timestamp":"2026-11-01T00:00:00Z"})",
      R"({"type":"track","messageId":"f2","userId":"x","event":"E","timestamp":"2026-11-01T00:00:01Z"})",
  };
  IngestSummary first = Ingest(feed);
  EXPECT_EQ(first.filtered, 2u);
  const ProfileId x = ProfileOf("user_id", "x");
  auto history = ledger_->History(x);
  ASSERT_THAT(history, IsOk());
  const size_t changes = history->size();
  EXPECT_GE(changes, 1u);

  IngestSummary replay = Ingest(feed);
  EXPECT_EQ(replay.duplicate, 1u);  // f1
  EXPECT_EQ(replay.filtered, 1u);   // f2
  ASSERT_EQ(replay.records.size(), 2u);
  EXPECT_EQ(replay.records[0].outcome, Outcome::kDuplicate);
  EXPECT_EQ(replay.records[1].outcome, Outcome::kFiltered);
  history = ledger_->History(x);
  ASSERT_THAT(history, IsOk());
  EXPECT_EQ(history->size(), changes);
  EXPECT_EQ(EventCount(x), 0u);
}

TEST_F(PipelineTest, MergeCombinesTraitsFactsAndEvents) {
  Ingest(
      {R"({"type":"identify","messageId":"p1","anonymousId":"web-9","traits":{"color":"red"},"timestamp":"2026-11-01T00:00:00Z"})",
       R"({"type":"page","messageId":"p2","anonymousId":"web-9","name":"Home","timestamp":"2026-11-01T00:01:00Z"})"});
  Ingest(
      {R"({"type":"identify","messageId":"p3","userId":"y","traits":{"email":"y@example.com","size":"M"},"timestamp":"2026-11-02T00:00:00Z"})"});
  ASSERT_NE(ProfileOf("anonymous_id", "web-9"), ProfileOf("user_id", "y"));
  IngestSummary summary = Ingest(
      {R"({"type":"track","messageId":"p4","userId":"y","anonymousId":"web-9","event":"Signed In","timestamp":"2026-11-03T00:00:00Z"})"});
  EXPECT_EQ(summary.accepted, 1u);
  const ProfileId merged = ProfileOf("user_id", "y");
  EXPECT_EQ(ProfileOf("anonymous_id", "web-9"), merged);
  pb::ProfileData data = DataOf(merged);
  EXPECT_EQ(data.traits().at("color").json(), "\"red\"");
  EXPECT_EQ(data.traits().at("size").json(), "\"M\"");
  EXPECT_EQ(data.total_events(), 4u);
  EXPECT_EQ(EventCount(merged), 4u);
}

// Two people wrongly merged through a shared kiosk: after the unmerge each profile has the traits,
// facts and consent of its own events only, and the original no longer shows the other person's.
TEST_F(PipelineTest, UnmergeGivesEachPartTheTraitsAndFactsOfItsOwnEvents) {
  Ingest({
      R"({"type":"identify","messageId":"k1","userId":"fay","traits":{"plan":"gold"},"context":{"device":{"id":"kiosk"},"consent":{"categoryPreferences":{"analytics":true}}},"timestamp":"2026-11-01T10:00:00Z"})",
      R"({"type":"track","messageId":"k2","userId":"fay","event":"Bought","context":{"device":{"id":"kiosk"},"channel":"web"},"timestamp":"2026-11-01T10:01:00Z"})",
      R"({"type":"identify","messageId":"k3","anonymousId":"gus-app","traits":{"email":"gus@example.com","plan":"silver","city":"Oslo"},"context":{"device":{"id":"kiosk"},"channel":"mobile","consent":{"categoryPreferences":{"marketing":true}}},"timestamp":"2026-11-01T10:02:00Z"})",
      R"({"type":"group","messageId":"k4","userId":"fay","groupId":"acme","context":{"device":{"id":"kiosk"}},"timestamp":"2026-11-01T10:03:00Z"})",
  });
  const ProfileId merged = ProfileOf("user_id", "fay");
  ASSERT_EQ(ProfileOf("email", "gus@example.com"), merged);
  ASSERT_EQ(DataOf(merged).traits().at("plan").json(), "\"silver\"");
  CDP_ASSERT_OK_AND_ASSIGN(consent::ConsentState merged_consent, ledger_->State(merged));
  ASSERT_TRUE(merged_consent.Allowed("analytics"));
  ASSERT_TRUE(merged_consent.Allowed("marketing"));
  {
    // Set through the API: personalization named by gus's email (the API records the
    // identifier's hash), support for the profile id (nothing says whose it was).
    const crypto::Digest gus_email = store_->blind_index().Hash("email", "gus@example.com");
    absl::MutexLock lock(&store_->profile_writer_mutex());
    storage::WriteBatch batch = store_->NewBatch();
    const consent::ConsentSource api{.kind = consent::ConsentSource::Kind::kApi, .detail = "crm"};
    ASSERT_THAT(ledger_->Append(batch, merged,
                                {.purpose = "personalization",
                                 .granted = true,
                                 .effective_micros = 1,
                                 .source = api,
                                 .subject = std::string(gus_email.begin(), gus_email.end())}),
                IsOk());
    ASSERT_THAT(ledger_->Append(batch, merged,
                                {.purpose = "support", .granted = true, .effective_micros = 1,
                                 .source = api}),
                IsOk());
    ASSERT_THAT(store_->Write(batch), IsOk());
  }

  {
    absl::MutexLock lock(&store_->profile_writer_mutex());
    storage::WriteBatch batch = store_->NewBatch();
    CDP_ASSERT_OK_AND_ASSIGN(
        identity::UnmergeReport report,
        graph_->Unmerge(merged, normalizer_->Normalize("device_id", "kiosk").identifier,
                        "ops@example.com", "TICKET-9", batch));
    ASSERT_EQ(report.parts.size(), 3u);
    ASSERT_THAT(store_->Write(batch), IsOk());
  }

  const ProfileId fay = ProfileOf("user_id", "fay");
  const ProfileId gus = ProfileOf("email", "gus@example.com");
  ASSERT_EQ(fay, merged);  // three events against one: fay keeps the id
  ASSERT_NE(gus, fay);

  const pb::ProfileData fay_data = DataOf(fay);
  EXPECT_EQ(fay_data.traits().at("plan").json(), "\"gold\"");
  EXPECT_EQ(fay_data.traits().at("plan").source(), "k1");
  EXPECT_FALSE(fay_data.traits().contains("city"));
  EXPECT_FALSE(fay_data.traits().contains("email"));
  EXPECT_EQ(fay_data.total_events(), 3u);
  EXPECT_EQ(fay_data.events().at("Bought").count(), 1u);
  EXPECT_EQ(fay_data.events().at("identify").count(), 1u);
  EXPECT_FALSE(fay_data.events().contains("screen"));
  EXPECT_THAT(fay_data.channels(), ElementsAre("web"));
  EXPECT_THAT(fay_data.groups(), ElementsAre("acme"));

  const pb::ProfileData gus_data = DataOf(gus);
  EXPECT_EQ(gus_data.traits().at("plan").json(), "\"silver\"");
  EXPECT_EQ(gus_data.traits().at("city").json(), "\"Oslo\"");
  EXPECT_EQ(gus_data.traits().at("city").source(), "k3");
  EXPECT_EQ(gus_data.total_events(), 1u);
  EXPECT_EQ(gus_data.events().at("identify").count(), 1u);
  EXPECT_EQ(gus_data.first_seen_micros(), gus_data.last_seen_micros());
  EXPECT_THAT(gus_data.channels(), ElementsAre("mobile"));
  EXPECT_TRUE(gus_data.groups().empty());

  // Consent given with an event follows the event.
  CDP_ASSERT_OK_AND_ASSIGN(consent::ConsentState fay_consent, ledger_->State(fay));
  EXPECT_TRUE(fay_consent.Allowed("analytics"));
  EXPECT_FALSE(fay_consent.Allowed("marketing"));
  CDP_ASSERT_OK_AND_ASSIGN(consent::ConsentState gus_consent, ledger_->State(gus));
  EXPECT_TRUE(gus_consent.Allowed("marketing"));
  EXPECT_FALSE(gus_consent.Allowed("analytics"));
  // Consent set through an identifier follows the identifier; for a profile id it stays.
  EXPECT_TRUE(gus_consent.Allowed("personalization"));
  EXPECT_FALSE(fay_consent.Allowed("personalization"));
  const auto api_purposes = [&](const ProfileId& profile) {
    std::vector<std::string> purposes;
    absl::StatusOr<std::vector<consent::ConsentChange>> history = ledger_->History(profile);
    EXPECT_THAT(history, IsOk());
    if (!history.ok()) return purposes;
    for (const consent::ConsentChange& change : *history) {
      if (change.source.kind == consent::ConsentSource::Kind::kApi) {
        purposes.push_back(change.purpose);
      }
    }
    return purposes;
  };
  EXPECT_THAT(api_purposes(fay), ElementsAre("support"));
  EXPECT_THAT(api_purposes(gus), ElementsAre("personalization"));

  // The kiosk alone carried no event of its own: its profile has no data.
  const ProfileId kiosk = ProfileOf("device_id", "kiosk");
  EXPECT_NE(kiosk, fay);
  EXPECT_NE(kiosk, gus);
  CDP_ASSERT_OK_AND_ASSIGN(std::optional<storage::Record> kiosk_data,
                           store_->Get(storage::Family::kProfiles, ProfileDataKey(kiosk)));
  EXPECT_FALSE(kiosk_data.has_value());
}

TEST_F(PipelineTest, SuppressedPeopleAreCountedNotRecreated) {
  storage::WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(
      batch.Put(storage::Family::kSuppression,
                storage::DigestKey(store_->blind_index().Hash("user_id", "gone")), {}, "erase-1"),
      IsOk());
  ASSERT_THAT(store_->Write(batch), IsOk());
  IngestSummary summary =
      Ingest({R"({"type":"track","messageId":"s1","userId":"gone","event":"E"})"});
  EXPECT_EQ(summary.suppressed, 1u);
  auto found = graph_->FindProfile({"user_id", "gone"});
  ASSERT_THAT(found, IsOk());
  EXPECT_FALSE(found->has_value());
}

}  // namespace
}  // namespace cdp::ingest
