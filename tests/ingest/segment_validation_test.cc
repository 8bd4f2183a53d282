// One table row per validation rule of the Segment parser: the record is rejected with its
// reason, the reason names the field, and it never quotes the offending value.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/clock.h"
#include "ingest/segment_parser.h"
#include "tests/support/status_matchers.h"

namespace cdp::ingest {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// Every offending value that is a string contains this; no reason may contain it.
constexpr char kSecret[] = "S3CRET";

struct Case {
  std::string json;
  std::string reason;
};

class SegmentValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.clock = &clock_;
    CDP_ASSERT_OK_AND_ASSIGN(parser_, SegmentParser::Create(options_));
  }

  void ExpectRejected(const Case& c) {
    SCOPED_TRACE(c.json);
    EXPECT_THAT(parser_->ParseEvent(c.json),
                StatusIs(absl::StatusCode::kInvalidArgument, c.reason));
    ParseOutput out = parser_->ParseNdjson(c.json + "\n", "feed");
    ASSERT_EQ(out.rejections.size(), 1u);
    EXPECT_TRUE(out.events.empty());
    EXPECT_EQ(out.rejections[0].position, 1u);
    EXPECT_EQ(out.rejections[0].reason, c.reason);
    EXPECT_THAT(out.rejections[0].reason, Not(HasSubstr(kSecret)));
  }

  ManualClock clock_;
  ParserOptions options_;
  std::unique_ptr<SegmentParser> parser_;
};

TEST_F(SegmentValidationTest, TypeRules) {
  const Case cases[] = {
      {R"({"userId":"S3CRET"})", "type is required"},
      {R"({"type":null,"userId":"u"})", "type is required"},
      {R"({"type":7,"userId":"u"})", "type must be a string"},
      {R"({"type":"S3CRET","userId":"u"})",
       "type must be one of identify, track, page, screen, group, alias"},
      {R"({"type":"Track","event":"e","userId":"u"})",
       "type must be one of identify, track, page, screen, group, alias"},
  };
  for (const Case& c : cases) ExpectRejected(c);
}

TEST_F(SegmentValidationTest, IdentityRules) {
  const Case cases[] = {
      {R"({"type":"identify","traits":{"email":"S3CRET@example.com"}})",
       "userId or anonymousId is required"},
      {R"({"type":"identify","userId":"","anonymousId":null})",
       "userId or anonymousId is required"},
      {R"({"type":"identify","userId":42})", "userId must be a string"},
      {R"({"type":"identify","userId":{"id":"S3CRET"}})", "userId must be a string"},
      {R"({"type":"identify","anonymousId":["S3CRET"]})", "anonymousId must be a string"},
      {R"({"type":"alias","userId":"S3CRET"})", "alias requires previousId"},
      {R"({"type":"alias","previousId":"S3CRET"})", "alias requires userId"},
      {R"({"type":"alias","previousId":7,"userId":"u"})", "previousId must be a string"},
      {R"({"type":"group","userId":"u"})", "group requires groupId"},
      {R"({"type":"group","userId":"u","groupId":""})", "group requires groupId"},
      {R"({"type":"group","userId":"u","groupId":7})", "groupId must be a string"},
  };
  for (const Case& c : cases) ExpectRejected(c);
}

TEST_F(SegmentValidationTest, FieldRules) {
  const std::string too_long_id = std::string(101, 'S');
  const Case cases[] = {
      {R"({"type":"track","userId":"u"})", "track requires event"},
      {R"({"type":"track","userId":"u","event":""})", "track requires event"},
      {R"({"type":"track","userId":"u","event":7})", "event must be a string"},
      {R"({"type":"page","userId":"u","name":["S3CRET"]})", "name must be a string"},
      {R"({"type":"identify","userId":"u","messageId":7})", "messageId must be a string"},
      {R"({"type":"identify","userId":"u","messageId":""})", "messageId is empty"},
      {R"({"type":"identify","userId":"u","messageId":"S3CRET)" + too_long_id + R"("})",
       "messageId is longer than 100 characters"},
      {R"({"type":"track","event":"e","userId":"u","properties":"S3CRET"})",
       "properties must be an object"},
      {R"({"type":"identify","userId":"u","traits":["S3CRET"]})", "traits must be an object"},
      {R"({"type":"identify","userId":"u","context":"S3CRET"})", "context must be an object"},
      {R"({"type":"identify","userId":"u","context":{"traits":"S3CRET"}})",
       "context.traits must be an object"},
      {R"({"type":"identify","userId":"u","context":{"device":"S3CRET"}})",
       "context.device must be an object"},
      {R"({"type":"identify","userId":"u","context":{"device":{"id":7}}})",
       "context.device.id must be a string"},
      {R"({"type":"identify","userId":"u","context":{"externalIds":{"id":"S3CRET"}}})",
       "context.externalIds must be an array"},
      {R"({"type":"identify","userId":"u","context":{"channel":7}})",
       "context.channel must be a string"},
      {R"({"type":"identify","userId":"u","context":{"consent":"S3CRET"}})",
       "context.consent must be an object"},
      {R"({"type":"identify","userId":"u","context":{"consent":{"categoryPreferences":[]}}})",
       "context.consent.categoryPreferences must be an object"},
      {R"({"type":"identify","userId":"u","context":{"consent":{"categoryPreferences":)"
       R"({"ads":"S3CRET"}}}})",
       "context.consent.categoryPreferences values must be booleans"},
  };
  for (const Case& c : cases) ExpectRejected(c);
}

TEST_F(SegmentValidationTest, TimestampRules) {
  const std::string not_a_date = " is not an ISO-8601 date-time (RFC 3339 with Z or an offset)";
  const Case cases[] = {
      {R"({"type":"identify","userId":"u","timestamp":"yesterday S3CRET"})",
       "timestamp" + not_a_date},
      {R"({"type":"identify","userId":"u","timestamp":"2024-03-01"})", "timestamp" + not_a_date},
      {R"({"type":"identify","userId":"u","originalTimestamp":1709251200})",
       "originalTimestamp must be a string"},
      {R"({"type":"identify","userId":"u","sentAt":"2024-03-01T00:00:00"})", "sentAt" + not_a_date},
      {R"({"type":"identify","userId":"u","receivedAt":"2024-02-30T00:00:00Z"})",
       "receivedAt" + not_a_date},
      {R"({"type":"identify","userId":"u","originalTimestamp":"0001-01-01T00:00:00Z",)"
       R"("sentAt":"9999-12-31T00:00:00Z","receivedAt":"0001-01-02T00:00:00Z"})",
       "event time is out of range after clock-skew correction"},
  };
  for (const Case& c : cases) ExpectRejected(c);
}

TEST_F(SegmentValidationTest, DocumentRules) {
  const Case cases[] = {
      {R"(["S3CRET"])", "record is not a JSON object"},
      {R"("S3CRET")", "record is not a JSON object"},
      {R"(42)", "record is not a JSON object"},
      {R"({"type":"identify","userId":"S3CRET",})",
       "invalid JSON: malformed structure (missing or extra comma, brace, bracket or key)"},
      {R"({"type":"identify","userId":"S3CRET)",
       "invalid JSON: unclosed string (truncated record?)"},
      {R"({"type":"identify","userId":"S3CRET")",
       "invalid JSON: unclosed object or array (truncated record?)"},
      {R"({"type":"identify","traits":{"a":[1,{"b":"S3CRET"}]})",
       "invalid JSON: unclosed object or array (truncated record?)"},
      {R"({"type":"identify","userId":"S3CRET"}})",
       "invalid JSON: malformed structure (missing or extra comma, brace, bracket or key)"},
      {R"({"type":"identify","userId":S3CRET})",
       "invalid JSON: malformed structure (missing or extra comma, brace, bracket or key)"},
      {R"({"type":"identify","userId":"u"} {"type":"identify","userId":"S3CRET"})",
       "invalid JSON: malformed structure (missing or extra comma, brace, bracket or key)"},
      {"{\"type\":\"identify\",\"userId\":\"S3CRET\xff\"}", "invalid UTF-8"},
      {"{\"type\":\"identify\",\"userId\":\"S3CRET\x01\"}",
       "invalid JSON: unescaped control character in a string"},
  };
  for (const Case& c : cases) ExpectRejected(c);
}

TEST_F(SegmentValidationTest, AcceptsTheEdgesOfTheRules) {
  // 100 two-byte characters: 200 bytes but 100 characters.
  std::string message_id;
  for (int i = 0; i < 100; ++i) message_id += "\xC3\xA9";
  EXPECT_THAT(
      parser_->ParseEvent(R"({"type":"identify","userId":"u","messageId":")" + message_id + "\"}"),
      IsOk());
  EXPECT_THAT(parser_->ParseEvent(R"({"type":"identify","anonymousId":"a","userId":null,)"
                                  R"("timestamp":null,"context":null,"traits":null})"),
              IsOk());
  EXPECT_THAT(parser_->ParseEvent(R"({"type":"alias","previousId":"p","userId":"u"})"), IsOk());
  // previousId is only read for alias; other types ignore it whatever its type.
  EXPECT_THAT(parser_->ParseEvent(R"({"type":"identify","userId":"u","previousId":7})"), IsOk());
}

}  // namespace
}  // namespace cdp::ingest
