// The CSV mapping file: what it parses into, its defaults, and each rule it enforces.

#include "ingest/csv_mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/support/status_matchers.h"

namespace cdp::ingest {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;
using Kind = CsvTarget::Kind;

TEST(CsvMappingTest, ParsesEveryMember) {
  CDP_ASSERT_OK_AND_ASSIGN(CsvMapping mapping, ParseCsvMapping(R"({
      "type": "track",
      "channel": "pos",
      "delimiter": ";",
      "timestamp_format": "epoch_millis",
      "columns": {
        "Email": ["identifier:email", "trait:email"],
        "CRM ID": "identifier:crm_id",
        "Amount": "property:revenue",
        "Activity": "event",
        "When": "timestamp",
        "Txn": "message_id",
        "Notes": "ignore"
      }})"));
  EXPECT_EQ(mapping.type, EventType::kTrack);
  EXPECT_EQ(mapping.EffectiveType(), EventType::kTrack);
  EXPECT_EQ(mapping.channel, "pos");
  EXPECT_EQ(mapping.delimiter, ';');
  EXPECT_EQ(mapping.timestamp_format, CsvTimestampFormat::kEpochMillis);
  ASSERT_EQ(mapping.columns.size(), 7u);
  EXPECT_EQ(mapping.columns[0].column, "Email");
  ASSERT_EQ(mapping.columns[0].targets.size(), 2u);
  EXPECT_EQ(mapping.columns[0].targets[0].kind, Kind::kIdentifier);
  EXPECT_EQ(mapping.columns[0].targets[0].name, "email");
  EXPECT_EQ(mapping.columns[0].targets[1].kind, Kind::kTrait);
  EXPECT_EQ(mapping.columns[1].targets[0].name, "crm_id");
  EXPECT_EQ(mapping.columns[2].targets[0].kind, Kind::kProperty);
  EXPECT_EQ(mapping.columns[3].targets[0].kind, Kind::kEvent);
  EXPECT_EQ(mapping.columns[4].targets[0].kind, Kind::kTimestamp);
  EXPECT_EQ(mapping.columns[5].targets[0].kind, Kind::kMessageId);
  EXPECT_EQ(mapping.columns[6].targets[0].kind, Kind::kIgnore);
}

TEST(CsvMappingTest, DefaultTypeFollowsTheEventName) {
  CDP_ASSERT_OK_AND_ASSIGN(CsvMapping identify,
                           ParseCsvMapping(R"({"columns":{"Email":"identifier:email"}})"));
  EXPECT_FALSE(identify.type.has_value());
  EXPECT_EQ(identify.EffectiveType(), EventType::kIdentify);
  EXPECT_EQ(identify.delimiter, ',');
  EXPECT_EQ(identify.timestamp_format, CsvTimestampFormat::kIso8601);

  CDP_ASSERT_OK_AND_ASSIGN(
      CsvMapping fixed,
      ParseCsvMapping(R"({"event":"Call Ended","columns":{"Phone":"identifier:phone"}})"));
  EXPECT_EQ(fixed.EffectiveType(), EventType::kTrack);

  CDP_ASSERT_OK_AND_ASSIGN(
      CsvMapping column,
      ParseCsvMapping(R"({"columns":{"Phone":"identifier:phone","What":"event"}})"));
  EXPECT_EQ(column.EffectiveType(), EventType::kTrack);

  CDP_ASSERT_OK_AND_ASSIGN(
      CsvMapping page,
      ParseCsvMapping(R"({"type":"page","columns":{"Id":"identifier:user_id","Url":"event"}})"));
  EXPECT_EQ(page.EffectiveType(), EventType::kPage);
}

TEST(CsvMappingTest, RejectsEachBrokenRuleNamingTheMember) {
  struct Case {
    std::string json;
    std::string message;
  };
  const Case cases[] = {
      {R"({"columns":)", "CsvMapping: invalid JSON"},
      {R"([])", "not a JSON object"},
      {R"({"columns":{"E":"identifier:email"},"colums":{}})", "CsvMapping.\"colums\": unknown"},
      {R"({"columns":{"E":"identifier:email"},"channel":"a","channel":"b"})",
       "CsvMapping.\"channel\": listed twice"},
      {R"({"event":"x"})", "CsvMapping.columns: missing"},
      {R"({"columns":[]})", "CsvMapping.columns: must be an object"},
      {R"({"columns":{"E":"identity:email"}})",
       "CsvMapping.columns[\"E\"]: \"identity:email\" is not"},
      {R"({"columns":{"E":7}})", "CsvMapping.columns[\"E\"]: must be a string"},
      {R"({"columns":{"E":[]}})", "CsvMapping.columns[\"E\"]: has no target"},
      {R"({"columns":{"E":"identifier:email","E":"trait:email"}})",
       "CsvMapping.columns[\"E\"]: listed twice"},
      {R"({"columns":{"":"identifier:email"}})", "a column name is empty"},
      {R"({"type":"alias","columns":{"E":"identifier:email"}})",
       "CsvMapping.type: alias and group"},
      {R"({"type":"group","columns":{"E":"identifier:email"}})",
       "CsvMapping.type: alias and group"},
      {R"({"type":"click","columns":{"E":"identifier:email"}})", "CsvMapping.type: must be"},
      {R"({"type":7,"columns":{"E":"identifier:email"}})", "CsvMapping.type: must be a string"},
      {R"({"delimiter":";;","columns":{"E":"identifier:email"}})", "CsvMapping.delimiter"},
      {R"({"delimiter":"\"","columns":{"E":"identifier:email"}})", "CsvMapping.delimiter"},
      {R"({"timestamp_format":"unix","columns":{"E":"identifier:email"}})",
       "CsvMapping.timestamp_format"},
      {R"({"columns":{"E":"trait:email"}})", "CsvMapping.columns: no identifier column"},
      {R"({"columns":{"E":"identifier:E-Mail"}})", "identifier type is not [a-z0-9_]{1,32}"},
      {R"({"columns":{"E":"identifier:email","N":"trait:"}})", "trait name is empty"},
      {R"({"columns":{"E":"identifier:email","N":"trait:name","M":"trait:name"}})",
       "CsvMapping.columns[\"M\"]: trait \"name\" is fed by two columns"},
      {R"({"columns":{"A":"identifier:user_id","B":"identifier:user_id"}})",
       "CsvMapping.columns[\"B\"]: a second user_id column"},
      {R"({"columns":{"E":"identifier:email","A":"timestamp","B":"timestamp"}})",
       "a second timestamp column"},
      {R"({"columns":{"E":"identifier:email","A":"message_id","B":"message_id"}})",
       "a second message_id column"},
      {R"({"columns":{"E":"identifier:email","A":"event","B":"event"}})", "a second event column"},
      {R"({"event":"x","columns":{"E":"identifier:email","A":"event"}})",
       "both a fixed event and an event column"},
      {R"({"type":"identify","event":"x","columns":{"E":"identifier:email"}})",
       "identify events have no event name"},
      {R"({"columns":{"E":"identifier:email","A":"property:amount"}})",
       "identify events have no properties"},
      {R"({"type":"track","columns":{"E":"identifier:email"}})",
       "track needs a fixed event or an event column"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseCsvMapping(c.json),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.json;
  }
}

TEST(CsvMappingTest, ValidateChecksMappingsBuiltInCode) {
  CsvMapping mapping;
  EXPECT_THAT(mapping.Validate(), StatusIs(absl::StatusCode::kInvalidArgument));
  mapping.columns.push_back(CsvColumn{"Email", {CsvTarget{Kind::kIdentifier, "email"}}});
  EXPECT_THAT(mapping.Validate(), IsOk());
  mapping.delimiter = '\n';
  EXPECT_THAT(mapping.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("CsvMapping.delimiter")));
}

}  // namespace
}  // namespace cdp::ingest
