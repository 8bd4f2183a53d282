// CsvParser end to end: rows into events under a mapping, quoting and CRLF, per-row rejections
// with their line numbers, file-level configuration errors, and derived message ids.

#include "ingest/csv_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "common/clock.h"
#include "ingest/segment_parser.h"
#include "tests/support/status_matchers.h"

namespace cdp::ingest {
namespace {

using ::cdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

constexpr int64_t kNow = 1'700'000'000'000'000;
constexpr int64_t k2024_03_01 = 1'709'251'200'000'000;  // 2024-03-01T00:00:00Z

MATCHER_P2(Id, type, value, "") { return arg.type == type && arg.value == value; }

constexpr char kCrmMapping[] = R"({
  "channel": "crm",
  "columns": {
    "Customer Id": "identifier:user_id",
    "Email": ["identifier:email", "trait:email"],
    "Phone": "identifier:phone",
    "Loyalty": "identifier:loyalty_id",
    "Name": "trait:name",
    "Notes": "ignore"
  }})";

constexpr char kPeopleMapping[] = R"({
  "columns": {
    "Customer Id": "identifier:user_id",
    "Email": ["identifier:email", "trait:email"],
    "Name": "trait:name"
  }})";

constexpr char kPosMapping[] = R"({
  "channel": "pos",
  "columns": {
    "Email": "identifier:email",
    "Activity": "event",
    "When": "timestamp",
    "Txn": "message_id",
    "Amount": "property:revenue",
    "Store": "trait:home_store"
  }})";

class CsvParserTest : public ::testing::Test {
 protected:
  std::unique_ptr<CsvParser> Make(absl::string_view mapping_json) {
    options_.clock = &clock_;
    absl::StatusOr<CsvMapping> mapping = ParseCsvMapping(mapping_json);
    EXPECT_TRUE(mapping.ok()) << mapping.status();
    absl::StatusOr<std::unique_ptr<CsvParser>> parser = CsvParser::Create(*mapping, options_);
    EXPECT_TRUE(parser.ok()) << parser.status();
    return parser.ok() ? *std::move(parser) : nullptr;
  }

  ParseOutput Parse(absl::string_view mapping_json, absl::string_view csv) {
    std::unique_ptr<CsvParser> parser = Make(mapping_json);
    if (parser == nullptr) return {};
    absl::StatusOr<ParseOutput> out = parser->Parse(csv, "export.csv");
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *std::move(out) : ParseOutput{};
  }

  ManualClock clock_{kNow};
  ParserOptions options_;
};

TEST_F(CsvParserTest, IdentifyRowsBecomeSegmentShapedEvents) {
  ParseOutput out =
      Parse(kCrmMapping,
            "Customer Id,Email,Name,Phone,Loyalty,Notes,Unmapped\n"
            "c-1,ann@example.com,\"Smith, Ann\",+14155550100,L-1,\"multi\nline\",x\n");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_THAT(out.rejections, IsEmpty());
  EXPECT_THAT(out.event_positions, ElementsAre(2));
  const ParsedEvent& event = out.events[0];
  EXPECT_EQ(event.type, EventType::kIdentify);
  EXPECT_EQ(event.user_id, "c-1");
  EXPECT_THAT(event.identifiers, ElementsAre(Id("user_id", "c-1"), Id("email", "ann@example.com"),
                                             Id("phone", "+14155550100"), Id("loyalty_id", "L-1")));
  EXPECT_THAT(event.traits,
              ElementsAre(Pair("email", R"("ann@example.com")"), Pair("name", R"("Smith, Ann")")));
  EXPECT_EQ(event.channel, "crm");
  EXPECT_EQ(event.time_micros, kNow);
  EXPECT_TRUE(event.message_id_derived);
  EXPECT_EQ(event.json,
            R"({"type":"identify","userId":"c-1","traits":{"email":"ann@example.com",)"
            R"("name":"Smith, Ann"},"context":{"channel":"crm","externalIds":[)"
            R"({"id":"ann@example.com","type":"email"},{"id":"+14155550100","type":"phone"},)"
            R"({"id":"L-1","type":"loyalty_id"}]}})");

  // The json reads back through the Segment parser into the same event.
  ParserOptions segment_options;
  segment_options.clock = &clock_;
  CDP_ASSERT_OK_AND_ASSIGN(auto segment, SegmentParser::Create(segment_options));
  CDP_ASSERT_OK_AND_ASSIGN(ParsedEvent again, segment->ParseEvent(event.json));
  EXPECT_EQ(again.identifiers.size(), event.identifiers.size());
  for (size_t i = 0; i < again.identifiers.size() && i < event.identifiers.size(); ++i) {
    EXPECT_EQ(again.identifiers[i].type, event.identifiers[i].type);
    EXPECT_EQ(again.identifiers[i].value, event.identifiers[i].value);
  }
  EXPECT_EQ(again.traits, event.traits);
  EXPECT_EQ(again.message_id, event.message_id) << "both derive from the same compact json";
}

TEST_F(CsvParserTest, TrackRowsTakeEventTimestampMessageIdAndProperties) {
  ParseOutput out = Parse(kPosMapping,
                          "Txn,Email,Activity,When,Amount,Store\n"
                          "t-1,ann@example.com,Order Completed,2024-03-01T00:00:00Z,9.50,Paris\n"
                          "t-2,bob@example.com, Refund ,2024-03-01,,\n");
  ASSERT_EQ(out.events.size(), 2u);
  const ParsedEvent& first = out.events[0];
  EXPECT_EQ(first.type, EventType::kTrack);
  EXPECT_EQ(first.name, "Order Completed");
  EXPECT_EQ(first.message_id, "t-1");
  EXPECT_FALSE(first.message_id_derived);
  EXPECT_EQ(first.time_micros, k2024_03_01);
  EXPECT_THAT(first.properties, ElementsAre(Pair("revenue", R"("9.50")")));
  EXPECT_THAT(first.traits, ElementsAre(Pair("home_store", R"("Paris")")));
  EXPECT_EQ(first.json, R"({"type":"track","messageId":"t-1","event":"Order Completed",)"
                        R"("timestamp":"2024-03-01T00:00:00Z","properties":{"revenue":"9.50"},)"
                        R"("context":{"channel":"pos","traits":{"home_store":"Paris"},)"
                        R"("externalIds":[{"id":"ann@example.com","type":"email"}]}})");
  const ParsedEvent& second = out.events[1];
  EXPECT_EQ(second.name, "Refund") << "event names are trimmed";
  EXPECT_EQ(second.time_micros, k2024_03_01) << "a date is midnight UTC";
  EXPECT_THAT(second.properties, IsEmpty()) << "empty cells are absent";
  EXPECT_THAT(second.traits, IsEmpty());
}

TEST_F(CsvParserTest, EpochTimestampFormats) {
  const std::string csv = "Email,When\nann@example.com,1709251200\n";
  ParseOutput seconds = Parse(
      R"({"timestamp_format":"epoch_seconds","columns":{"Email":"identifier:email","When":"timestamp"}})",
      csv);
  ASSERT_EQ(seconds.events.size(), 1u);
  EXPECT_EQ(seconds.events[0].time_micros, k2024_03_01);
  ParseOutput millis = Parse(
      R"({"timestamp_format":"epoch_millis","columns":{"Email":"identifier:email","When":"timestamp"}})",
      "Email,When\nann@example.com,1709251200000\n");
  ASSERT_EQ(millis.events.size(), 1u);
  EXPECT_EQ(millis.events[0].time_micros, k2024_03_01);
}

TEST_F(CsvParserTest, QuotedCellsBecomeEscapedJsonStrings) {
  ParseOutput out = Parse(kPeopleMapping,
                          "Customer Id,Email,Name\r\n"
                          "c-1,,\"She said \"\"hi\"\", \\o/\r\nbye\"\r\n");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_THAT(out.events[0].traits, ElementsAre(Pair("name", R"("She said \"hi\", \\o/\r\nbye")")));
}

TEST_F(CsvParserTest, CrlfAndLfFilesGiveTheSameEvents) {
  const std::string lf =
      "Customer Id,Email,Name\nc-1,ann@example.com,Ann\nc-2,bob@example.com,\"Bob\nB.\"\n";
  const std::string crlf = absl::StrReplaceAll(lf, {{"\n", "\r\n"}});
  ParseOutput a = Parse(kPeopleMapping, lf);
  ParseOutput b = Parse(kPeopleMapping, crlf);
  ASSERT_EQ(a.events.size(), 2u);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(a.events[0].message_id, b.events[0].message_id);
  EXPECT_EQ(a.event_positions, b.event_positions);
  // The quoted line break is data: LF in one file, CRLF in the other.
  EXPECT_EQ(b.events[1].traits.at("name"), R"("Bob\r\nB.")");
}

TEST_F(CsvParserTest, DerivedMessageIdsIdentifyRowContent) {
  const std::string csv = "Customer Id,Email,Name\nc-1,ann@example.com,\nc-2,bob@example.com,\n";
  ParseOutput first = Parse(kPeopleMapping, csv);
  clock_.Advance(86'400'000'000);  // delivered again the next day, rows in another order
  ParseOutput again = Parse(kPeopleMapping,
                            "Name,Email,Customer Id\n,bob@example.com,c-2\n"
                            ",ann@example.com,c-1\n");
  ASSERT_EQ(first.events.size(), 2u);
  ASSERT_EQ(again.events.size(), 2u);
  EXPECT_EQ(first.events[0].message_id, again.events[1].message_id);
  EXPECT_EQ(first.events[1].message_id, again.events[0].message_id);
  EXPECT_NE(first.events[0].message_id, first.events[1].message_id);
  EXPECT_THAT(first.events[0].message_id, ::testing::StartsWith("derived-"));
}

TEST_F(CsvParserTest, BadRowsAreRejectedAtTheirFirstLineWithoutTheirValues) {
  options_.max_event_bytes = 256;
  const std::string csv =
      "Txn,Email,Activity,When,Amount,Store\n"                            // 1
      "t-1,ann@example.com,Buy,2024-03-01T00:00:00Z,1,\"multi\nline\"\n"  // 2-3 good
      "t-2,S3CRET@example.com,Buy,2024-03-01T00:00:00Z\n"                 // 4 columns
      "t-3,S3CRET@example.com,Buy,S3CRET yesterday,1,x\n"                 // 5 timestamp
      "t-4,,Buy,2024-03-01T00:00:00Z,1,S3CRET\n"                          // 6 no identifier
      "t-5,S3CRET@example.com,,2024-03-01T00:00:00Z,1,x\n"                // 7 no event
      "S3CRET" +
      std::string(100, 'x') +
      ",a@example.com,Buy,,1,x\n"                                  // 8 messageId
      "t-7,S3CRET\xff@example.com,Buy,2024-03-01T00:00:00Z,1,x\n"  // 9 UTF-8
      "t-8,\"S3CRET\"x,Buy,2024-03-01T00:00:00Z,1,x\n"             // 10 quoting
      "t-9,a@example.com,Buy,2024-03-01T00:00:00Z,1," +
      std::string(300, 'S') +
      "\n"                                                      // 11 size
      "t-10,bob@example.com,Buy,2024-03-01T00:00:00Z,2,y\r\n";  // 12 good
  ParseOutput out = Parse(kPosMapping, csv);
  EXPECT_THAT(out.event_positions, ElementsAre(2, 12));
  const std::pair<uint64_t, std::string> expected[] = {
      {4, "row has 4 columns, the header has 6"},
      {5, "column \"When\" is not an ISO-8601 date-time or date"},
      {6, "row has no identifier: every identifier column is empty"},
      {7, "row has no event name: the event column is empty"},
      {8, "column \"Txn\" is longer than 100 characters"},
      {9, "column \"Email\" is not valid UTF-8"},
      {10, "malformed CSV: text after a closing quote"},
      {11, "row is larger than 256 bytes"},
  };
  ASSERT_EQ(out.rejections.size(), std::size(expected));
  for (size_t i = 0; i < out.rejections.size(); ++i) {
    EXPECT_EQ(out.rejections[i].source, "export.csv");
    EXPECT_EQ(out.rejections[i].position, expected[i].first);
    EXPECT_EQ(out.rejections[i].reason, expected[i].second);
    EXPECT_THAT(out.rejections[i].reason, Not(HasSubstr("S3CRET")));
  }
  EXPECT_EQ(out.rejections[0].raw, "t-2,S3CRET@example.com,Buy,2024-03-01T00:00:00Z");
}

TEST_F(CsvParserTest, ConfigurationErrorsFailTheWholeFile) {
  std::unique_ptr<CsvParser> parser = Make(kPeopleMapping);
  ASSERT_NE(parser, nullptr);
  EXPECT_THAT(parser->Parse("Customer Id,E-mail\nc-1,a@example.com\n", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "CSV: the mapping names column \"Email\", which is not in the header"));
  EXPECT_THAT(parser->Parse("Customer Id,Email,Email\n", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("column \"Email\" appears more than once")));
  EXPECT_THAT(parser->Parse("", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, "CSV: no header row"));
  EXPECT_THAT(parser->Parse("\"Customer Id,Email\n", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("malformed header row")));
  // Header cells are trimmed, a byte-order mark is ignored and unmapped duplicates are fine.
  CDP_ASSERT_OK_AND_ASSIGN(
      ParseOutput out,
      parser->Parse("\xEF\xBB\xBF Customer Id ,Email,x,Name,x\nc-1,a@example.com,1,,2\n", "f"));
  EXPECT_EQ(out.events.size(), 1u);
  // A header alone is a file without records.
  CDP_ASSERT_OK_AND_ASSIGN(ParseOutput empty, parser->Parse("Customer Id,Email,Name\r\n", "f"));
  EXPECT_EQ(empty.records(), 0u);
}

TEST_F(CsvParserTest, CreateValidatesMappingAndOptions) {
  EXPECT_THAT(CsvParser::Create(CsvMapping{}, ParserOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("CsvMapping.columns")));
  CDP_ASSERT_OK_AND_ASSIGN(CsvMapping mapping, ParseCsvMapping(kCrmMapping));
  ParserOptions bad;
  bad.max_message_id_chars = 0;
  EXPECT_THAT(CsvParser::Create(mapping, bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ParserOptions")));
}

TEST_F(CsvParserTest, MutatedFilesNeverFailRowsSilently) {
  std::unique_ptr<CsvParser> parser = Make(kPosMapping);
  ASSERT_NE(parser, nullptr);
  const std::string header = "Txn,Email,Activity,When,Amount,Store\n";
  const std::string rows =
      "t-1,ann@example.com,Buy,2024-03-01T00:00:00Z,1,\"Paris, \"\"FR\"\"\"\n"
      "t-2,bob@example.com,\"Re\nfund\",2024-03-01,2,Lyon\r\n"
      "t-3,cy@example.com,Buy,,3,\n";
  std::mt19937 random(42);
  for (int i = 0; i < 3000; ++i) {
    std::string body = rows;
    for (int e = 0; e < 3; ++e) {
      const size_t at = random() % body.size();
      const char bytes[] = {'"', ',', '\n', '\r', 'x', '\xff', '\0'};
      body[at] = bytes[random() % sizeof(bytes)];
    }
    CDP_ASSERT_OK_AND_ASSIGN(ParseOutput out, parser->Parse(header + body, "fuzz"));
    ASSERT_EQ(out.events.size(), out.event_positions.size());
    // Outcomes come in file order, each at a distinct line after the header.
    std::vector<uint64_t> positions = out.event_positions;
    for (const Rejection& rejection : out.rejections) {
      positions.push_back(rejection.position);
      EXPECT_THAT(rejection.reason, Not(HasSubstr("example.com")));
    }
    std::sort(positions.begin(), positions.end());
    EXPECT_TRUE(std::adjacent_find(positions.begin(), positions.end()) == positions.end());
    for (uint64_t position : positions) EXPECT_GE(position, 2u);
  }
}

TEST_F(CsvParserTest, SeedExampleFilesParseAsDocumented) {
  auto read = [](const std::string& name) {
    std::ifstream in(std::string(CDP_INGEST_TEST_DATA_DIR) + "/" + name, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  ParseOutput out = Parse(read("crm_mapping.json"), read("crm_export.csv"));
  EXPECT_EQ(out.events.size(), 3u);
  ASSERT_EQ(out.rejections.size(), 2u);
  EXPECT_EQ(out.rejections[0].position, 5u);
  EXPECT_EQ(out.rejections[0].reason, "row has no identifier: every identifier column is empty");
  EXPECT_EQ(out.rejections[1].position, 6u);
  EXPECT_EQ(out.rejections[1].reason, "row has 8 columns, the header has 9");
  EXPECT_THAT(out.event_positions, ElementsAre(2, 3, 7));
}

}  // namespace
}  // namespace cdp::ingest
