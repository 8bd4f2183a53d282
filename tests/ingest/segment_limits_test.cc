// Hostile and broken input: depth and size limits, invalid UTF-8, truncated lines, batches that
// mix good and bad records, envelopes that fail as a whole, and the seed example files.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "ingest/internal/text.h"
#include "ingest/segment_parser.h"
#include "tests/support/status_matchers.h"

namespace cdp::ingest {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Good(absl::string_view name) {
  return absl::StrCat(R"({"type":"track","event":")", name, R"(","userId":"u-1"})");
}

// An identify event whose nesting depth is `depth` (>= 2): the event object, its traits object,
// then depth - 2 nested arrays.
std::string Nested(size_t depth) {
  return absl::StrCat(R"({"type":"identify","userId":"u","traits":{"deep":)",
                      std::string(depth - 2, '['), std::string(depth - 2, ']'), "}}");
}

std::string ReadDataFile(const std::string& name) {
  std::ifstream in(std::string(CDP_INGEST_TEST_DATA_DIR) + "/" + name, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class SegmentLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override { Recreate(); }
  void Recreate() {
    options_.clock = &clock_;
    CDP_ASSERT_OK_AND_ASSIGN(parser_, SegmentParser::Create(options_));
  }

  ManualClock clock_;
  ParserOptions options_;
  std::unique_ptr<SegmentParser> parser_;
};

TEST_F(SegmentLimitsTest, NestingUpToTheLimitIsAcceptedBeyondItRejected) {
  EXPECT_THAT(parser_->ParseEvent(Nested(32)), IsOk());
  EXPECT_THAT(parser_->ParseEvent(Nested(33)),
              StatusIs(absl::StatusCode::kInvalidArgument, "nesting deeper than 32 levels"));
}

TEST_F(SegmentLimitsTest, ThousandsOfNestedArraysAreRejectedWithoutCrashing) {
  options_.max_event_bytes = size_t{1} << 20;
  Recreate();
  for (size_t depth : {1000u, 5000u, 200'000u}) {
    SCOPED_TRACE(depth);
    const std::string arrays = std::string(depth, '[') + std::string(depth, ']');
    EXPECT_THAT(parser_->ParseEvent(arrays),
                StatusIs(absl::StatusCode::kInvalidArgument, "nesting deeper than 32 levels"));
    EXPECT_THAT(parser_->ParseEvent(Nested(depth)),
                StatusIs(absl::StatusCode::kInvalidArgument, "nesting deeper than 32 levels"));
    // Unbalanced: only opening brackets.
    EXPECT_THAT(parser_->ParseEvent(std::string(depth, '[')),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST_F(SegmentLimitsTest, RecordsOverTheSizeLimitAreRejected) {
  const std::string big = absl::StrCat(R"({"type":"identify","userId":"u","traits":{"blob":")",
                                       std::string(40'000, 'x'), R"("}})");
  const std::string text = Good("A") + "\n" + big + "\n" + Good("B") + "\n";
  ParseOutput out = parser_->ParseNdjson(text, "f");
  EXPECT_THAT(out.event_positions, ElementsAre(1, 3));
  ASSERT_EQ(out.rejections.size(), 1u);
  EXPECT_EQ(out.rejections[0].position, 2u);
  EXPECT_EQ(out.rejections[0].reason, "record is larger than 32768 bytes");
  EXPECT_EQ(out.rejections[0].raw, big);
}

TEST_F(SegmentLimitsTest, InvalidUtf8AndTruncatedLinesAreRejectedAlone) {
  const std::string text = Good("A") + "\n" +
                           "{\"type\":\"track\",\"event\":\"\xC3\x28\",\"userId\":\"u\"}\n" +
                           Good("B") + "\n" + R"({"type":"track","event":"C","userId":"u")" + "\n" +
                           R"({"type":"track","event":"C","us)" + "\n" + Good("D");
  ParseOutput out = parser_->ParseNdjson(text, "f");
  EXPECT_THAT(out.event_positions, ElementsAre(1, 3, 6));
  ASSERT_EQ(out.rejections.size(), 3u);
  EXPECT_EQ(out.rejections[0].position, 2u);
  EXPECT_EQ(out.rejections[0].reason, "invalid UTF-8");
  EXPECT_EQ(out.rejections[1].position, 4u);
  EXPECT_EQ(out.rejections[1].reason, "invalid JSON: unclosed object or array (truncated record?)");
  EXPECT_EQ(out.rejections[2].position, 5u);
  EXPECT_EQ(out.rejections[2].reason, "invalid JSON: unclosed string (truncated record?)");
}

TEST_F(SegmentLimitsTest, BatchMixingGoodAndBadYieldsOneOutcomePerRecord) {
  const std::string big = absl::StrCat(R"({"type":"identify","userId":"u","traits":{"blob":")",
                                       std::string(40'000, 'x'), R"("}})");
  const std::string envelope = absl::StrCat(
      R"({"batch":[)", Good("A"), ",",                                  // 0
      R"({"type":"track","userId":"S3CRET"})", ",",                     // 1: no event
      Good("B"), ",",                                                   // 2
      "42", ",",                                                        // 3: not an object
      R"({"type":"identify","userId":42})", ",",                        // 4: wrong type
      R"({"type":"identify","userId":"u","timestamp":"S3CRET"})", ",",  // 5: bad timestamp
      Good("C"), ",",                                                   // 6
      Nested(500), ",",                                                 // 7: too deep
      big,                                                              // 8: too large
      "]}");
  CDP_ASSERT_OK_AND_ASSIGN(ParseOutput out, parser_->ParseBatchEnvelope(envelope, "batch"));
  ASSERT_EQ(out.events.size(), 3u);
  EXPECT_EQ(out.events[0].name, "A");
  EXPECT_EQ(out.events[1].name, "B");
  EXPECT_EQ(out.events[2].name, "C");
  EXPECT_THAT(out.event_positions, ElementsAre(0, 2, 6));
  ASSERT_EQ(out.rejections.size(), 6u);
  const std::pair<uint64_t, std::string> expected[] = {
      {1, "track requires event"},
      {3, "record is not a JSON object"},
      {4, "userId must be a string"},
      {5, "timestamp is not an ISO-8601 date-time (RFC 3339 with Z or an offset)"},
      {7, "nesting deeper than 32 levels"},
      {8, "record is larger than 32768 bytes"},
  };
  for (size_t i = 0; i < out.rejections.size(); ++i) {
    EXPECT_EQ(out.rejections[i].source, "batch");
    EXPECT_EQ(out.rejections[i].position, expected[i].first);
    EXPECT_EQ(out.rejections[i].reason, expected[i].second);
    EXPECT_THAT(out.rejections[i].reason, ::testing::Not(HasSubstr("S3CRET")));
  }
  EXPECT_EQ(out.rejections[0].raw, R"({"type":"track","userId":"S3CRET"})");
  EXPECT_EQ(out.rejections[1].raw, "42");
}

TEST_F(SegmentLimitsTest, UnusableEnvelopesFailAsAWhole) {
  struct Case {
    std::string json;
    std::string message;
  };
  const Case cases[] = {
      {"", "batch: invalid JSON: empty"},
      {R"({"batch":[)" + Good("A"), "batch: invalid JSON"},
      {"[" + Good("A") + "]", "batch: the document is not a JSON object"},
      {R"({"batch":{"type":"track"}})", "batch: batch must be an array"},
      {R"({"batch":null})", "batch: batch must be an array"},
      {R"({"batch":[],"sentAt":"S3CRET"})", "batch: sentAt is not an ISO-8601 date-time"},
      {"{\"batch\":[" + Good("\xff") + "]}", "batch: invalid UTF-8"},
      {std::string(1100, '[') + std::string(1100, ']'), "batch: nesting deeper than 1024 levels"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    absl::StatusOr<ParseOutput> out = parser_->ParseBatchEnvelope(c.json, "batch");
    EXPECT_THAT(out, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
    EXPECT_THAT(std::string(out.status().message()), ::testing::Not(HasSubstr("S3CRET")));
  }

  options_.max_batch_bytes = 1024;
  options_.max_event_bytes = 1024;
  Recreate();
  const std::string large = absl::StrCat(R"({"batch":[)", Good(std::string(1100, 'x')), "]}");
  EXPECT_THAT(parser_->ParseBatchEnvelope(large, "batch"),
              StatusIs(absl::StatusCode::kInvalidArgument, "batch is larger than 1024 bytes"));
}

TEST_F(SegmentLimitsTest, EmptyBatchHasNoRecords) {
  CDP_ASSERT_OK_AND_ASSIGN(ParseOutput out, parser_->ParseBatchEnvelope(R"({"batch":[]})", "b"));
  EXPECT_EQ(out.records(), 0u);
  EXPECT_THAT(parser_->ParseNdjson("\n\r\n  \n", "f").rejections, IsEmpty());
}

TEST_F(SegmentLimitsTest, MutatedRecordsAlwaysGetExactlyOneOutcome) {
  const std::string seed =
      R"({"type":"identify","messageId":"m-1","userId":"u-1","timestamp":"2024-03-01T00:00:00Z",)"
      R"("traits":{"email":"a@example.com","n":[1,2.5,true,null]},"context":{"device":{"id":"d"},)"
      R"("externalIds":[{"id":"c","type":"crm"}],"consent":{"categoryPreferences":{"ads":true}}}})";
  std::mt19937 random(20240301);  // fixed seed: the test is deterministic
  for (int i = 0; i < 5000; ++i) {
    std::string record = seed;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits && !record.empty(); ++e) {
      const size_t at = random() % record.size();
      switch (random() % 3) {
        case 0:
          record[at] = static_cast<char>(random() % 256);
          break;
        case 1:
          record.erase(at, 1 + random() % 8);
          break;
        default:
          record.resize(at);
          break;
      }
    }
    if (record.find('\n') != std::string::npos || ::cdp::ingest::internal::IsBlank(record)) {
      continue;  // not one NDJSON record any more
    }
    ParseOutput out = parser_->ParseNdjson(record, "fuzz");
    ASSERT_EQ(out.records(), 1u) << i;
    ASSERT_EQ(out.events.size(), out.event_positions.size());
    for (const Rejection& rejection : out.rejections) {
      EXPECT_EQ(rejection.position, 1u);
      EXPECT_FALSE(rejection.reason.empty());
      EXPECT_THAT(rejection.reason, ::testing::Not(HasSubstr("a@example")));
    }
  }
}

TEST_F(SegmentLimitsTest, SeedExampleFilesParseAsDocumented) {
  ParseOutput ndjson = parser_->ParseNdjson(ReadDataFile("segment_events.ndjson"), "seed");
  EXPECT_EQ(ndjson.events.size(), 6u);
  EXPECT_EQ(ndjson.rejections.size(), 3u);
  for (const Rejection& rejection : ndjson.rejections) {
    EXPECT_THAT(rejection.reason, ::testing::Not(HasSubstr("S3CRET")));
  }
  CDP_ASSERT_OK_AND_ASSIGN(ParseOutput batch,
                           parser_->ParseBatchEnvelope(ReadDataFile("segment_batch.json"), "seed"));
  EXPECT_EQ(batch.events.size(), 3u);
  EXPECT_EQ(batch.rejections.size(), 1u);
}

}  // namespace
}  // namespace cdp::ingest
