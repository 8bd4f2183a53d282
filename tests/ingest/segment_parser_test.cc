// SegmentParser end to end: each event type into a ParsedEvent, identifiers and their order,
// custom paths, derived message ids, the clock-skew rule, NDJSON line accounting.

#include "ingest/segment_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "tests/support/status_matchers.h"

namespace cdp::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr int64_t kNow = 1'700'000'000'000'000;
constexpr int64_t k2024_03_01 = 1'709'251'200'000'000;  // 2024-03-01T00:00:00Z
constexpr int64_t kMinute = 60'000'000;

MATCHER_P2(Id, type, value, "") { return arg.type == type && arg.value == value; }

class SegmentParserTest : public ::testing::Test {
 protected:
  void SetUp() override { Recreate(); }

  void Recreate() {
    options_.clock = &clock_;
    CDP_ASSERT_OK_AND_ASSIGN(parser_, SegmentParser::Create(options_));
  }

  ParsedEvent Parse(const std::string& json) {
    absl::StatusOr<ParsedEvent> event = parser_->ParseEvent(json);
    EXPECT_TRUE(event.ok()) << event.status();
    return event.ok() ? *std::move(event) : ParsedEvent{};
  }

  ManualClock clock_{kNow};
  ParserOptions options_;
  std::unique_ptr<SegmentParser> parser_;
};

TEST_F(SegmentParserTest, IdentifyCarriesTraitsIdentifiersConsentAndChannel) {
  const std::string json =
      R"({"type":"identify","messageId":"m-1","userId":"u-1","anonymousId":"a-1",)"
      R"("timestamp":"2024-03-01T00:00:00Z","traits":{"email":"Ann@Example.com","plan":"gold",)"
      R"("age":42,"address":{"city":"Paris"}},"context":{"traits":{"phone":"+14155550100"},)"
      R"("device":{"id":"dev-1"},"channel":"web","externalIds":[{"id":"C-9","type":"CRM_ID",)"
      R"("collection":"users"},{"id":12345,"type":"pos_id"},{"id":true,"type":"bad"},)"
      R"({"id":"x"},"not an object"],"consent":{"categoryPreferences":{"marketing":false,)"
      R"("analytics":true}}}})";
  ParsedEvent event = Parse(json);
  EXPECT_EQ(event.type, EventType::kIdentify);
  EXPECT_EQ(event.message_id, "m-1");
  EXPECT_FALSE(event.message_id_derived);
  EXPECT_EQ(event.time_micros, k2024_03_01);
  EXPECT_EQ(event.user_id, "u-1");
  EXPECT_EQ(event.anonymous_id, "a-1");
  EXPECT_THAT(event.identifiers,
              ElementsAre(Id("user_id", "u-1"), Id("anonymous_id", "a-1"),
                          Id("email", "Ann@Example.com"), Id("phone", "+14155550100"),
                          Id("device_id", "dev-1"), Id("crm_id", "C-9"), Id("pos_id", "12345")));
  EXPECT_THAT(event.traits,
              ElementsAre(Pair("address", R"({"city":"Paris"})"), Pair("age", "42"),
                          Pair("email", R"("Ann@Example.com")"), Pair("plan", R"("gold")")));
  EXPECT_THAT(event.properties, IsEmpty());
  EXPECT_THAT(event.consent_preferences,
              ElementsAre(Pair("analytics", true), Pair("marketing", false)));
  EXPECT_EQ(event.channel, "web");
  EXPECT_EQ(event.json, json);  // already compact
}

TEST_F(SegmentParserTest, TrackTakesEventPropertiesAndContextTraits) {
  ParsedEvent event = Parse(R"({
      "type": "track", "event": "Order Completed", "userId": "u-1",
      "properties": {"revenue": 9.5, "items": [1, 2], "coupon": null},
      "traits": {"email": "top-level@example.com"},
      "context": {"traits": {"email": "ann@example.com", "tier": "gold"}}})");
  EXPECT_EQ(event.type, EventType::kTrack);
  EXPECT_EQ(event.name, "Order Completed");
  EXPECT_THAT(event.properties,
              ElementsAre(Pair("coupon", "null"), Pair("items", "[1,2]"), Pair("revenue", "9.5")));
  // Top-level traits are not part of a track call.
  EXPECT_THAT(event.traits,
              ElementsAre(Pair("email", R"("ann@example.com")"), Pair("tier", R"("gold")")));
  EXPECT_THAT(event.identifiers, ElementsAre(Id("user_id", "u-1"), Id("email", "ann@example.com")));
  EXPECT_EQ(event.time_micros, kNow);  // no timestamp at all
  EXPECT_EQ(event.json,
            R"({"type":"track","event":"Order Completed","userId":"u-1","properties":)"
            R"({"revenue":9.5,"items":[1,2],"coupon":null},"traits":{"email":)"
            R"("top-level@example.com"},"context":{"traits":{"email":"ann@example.com",)"
            R"("tier":"gold"}}})");
}

TEST_F(SegmentParserTest, PageAndScreenTakeNameAndProperties) {
  ParsedEvent page =
      Parse(R"({"type":"page","name":"Home","anonymousId":"a-1","properties":{"path":"/"}})");
  EXPECT_EQ(page.type, EventType::kPage);
  EXPECT_EQ(page.name, "Home");
  EXPECT_THAT(page.properties, ElementsAre(Pair("path", R"("/")")));
  EXPECT_THAT(page.identifiers, ElementsAre(Id("anonymous_id", "a-1")));

  ParsedEvent screen = Parse(R"({"type":"screen","userId":"u-1","properties":{"tab":"privacy"}})");
  EXPECT_EQ(screen.type, EventType::kScreen);
  EXPECT_EQ(screen.name, "");  // optional
  EXPECT_THAT(screen.properties, ElementsAre(Pair("tab", R"("privacy")")));
}

TEST_F(SegmentParserTest, GroupTraitsDescribeTheGroupNotThePerson) {
  ParsedEvent event = Parse(R"({"type":"group","groupId":"g-1","userId":"u-1",
      "traits":{"name":"Acme","email":"billing@acme.example"},
      "context":{"traits":{"email":"ann@example.com"}}})");
  EXPECT_EQ(event.type, EventType::kGroup);
  EXPECT_EQ(event.group_id, "g-1");
  EXPECT_THAT(event.traits,
              ElementsAre(Pair("email", R"("billing@acme.example")"), Pair("name", R"("Acme")")));
  EXPECT_THAT(event.identifiers, ElementsAre(Id("user_id", "u-1"), Id("email", "ann@example.com")));
}

TEST_F(SegmentParserTest, AliasCarriesPreviousIdAsUserId) {
  ParsedEvent event = Parse(R"({"type":"alias","previousId":"a-old","userId":"u-1"})");
  EXPECT_EQ(event.type, EventType::kAlias);
  EXPECT_EQ(event.previous_id, "a-old");
  EXPECT_EQ(event.user_id, "u-1");
  EXPECT_THAT(event.identifiers, ElementsAre(Id("user_id", "u-1"), Id("user_id", "a-old")));
}

TEST_F(SegmentParserTest, IdentifiersAreNotRepeatedAndEmptyOnesAreSkipped) {
  ParsedEvent event = Parse(R"({"type":"identify","userId":"u-1","anonymousId":"",
      "traits":{"email":"ann@example.com","phone":14155550100},
      "context":{"traits":{"email":"ann@example.com"},"device":{"id":""},
                 "externalIds":[{"id":"u-1","type":"USER_ID"},{"id":"","type":"crm_id"}]}})");
  EXPECT_THAT(event.identifiers, ElementsAre(Id("user_id", "u-1"), Id("email", "ann@example.com"),
                                             Id("phone", "14155550100")));
}

TEST_F(SegmentParserTest, CustomIdentifierPathsAreExtractedInOrder) {
  options_.custom_identifier_paths = {{"crm_id", "traits.crm_id"},
                                      {"crm_id", "context.traits.crm_id"},
                                      {"loyalty_id", "/context/traits/loyalty/cards/1"},
                                      {"member_no", "traits.member_no"},
                                      {"ignored", "traits.address"},
                                      {"missing", "context.nothing.here"}};
  Recreate();
  ParsedEvent event = Parse(R"({"type":"identify","userId":"u-1",
      "traits":{"crm_id":"C-1","member_no":77,"address":{"city":"Paris"}},
      "context":{"traits":{"crm_id":"C-2","loyalty":{"cards":["L-0","L-1"]}}}})");
  EXPECT_THAT(event.identifiers,
              ElementsAre(Id("user_id", "u-1"), Id("crm_id", "C-1"), Id("crm_id", "C-2"),
                          Id("loyalty_id", "L-1"), Id("member_no", "77")));
}

TEST_F(SegmentParserTest, DerivedMessageIdIsDeterministicAndFollowsContent) {
  const std::string json = R"({"type":"track","event":"Viewed","userId":"u-1"})";
  ParsedEvent first = Parse(json);
  ParsedEvent again = Parse(R"({ "type": "track", "event": "Viewed", "userId": "u-1" })");
  ParsedEvent other = Parse(R"({"type":"track","event":"Viewed","userId":"u-2"})");
  EXPECT_TRUE(first.message_id_derived);
  const crypto::Digest digest = crypto::Sha256(json);
  EXPECT_EQ(first.message_id,
            absl::StrCat("derived-", absl::BytesToHexString(crypto::AsStringView(digest))));
  EXPECT_EQ(again.message_id, first.message_id) << "whitespace does not change the id";
  EXPECT_NE(other.message_id, first.message_id);

  // A fresh parser derives the same id: nothing depends on parser state or time.
  clock_.Advance(3'600'000'000);
  Recreate();
  EXPECT_EQ(Parse(json).message_id, first.message_id);
}

TEST_F(SegmentParserTest, EventTimeFollowsTheClockSkewRule) {
  struct Case {
    std::string name;
    std::string fields;
    int64_t expected;
    bool skew_with_ingest_time = false;
  };
  // The device clock runs one hour fast: it stamped 01:00 and sent at 01:05; the collector
  // received at 00:05:02. The event really happened at 00:00:02.
  const std::string ts = R"("2024-03-01T01:00:00Z")";
  const std::string original = R"("2024-03-01T01:00:00Z")";
  const std::string sent = R"("2024-03-01T01:05:00Z")";
  const std::string received = R"("2024-03-01T00:05:02Z")";
  const int64_t corrected = k2024_03_01 + 2'000'000;
  const Case cases[] = {
      {"timestamp only", "\"timestamp\":" + ts, k2024_03_01 + 60 * kMinute},
      {"originalTimestamp only", "\"originalTimestamp\":" + original, k2024_03_01 + 60 * kMinute},
      {"timestamp wins over originalTimestamp",
       R"("timestamp":"2024-03-01T00:30:00Z","originalTimestamp":)" + original,
       k2024_03_01 + 30 * kMinute},
      {"skew from originalTimestamp",
       "\"originalTimestamp\":" + original + ",\"sentAt\":" + sent + ",\"receivedAt\":" + received,
       corrected},
      {"skew from timestamp",
       "\"timestamp\":" + ts + ",\"sentAt\":" + sent + ",\"receivedAt\":" + received, corrected},
      {"skew prefers originalTimestamp",
       R"("timestamp":"2024-03-01T00:30:00Z","originalTimestamp":)" + original +
           ",\"sentAt\":" + sent + ",\"receivedAt\":" + received,
       corrected},
      {"offsets are honoured",
       R"("originalTimestamp":"2024-03-01T02:00:00+01:00","sentAt":"2024-03-01T01:05:00Z",)"
       R"("receivedAt":"2024-03-01T01:05:02+01:00")",
       corrected},
      {"sentAt without receivedAt", "\"timestamp\":" + ts + ",\"sentAt\":" + sent,
       k2024_03_01 + 60 * kMinute},
      {"receivedAt only", "\"receivedAt\":" + received, k2024_03_01 + 5 * kMinute + 2'000'000},
      {"nothing: ingestion time", "\"context\":{}", kNow},
      {"sentAt with ingestion time as receivedAt",
       R"("timestamp":"2023-11-14T23:13:20Z","sentAt":"2023-11-14T23:18:20Z")", kNow - 5 * kMinute,
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    options_.skew_correct_with_ingest_time = c.skew_with_ingest_time;
    Recreate();
    ParsedEvent event = Parse(R"({"type":"track","event":"E","userId":"u",)" + c.fields + "}");
    EXPECT_EQ(event.time_micros, c.expected);
  }
}

TEST_F(SegmentParserTest, NdjsonAccountsForEveryLine) {
  const std::string text =
      "{\"type\":\"track\",\"event\":\"A\",\"userId\":\"u\"}\n"    // 1
      "\n"                                                         // 2: blank, not a record
      "   \t\n"                                                    // 3: blank
      "{\"type\":\"track\",\"event\":\"B\",\"userId\":\"u\"}\r\n"  // 4: CRLF
      "{\"type\":\"track\",\"userId\":\"u\"}\n"                    // 5: no event
      "{\"type\":\"track\",\"event\":\"C\",\"userId\":\"u\"}";     // 6: no final newline
  ParseOutput out = parser_->ParseNdjson(text, "events.ndjson");
  ASSERT_EQ(out.events.size(), 3u);
  EXPECT_EQ(out.events[0].name, "A");
  EXPECT_EQ(out.events[1].name, "B");
  EXPECT_EQ(out.events[2].name, "C");
  EXPECT_THAT(out.event_positions, ElementsAre(1, 4, 6));
  ASSERT_EQ(out.rejections.size(), 1u);
  EXPECT_EQ(out.rejections[0].source, "events.ndjson");
  EXPECT_EQ(out.rejections[0].position, 5u);
  EXPECT_EQ(out.rejections[0].reason, "track requires event");
  EXPECT_EQ(out.rejections[0].raw, "{\"type\":\"track\",\"userId\":\"u\"}");
  EXPECT_EQ(out.records(), 4u);

  ParseOutput chunk = parser_->ParseNdjson(text, "events.ndjson", 101);
  EXPECT_THAT(chunk.event_positions, ElementsAre(101, 104, 106));
  EXPECT_EQ(chunk.rejections[0].position, 105u);
}

TEST_F(SegmentParserTest, NdjsonIgnoresALeadingByteOrderMark) {
  ParseOutput out =
      parser_->ParseNdjson("\xEF\xBB\xBF{\"type\":\"identify\",\"userId\":\"u\"}\n", "f");
  EXPECT_EQ(out.events.size(), 1u);
  EXPECT_THAT(out.rejections, IsEmpty());
}

TEST_F(SegmentParserTest, BatchEnvelopeSentAtAppliesToEventsWithoutTheirOwn) {
  CDP_ASSERT_OK_AND_ASSIGN(ParseOutput out, parser_->ParseBatchEnvelope(R"({
      "sentAt": "2024-03-01T01:05:00Z",
      "batch": [
        {"type":"track","event":"A","userId":"u","originalTimestamp":"2024-03-01T01:00:00Z",
         "receivedAt":"2024-03-01T00:05:02Z"},
        {"type":"track","event":"B","userId":"u","originalTimestamp":"2024-03-01T01:00:00Z",
         "sentAt":"2024-03-01T01:00:00Z","receivedAt":"2024-03-01T00:05:02Z"}
      ]})",
                                                                        "batch"));
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.events[0].time_micros, k2024_03_01 + 2'000'000);
  EXPECT_EQ(out.events[1].time_micros, k2024_03_01 + 5 * kMinute + 2'000'000);
  EXPECT_THAT(out.event_positions, ElementsAre(0, 1));
}

TEST_F(SegmentParserTest, ObjectWithoutBatchIsOneEvent) {
  CDP_ASSERT_OK_AND_ASSIGN(
      ParseOutput out, parser_->ParseBatchEnvelope(R"({"type":"identify","userId":"u-1"})", "api"));
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].user_id, "u-1");
  EXPECT_THAT(out.event_positions, ElementsAre(0));
}

TEST(EventTypeNameTest, NamesEveryType) {
  EXPECT_STREQ(EventTypeName(EventType::kIdentify), "identify");
  EXPECT_STREQ(EventTypeName(EventType::kTrack), "track");
  EXPECT_STREQ(EventTypeName(EventType::kPage), "page");
  EXPECT_STREQ(EventTypeName(EventType::kScreen), "screen");
  EXPECT_STREQ(EventTypeName(EventType::kGroup), "group");
  EXPECT_STREQ(EventTypeName(EventType::kAlias), "alias");
}

}  // namespace
}  // namespace cdp::ingest
