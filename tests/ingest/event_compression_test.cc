// Events stored compressed: the pipeline samples the first events, trains the store's value
// dictionary, and every reader gets each event's JSON back exactly, before and after a restart.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "identity/event_envelope.h"
#include "ingest/context_reader.h"
#include "ingest/event_json.h"
#include "tests/ingest/pipeline_fixture.h"

namespace cdp::ingest {
namespace {

using ::cdp::testing::IsOk;
using ::testing::SizeIs;

// Person `p`'s n-th event: shared structure, one value of their own.
std::string Line(int p, int n) {
  return absl::StrCat(R"({"type":"track","messageId":"m-)", p, "-", n, R"(","userId":"u)", p,
                      R"(","event":"Viewed","properties":{"plan":"gold","seen":)", n,
                      R"(},"context":{"channel":"web","library":{"name":"analytics.js"}},)",
                      R"("timestamp":"2026-11-01T00:)", 10 + n % 50, R"(:00Z"})");
}

// Person `p`'s n-th event of another kind, later than all of Line's: an app's identify call.
std::string AppLine(int p, int n) {
  return absl::StrCat(R"({"type":"identify","messageId":"a-)", p, "-", n, R"(","userId":"u)", p,
                      R"(","traits":{"favouriteColour":"teal","newsletterFrequency":"weekly",)",
                      R"("loyaltyTier":"bronze","preferredStore":"Harbour Street","visits":)", n,
                      R"(},"context":{"app":{"name":"ShopApp","version":"5.2.1"},)",
                      R"("os":{"name":"Android","version":"14"},"locale":"en-GB"},)",
                      R"("timestamp":"2026-11-02T00:)", 10 + n, R"(:00Z"})");
}

class EventCompressionTest : public testing::PipelineTestBase {
 protected:
  void SetUp() override {
    pipeline_options_.dictionary = {.sample_events = 300,
                                    .max_sample_bytes = 1 << 20,
                                    .min_profiles = 30,
                                    .max_events_per_profile = 10,
                                    .min_profile_share = 0.05,
                                    .min_profiles_per_token = 3,
                                    .dictionary_bytes = 4096};
    OpenAll();
  }
  void OpenAll() {
    consent::ConsentOptions options;
    options.purposes[0].data_kinds = {consent::DataKind::kEvents, consent::DataKind::kTraits};
    Open(options);
    reader_ = std::make_unique<ContextReader>(store_.get(), graph_.get(), ledger_.get(), nullptr);
  }

  // 300 events of 60 people, 5 each (their events first..first+4): the sample.
  void IngestSample(int first = 0) {
    std::vector<std::string> lines;
    for (int n = first; n < first + 5; ++n) {
      for (int p = 0; p < 60; ++p) lines.push_back(Line(p, n));
    }
    EXPECT_EQ(Ingest(lines).accepted, 300u);
  }

  // The stored bodies of user `p`'s events, oldest first.
  std::vector<pb::EventBody> Bodies(int p) {
    std::vector<pb::EventBody> bodies;
    EXPECT_THAT(store_->Scan(storage::Family::kEvents,
                             storage::ProfileKey(ProfileOf("user_id", absl::StrCat("u", p))), {},
                             [&](absl::string_view, storage::Record record) {
                               auto event = identity::DecodeEvent(record.value);
                               EXPECT_TRUE(event.ok());
                               EXPECT_TRUE(bodies.emplace_back().ParseFromString(event->body));
                               return true;
                             }),
                IsOk());
    return bodies;
  }

  // The JSON the reader returns for user `p`, newest first.
  std::vector<std::string> ReadJson(int p) {
    auto context = reader_->ByIdentifier({"user_id", absl::StrCat("u", p)},
                                         {.purpose = "support", .max_events = 100});
    EXPECT_TRUE(context.ok() && context->has_value());
    std::vector<std::string> json;
    if (!context.ok() || !context->has_value()) return json;
    for (const EventView& e : (*context)->recent_events) json.push_back(e.json);
    return json;
  }

  std::unique_ptr<ContextReader> reader_;
};

TEST_F(EventCompressionTest, EventsAfterTheSampleAreStoredCompressedAndReadBackExactly) {
  IngestSample();
  ASSERT_EQ(store_->codec().current(), 1u);
  EXPECT_EQ(Ingest({Line(7, 5), Line(7, 6)}).accepted, 2u);

  const std::vector<pb::EventBody> bodies = Bodies(7);
  ASSERT_THAT(bodies, SizeIs(7));
  size_t compressed = 0;
  for (const pb::EventBody& body : bodies) {
    if (body.json_dictionary() == 0) {
      EXPECT_FALSE(body.json().empty());
      continue;
    }
    ++compressed;
    EXPECT_EQ(body.json_dictionary(), 1u);
    EXPECT_TRUE(body.json().empty());
    EXPECT_LT(body.json_compressed().size() * 2, Line(7, 5).size());
  }
  EXPECT_EQ(compressed, 2u);

  const std::vector<std::string> expected = {Line(7, 6), Line(7, 5), Line(7, 4), Line(7, 3),
                                             Line(7, 2), Line(7, 1), Line(7, 0)};
  EXPECT_EQ(ReadJson(7), expected);

  OpenAll();  // a restart: the dictionary comes back from the store
  EXPECT_EQ(store_->codec().current(), 1u);
  EXPECT_EQ(ReadJson(7), expected);
  EXPECT_EQ(Ingest({Line(7, 7)}).accepted, 1u);
  EXPECT_EQ(Bodies(7).back().json_dictionary(), 1u);
  EXPECT_EQ(ReadJson(7).front(), Line(7, 7));
}

TEST_F(EventCompressionTest, RebuiltProfileDataReadsCompressedEvents) {
  IngestSample();
  ASSERT_EQ(store_->codec().current(), 1u);
  EXPECT_EQ(Ingest({R"({"type":"identify","messageId":"i-9","userId":"u9",)"
                    R"("traits":{"plan":"platinum"},"timestamp":"2026-11-02T00:00:00Z"})"})
                .accepted,
            1u);
  ASSERT_EQ(Bodies(9).back().json_dictionary(), 1u);
  std::vector<storage::Record> records;
  ASSERT_THAT(store_->Scan(storage::Family::kEvents,
                           storage::ProfileKey(ProfileOf("user_id", "u9")), {},
                           [&](absl::string_view, storage::Record record) {
                             records.push_back(std::move(record));
                             return true;
                           }),
              IsOk());
  std::vector<const storage::Record*> pointers;
  for (const storage::Record& r : records) pointers.push_back(&r);
  CDP_ASSERT_OK_AND_ASSIGN(pb::ProfileData rebuilt,
                           RebuildProfileData(store_->codec(), pointers));
  EXPECT_EQ(rebuilt.traits().at("plan").json(), "\"platinum\"");
  EXPECT_EQ(rebuilt.total_events(), 6u);
}

TEST_F(EventCompressionTest, OffMeansNoDictionaryAndPlainBodies) {
  pipeline_options_.compress_events = false;
  OpenAll();
  IngestSample();
  EXPECT_EQ(store_->codec().current(), storage::DictionaryCodec::kNone);
  for (const pb::EventBody& body : Bodies(3)) EXPECT_EQ(body.json_dictionary(), 0u);

  // Turned on later: the store samples the events that come next, and what was stored plain
  // stays readable next to what is stored compressed.
  pipeline_options_.compress_events = true;
  OpenAll();
  IngestSample(5);
  ASSERT_EQ(store_->codec().current(), 1u);
  EXPECT_EQ(Ingest({Line(3, 10)}).accepted, 1u);
  EXPECT_EQ(Bodies(3).back().json_dictionary(), 1u);
  std::vector<std::string> expected;
  for (int n = 10; n >= 0; --n) expected.push_back(Line(3, n));
  EXPECT_EQ(ReadJson(3), expected);
}

TEST_F(EventCompressionTest, AStaleDictionaryIsFollowedByANewerOne) {
  pipeline_options_.refresh = {.window_events = 100, .stale_share = 0.8};
  OpenAll();
  IngestSample();  // dictionary 1, trained on track events
  ASSERT_EQ(store_->codec().current(), 1u);
  IngestSample(5);  // 300 more: dictionary 1's baseline window and its wait (2 windows)
  const auto app_events = [](int first) {
    std::vector<std::string> lines;
    for (int n = first; n < first + 5; ++n) {
      for (int p = 0; p < 60; ++p) lines.push_back(AppLine(p, n));
    }
    return lines;
  };
  // The feed turns to another kind of event, which dictionary 1 compresses worse: once a window
  // shows it, the events that follow are sampled and a newer dictionary is trained on them.
  EXPECT_EQ(Ingest(app_events(0)).accepted, 300u);
  EXPECT_EQ(store_->codec().current(), 1u);
  EXPECT_EQ(Ingest(app_events(5)).accepted, 300u);
  ASSERT_EQ(store_->codec().current(), 2u);
  EXPECT_EQ(pipeline_->compression().dictionary, 1u);  // as of that call, which used 1
  EXPECT_LT(pipeline_->compression().last_ratio * 2, pipeline_->compression().baseline_ratio);
  EXPECT_EQ(Ingest({AppLine(7, 10)}).accepted, 1u);
  EXPECT_EQ(pipeline_->compression().dictionary, 2u);
  EXPECT_EQ(pipeline_->compression().baseline_ratio, 0);  // not measured yet

  const std::vector<pb::EventBody> bodies = Bodies(7);
  ASSERT_THAT(bodies, SizeIs(21));
  const pb::EventBody& with_first = bodies[19];  // AppLine(7, 9)
  const pb::EventBody& with_second = bodies[20];  // AppLine(7, 10)
  EXPECT_EQ(with_first.json_dictionary(), 1u);
  EXPECT_EQ(with_second.json_dictionary(), 2u);
  EXPECT_LT(with_second.json_compressed().size() * 3, with_first.json_compressed().size() * 2);

  // Events made with either dictionary read back exactly, before and after a restart.
  std::vector<std::string> expected;
  for (int n = 10; n >= 0; --n) expected.push_back(AppLine(7, n));
  for (int n = 9; n >= 0; --n) expected.push_back(Line(7, n));
  EXPECT_EQ(ReadJson(7), expected);
  OpenAll();
  EXPECT_EQ(store_->codec().current(), 2u);
  EXPECT_EQ(ReadJson(7), expected);
}

// A restart between the events a dictionary was trained on and a feed of another kind: the
// dictionary's ratio on its first events is kept in the store, so the watch still compares the new
// feed with it instead of taking the new feed's worse ratio as the dictionary's own.
TEST_F(EventCompressionTest, AStaleDictionaryIsNoticedAcrossARestart) {
  pipeline_options_.refresh = {.window_events = 100, .stale_share = 0.8};
  OpenAll();
  IngestSample();
  ASSERT_EQ(store_->codec().current(), 1u);
  EXPECT_EQ(store_->DictionaryFirstRatio(1), 0);
  IngestSample(5);  // dictionary 1's baseline window
  const double baseline = pipeline_->compression().baseline_ratio;
  ASSERT_GT(baseline, 0);
  EXPECT_EQ(store_->DictionaryFirstRatio(1), baseline);

  OpenAll();
  EXPECT_EQ(store_->DictionaryFirstRatio(1), baseline);
  for (int first : {0, 5}) {
    std::vector<std::string> lines;
    for (int n = first; n < first + 5; ++n) {
      for (int p = 0; p < 60; ++p) lines.push_back(AppLine(p, n));
    }
    EXPECT_EQ(Ingest(lines).accepted, 300u);
    EXPECT_EQ(pipeline_->compression().baseline_ratio, baseline);
  }
  EXPECT_EQ(store_->codec().current(), 2u);
}

TEST_F(EventCompressionTest, ACompressedBodyThatDoesNotOpenIsDataLoss) {
  IngestSample();
  std::string json;
  EXPECT_THAT(StoredEventJson(store_->codec(), "", 1, "garbage", &json),
              ::cdp::testing::StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(StoredEventJson(store_->codec(), "", 2, "garbage", &json),
              ::cdp::testing::StatusIs(absl::StatusCode::kDataLoss));
  ASSERT_THAT(StoredEventJson(store_->codec(), "{\"a\":1}", 0, "", &json), IsOk());
  EXPECT_EQ(json, "{\"a\":1}");
}

}  // namespace
}  // namespace cdp::ingest
