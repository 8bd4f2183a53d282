// Context lookups: the whole person in one read, with consent enforced at read time.

#include "ingest/context_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "consent/record_category.h"
#include "identity/event_envelope.h"
#include "ingest/ingest.pb.h"
#include "ingest/parsed_event.h"
#include "ingest/profile_data.h"
#include "tests/ingest/pipeline_fixture.h"

namespace cdp::ingest {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

class ContextReaderTest : public testing::PipelineTestBase {
 protected:
  void SetUp() override {
    consent::ConsentOptions options;
    options.purposes[0].data_kinds = {consent::DataKind::kEvents, consent::DataKind::kComputed};
    Open(options);
    retention_ = std::make_unique<consent::RetentionPolicy>(options.retention);
    reader_ = std::make_unique<ContextReader>(store_.get(), graph_.get(), ledger_.get(),
                                              retention_.get());
    Ingest({
        R"({"type":"identify","messageId":"i1","userId":"ann","traits":{"email":"ann@example.com","plan":"gold"},"timestamp":"2026-11-01T00:00:00Z","context":{"consent":{"categoryPreferences":{"analytics":true}}}})",
        R"({"type":"track","messageId":"t1","userId":"ann","event":"Viewed","context":{"channel":"web"},"timestamp":"2026-11-01T00:01:00Z"})",
        R"({"type":"track","messageId":"t2","userId":"ann","event":"Bought","timestamp":"2026-11-01T00:02:00Z"})",
        R"({"type":"track","messageId":"t3","userId":"ann","event":"Viewed","timestamp":"2026-11-01T00:03:00Z"})",
    });
  }

  std::optional<PersonContext> Lookup(const std::string& purpose, size_t max_events = 20,
                                      const std::string& event_name = "") {
    auto context = reader_->ByIdentifier(
        normalizer_->Normalize("email", "ANN@example.com ").identifier,
        {.purpose = purpose, .max_events = max_events, .event_name = event_name});
    EXPECT_THAT(context, IsOk());
    return context.ok() ? *context : std::nullopt;
  }

  std::unique_ptr<consent::RetentionPolicy> retention_;
  std::unique_ptr<ContextReader> reader_;
};

TEST_F(ContextReaderTest, SupportSeesTheWholePersonNewestEventsFirst) {
  std::optional<PersonContext> context = Lookup("support");
  ASSERT_TRUE(context.has_value());
  EXPECT_TRUE(context->purpose_allowed);
  EXPECT_THAT(context->identifiers, SizeIs(2));
  ASSERT_THAT(context->traits, SizeIs(2));
  EXPECT_EQ(context->traits[1].name, "plan");
  EXPECT_EQ(context->traits[1].source, "i1");
  EXPECT_EQ(context->total_events, 4u);
  EXPECT_THAT(context->channels, ElementsAre("web"));
  std::vector<std::string> ids;
  for (const EventView& e : context->recent_events) ids.push_back(e.message_id);
  EXPECT_THAT(ids, ElementsAre("t3", "t2", "t1", "i1"));
}

// The reader parses every event into one reused message: no field of one event may show up in
// the next (t1 alone has a channel; i1, read right after it, has no event name).
TEST_F(ContextReaderTest, EachEventCarriesOnlyItsOwnFields) {
  std::optional<PersonContext> context = Lookup("support");
  ASSERT_TRUE(context.has_value());
  ASSERT_THAT(context->recent_events, SizeIs(4));
  const EventView& t2 = context->recent_events[1];
  const EventView& t1 = context->recent_events[2];
  const EventView& i1 = context->recent_events[3];
  EXPECT_EQ(t1.channel, "web");
  EXPECT_NE(i1.channel, "web");
  EXPECT_EQ(i1.channel, t2.channel);
  EXPECT_EQ(t2.name, "Bought");
  EXPECT_EQ(t1.name, "Viewed");
  EXPECT_NE(i1.name, "Viewed");
  EXPECT_EQ(i1.type, "identify");
  for (const EventView& e : context->recent_events) {
    EXPECT_NE(e.json.find(absl::StrCat("\"", e.message_id, "\"")), std::string::npos)
        << e.message_id;
  }
}

// The reader decodes event bodies itself, as views: it must read any encoding pb::EventBody
// accepts the same way (fields in any order, the last of a repeated scalar, unknown and mistyped
// fields skipped), and refuse what protobuf refuses (a `string` that is not UTF-8).
class ContextReaderBodyTest : public ContextReaderTest {
 protected:
  // Stores an event of ann's with `body` as its encoded pb::EventBody, newest of all.
  void PutRawEvent(const std::string& message_id, const std::string& body) {
    ASSERT_TRUE(Lookup("support").has_value());
    const ProfileId profile = Lookup("support")->profile;
    const int64_t time = int64_t{1800000000} * 1000000;
    storage::WriteBatch batch = store_->NewBatch();
    ASSERT_THAT(
        batch.Put(storage::Family::kEvents, graph_->EventKey(profile, time, message_id),
                  {.category = consent::EventCategory("track", "Odd"), .time_micros = time},
                  identity::EncodeEvent({.message_id = message_id, .time_micros = time}, body)),
        IsOk());
    ASSERT_THAT(store_->Write(batch), IsOk());
  }
  static std::string Field(int number, int wire_type, const std::string& payload) {
    std::string out(1, static_cast<char>(number << 3 | wire_type));
    if (wire_type == 2) out += static_cast<char>(payload.size());
    return out + payload;
  }
};

TEST_F(ContextReaderBodyTest, ReadsEveryEncodingProtobufReadsAlike) {
  pb::EventBody first;
  first.set_type(static_cast<int32_t>(EventType::kPage));
  first.set_name("Early");
  first.add_purposes("support");
  std::string body = Field(5, 2, "app");           // channel before the rest
  body += Field(3, 2, R"({"messageId":"raw1"})");  // json
  body += Field(15, 0, "\x07");                    // unknown varint field
  body += Field(2, 0, "\x05");                     // name with the wrong wire type
  body += first.SerializeAsString();               // type, name, purposes
  body += Field(1, 0, "\x01");                     // type again: the last wins
  body += Field(2, 2, "Odd");                      // name again: the last wins
  body += Field(4, 2, "marketing");                // a second purpose
  body += Field(6, 0, "\x2a");                     // received_micros
  pb::EventBody expected;
  ASSERT_TRUE(expected.ParseFromString(body));
  PutRawEvent("raw1", body);

  std::optional<PersonContext> context = Lookup("support");
  ASSERT_TRUE(context.has_value());
  ASSERT_FALSE(context->recent_events.empty());
  const EventView& e = context->recent_events[0];
  EXPECT_EQ(e.message_id, "raw1");
  EXPECT_EQ(e.type, EventTypeName(static_cast<EventType>(expected.type())));
  EXPECT_EQ(e.name, expected.name());
  EXPECT_EQ(e.name, "Odd");
  EXPECT_EQ(e.channel, expected.channel());
  EXPECT_EQ(e.json, expected.json());
}

TEST_F(ContextReaderBodyTest, BodyThatProtobufRefusesIsDataLoss) {
  std::string body = Field(4, 2, "support") + Field(2, 2, "\xff\xfe");  // name not UTF-8
  pb::EventBody check;
  ASSERT_FALSE(check.ParseFromString(body));
  PutRawEvent("raw2", body);
  auto context = reader_->ByIdentifier(
      normalizer_->Normalize("email", "ann@example.com").identifier, {.purpose = "support"});
  EXPECT_THAT(context, StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(ContextReaderBodyTest, TruncatedBodyIsDataLoss) {
  std::string body = Field(4, 2, "support") + Field(3, 2, "0123456789");
  body.resize(body.size() - 3);  // json declared longer than what follows
  PutRawEvent("raw3", body);
  auto context = reader_->ByIdentifier(
      normalizer_->Normalize("email", "ann@example.com").identifier, {.purpose = "support"});
  EXPECT_THAT(context, StatusIs(absl::StatusCode::kDataLoss));
}

// Profile data is decoded as views too: map entries in any order, a repeated key (the later
// entry wins, as in protobuf's map), repeated value fields (merged), unknown fields.
TEST_F(ContextReaderBodyTest, ProfileDataReadsAsProtobufReadsIt) {
  const ProfileId profile = Lookup("support")->profile;
  auto trait = [](const std::string& name, const std::string& json, int64_t set) {
    pb::TraitValue value;
    value.set_json(json);
    value.set_set_micros(set);
    value.set_source("m-" + name);
    return Field(1, 2, Field(1, 2, name) + Field(2, 2, value.SerializeAsString()));
  };
  const int64_t now = clock_.NowMicros();
  std::string bytes = trait("zeta", "1", now);
  bytes += Field(9, 0, "\x01");  // unknown
  bytes += trait("alpha", "\"first\"", now);
  bytes += Field(7, 0, "\x09");  // total_events
  pb::EventStats stats;
  stats.set_count(3);
  stats.set_last_micros(now);
  pb::EventStats more;
  more.set_count(4);  // a second value field in one entry: merged, count 4, last_micros kept
  bytes += Field(4, 2,
                 Field(2, 2, stats.SerializeAsString()) + Field(1, 2, "Viewed") +
                     Field(2, 2, more.SerializeAsString()));
  bytes += Field(5, 2, "web") + Field(5, 2, "app") + Field(6, 2, "g1");
  bytes += trait("alpha", "\"second\"", now);  // the same key again: replaces the first
  pb::ProfileData expected;
  ASSERT_TRUE(expected.ParseFromString(bytes));
  storage::WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(batch.Put(storage::Family::kProfiles, ProfileDataKey(profile),
                        {.category = consent::kCategoryProfileData, .time_micros = now}, bytes),
              IsOk());
  ASSERT_THAT(store_->Write(batch), IsOk());

  std::optional<PersonContext> context = Lookup("support");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->total_events, expected.total_events());
  EXPECT_EQ(context->total_events, 9u);
  EXPECT_THAT(context->channels, ElementsAre("web", "app"));
  EXPECT_THAT(context->groups, ElementsAre("g1"));
  ASSERT_THAT(context->event_counts, SizeIs(1));
  EXPECT_EQ(context->event_counts[0].event, "Viewed");
  EXPECT_EQ(context->event_counts[0].count, expected.events().at("Viewed").count());
  EXPECT_EQ(context->event_counts[0].last_micros, expected.events().at("Viewed").last_micros());
  ASSERT_THAT(context->traits, SizeIs(2));
  EXPECT_EQ(context->traits[0].name, "alpha");
  EXPECT_EQ(context->traits[0].json, expected.traits().at("alpha").json());
  EXPECT_EQ(context->traits[0].json, "\"second\"");
  EXPECT_EQ(context->traits[0].source, "m-alpha");
  EXPECT_EQ(context->traits[1].name, "zeta");
}

TEST_F(ContextReaderBodyTest, ProfileDataThatProtobufRefusesIsDataLoss) {
  const ProfileId profile = Lookup("support")->profile;
  const std::string bytes = Field(5, 2, "w\xc3");  // a channel that is not UTF-8
  pb::ProfileData check;
  ASSERT_FALSE(check.ParseFromString(bytes));
  storage::WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(batch.Put(storage::Family::kProfiles, ProfileDataKey(profile),
                        {.category = consent::kCategoryProfileData, .time_micros = 1}, bytes),
              IsOk());
  ASSERT_THAT(store_->Write(batch), IsOk());
  auto context = reader_->ByIdentifier(
      normalizer_->Normalize("email", "ann@example.com").identifier, {.purpose = "support"});
  EXPECT_THAT(context, StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(ContextReaderTest, LastNAndEventNameFilter) {
  std::optional<PersonContext> context = Lookup("support", 2);
  ASSERT_TRUE(context.has_value());
  EXPECT_THAT(context->recent_events, SizeIs(2));
  context = Lookup("support", 20, "Viewed");
  ASSERT_TRUE(context.has_value());
  ASSERT_THAT(context->recent_events, SizeIs(2));
  EXPECT_EQ(context->recent_events[0].message_id, "t3");
}

// A history of at most twice the events asked for is read forward, a longer one by reverse
// iteration (ScanOptions::expected_records): both give the newest events, newest first.
TEST_F(ContextReaderTest, LongAndShortHistoriesGiveTheNewestEventsNewestFirst) {
  std::vector<std::string> lines;
  for (int i = 10; i < 55; ++i) {
    lines.push_back(absl::StrCat(R"({"type":"track","messageId":"m)", i,
                                 R"(","userId":"ann","event":"Clicked",)",
                                 R"("timestamp":"2026-11-02T00:00:)", i, R"(Z"})"));
  }
  ASSERT_EQ(Ingest(lines).accepted, lines.size());  // 49 events in all
  for (size_t wanted : {size_t{3}, size_t{20}, size_t{30}, size_t{60}}) {
    SCOPED_TRACE(wanted);
    std::optional<PersonContext> context = Lookup("support", wanted);
    ASSERT_TRUE(context.has_value());
    ASSERT_EQ(context->total_events, 49u);
    std::vector<std::string> ids;
    for (const EventView& e : context->recent_events) ids.push_back(e.message_id);
    std::vector<std::string> expected;
    for (int i = 54; i >= 10 && expected.size() < wanted; --i) {
      expected.push_back(absl::StrCat("m", i));
    }
    for (const char* older : {"t3", "t2", "t1", "i1"}) {
      if (expected.size() < wanted) expected.push_back(older);
    }
    EXPECT_EQ(ids, expected);
  }
}

TEST_F(ContextReaderTest, DeniedPurposeReturnsNoPersonalData) {
  std::optional<PersonContext> context = Lookup("marketing");
  ASSERT_TRUE(context.has_value());
  EXPECT_FALSE(context->purpose_allowed);
  EXPECT_THAT(context->identifiers, IsEmpty());
  EXPECT_THAT(context->traits, IsEmpty());
  EXPECT_THAT(context->recent_events, IsEmpty());
  EXPECT_EQ(context->total_events, 0u);
  EXPECT_FALSE(context->consent.Allowed("marketing"));
}

TEST_F(ContextReaderTest, PurposeLimitedToSomeKindsReturnsOnlyThose) {
  std::optional<PersonContext> context = Lookup("analytics");
  ASSERT_TRUE(context.has_value());
  EXPECT_TRUE(context->purpose_allowed);
  EXPECT_THAT(context->identifiers, IsEmpty());
  EXPECT_THAT(context->traits, IsEmpty());
  EXPECT_EQ(context->total_events, 4u);
  ASSERT_THAT(context->recent_events, SizeIs(4));
  // Identifiers are not for this purpose, so the events carry them masked.
  for (const EventView& e : context->recent_events) {
    EXPECT_THAT(e.json, Not(HasSubstr(R"("ann")"))) << e.message_id;
    EXPECT_THAT(e.json, HasSubstr(R"("userId":"***")")) << e.message_id;
  }
  EXPECT_THAT(context->recent_events[3].json, Not(HasSubstr("ann@example.com")));
}

TEST_F(ContextReaderTest, MaskedIdentifiersStayOutOfTraitsAndEvents) {
  auto context = reader_->ByIdentifier({"user_id", "ann"}, {.purpose = "support"});
  ASSERT_THAT(context, IsOk());
  ASSERT_TRUE(context->has_value());
  EXPECT_THAT((*context)->recent_events[3].json, HasSubstr("ann@example.com"));

  context = reader_->ByIdentifier({"user_id", "ann"},
                                  {.purpose = "support", .mask_identifiers = true});
  ASSERT_THAT(context, IsOk());
  ASSERT_TRUE(context->has_value());
  const PersonContext& masked = **context;
  EXPECT_THAT(masked.identifiers, SizeIs(2));  // the caller masks the list
  ASSERT_THAT(masked.traits, SizeIs(2));
  EXPECT_EQ(masked.traits[0].name, "email");
  EXPECT_EQ(masked.traits[0].json, R"("a***@example.com")");
  EXPECT_EQ(masked.traits[1].json, R"("gold")");
  ASSERT_THAT(masked.recent_events, SizeIs(4));
  EXPECT_THAT(masked.recent_events[3].json, Not(HasSubstr("ann@example.com")));
  EXPECT_THAT(masked.recent_events[3].json, HasSubstr(R"("email":"a***@example.com")"));
  EXPECT_THAT(masked.recent_events[3].json, HasSubstr(R"("plan":"gold")"));
}

TEST_F(ContextReaderTest, ConsentWithdrawnHidesDataFromTheNextLookup) {
  ASSERT_TRUE(Lookup("analytics")->purpose_allowed);
  Ingest(
      {R"({"type":"track","messageId":"w1","userId":"ann","event":"Opted Out","timestamp":"2026-11-01T00:04:00Z","context":{"consent":{"categoryPreferences":{"analytics":false}}}})"});
  std::optional<PersonContext> context = Lookup("analytics");
  ASSERT_TRUE(context.has_value());
  EXPECT_FALSE(context->purpose_allowed);
  EXPECT_THAT(context->recent_events, IsEmpty());
}

TEST_F(ContextReaderTest, EventsStoredWhileAPurposeWasDeniedStayHiddenForIt) {
  // Marketing was never granted when these events arrived: granting it now does not expose them.
  Ingest(
      {R"({"type":"track","messageId":"g1","userId":"ann","event":"Grant","timestamp":"2026-11-01T00:05:00Z","context":{"consent":{"categoryPreferences":{"marketing":true}}}})"});
  std::optional<PersonContext> context = Lookup("marketing");
  ASSERT_TRUE(context.has_value());
  ASSERT_TRUE(context->purpose_allowed);
  ASSERT_THAT(context->recent_events, SizeIs(1));
  EXPECT_EQ(context->recent_events[0].message_id, "g1");
}

TEST_F(ContextReaderTest, FilteredLookupExaminesABoundedNumberOfEvents) {
  std::vector<std::string> lines;
  for (int i = 0; i < 1100; ++i) {
    lines.push_back(
        absl::StrCat(R"({"type":"track","messageId":"n)", i,
                     R"(","userId":"ann","event":"Noise","timestamp":"2026-11-02T00:00:00Z"})"));
  }
  Ingest(lines);
  // "Bought" is older than the 1,000 newest events: a one-event filtered lookup stops before it.
  std::optional<PersonContext> context = Lookup("support", 1, "Bought");
  ASSERT_TRUE(context.has_value());
  EXPECT_THAT(context->recent_events, IsEmpty());
  context = Lookup("support", 100, "Bought");  // examines up to 2,000
  ASSERT_TRUE(context.has_value());
  EXPECT_THAT(context->recent_events, SizeIs(1));
}

TEST_F(ContextReaderTest, UnknownPurposeAndUnknownPerson) {
  EXPECT_THAT(reader_->ByIdentifier({"email", "ann@example.com"}, {.purpose = "spying"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto nobody = reader_->ByIdentifier({"email", "nobody@example.com"}, {.purpose = "support"});
  ASSERT_THAT(nobody, IsOk());
  EXPECT_FALSE(nobody->has_value());
}

TEST_F(ContextReaderTest, LookupsRacingMergesNeverFail) {
  // Each round creates a visitor profile and merges it into a known customer's (larger)
  // profile, retiring the visitor's data key, while another thread looks the visitors up: a
  // lookup whose snapshot still saw a visitor must start over instead of failing on the key.
  constexpr int kRounds = 40;
  std::atomic<int> rounds_started{0};
  std::atomic<bool> stop{false};
  std::atomic<int> lookups{0};
  std::string first_error;
  std::thread reader([&] {
    for (int i = 0; !stop.load(); i = (i + 1) % kRounds) {
      if (i >= rounds_started.load()) i = 0;
      auto context = reader_->ByIdentifier({"anonymous_id", absl::StrCat("visitor-", i)},
                                           {.purpose = "support"});
      lookups.fetch_add(1);
      if (!context.ok()) {
        first_error = context.status().ToString();
        return;
      }
    }
  });
  auto event = [](absl::string_view type, absl::string_view id, int round, absl::string_view ids) {
    return absl::StrCat(R"({"type":")", type, R"(","messageId":")", id, round, R"(",)", ids,
                        R"(,"event":"Visit","name":"Home","timestamp":"2026-11-02T00:00:00Z"})");
  };
  for (int i = 0; i < kRounds; ++i) {
    const std::string user = absl::StrCat(R"("userId":"customer-)", i, R"(")");
    const std::string anon = absl::StrCat(R"("anonymousId":"visitor-)", i, R"(")");
    Ingest({event("track", "a", i, user), event("track", "b", i, user)});
    Ingest({event("page", "c", i, anon)});
    rounds_started.store(i + 1);
    Ingest({event("identify", "d", i, absl::StrCat(anon, ",", user))});  // the merge
  }
  stop.store(true);
  reader.join();
  EXPECT_EQ(first_error, "");
  EXPECT_GT(lookups.load(), 0);
  for (int i = 0; i < kRounds; ++i) {
    auto visitor = reader_->ByIdentifier({"anonymous_id", absl::StrCat("visitor-", i)},
                                         {.purpose = "support"});
    auto customer =
        reader_->ByIdentifier({"user_id", absl::StrCat("customer-", i)}, {.purpose = "support"});
    ASSERT_THAT(visitor, IsOk());
    ASSERT_THAT(customer, IsOk());
    ASSERT_TRUE(visitor->has_value() && customer->has_value());
    EXPECT_EQ((*visitor)->profile, (*customer)->profile);
    EXPECT_EQ((*visitor)->total_events, 4u);
  }
}

}  // namespace
}  // namespace cdp::ingest
