#include "ingest/dead_letter.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "ingest/segment_parser.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace cdp::ingest {
namespace {

using ::cdp::testing::IsOk;
using ::testing::HasSubstr;

TEST(DeadLetterTest, WritesEveryRejectionWithPositionReasonAndRawRecord) {
  cdp::testing::TempDir dir;
  auto parser = SegmentParser::Create(ParserOptions()).value();
  ParseOutput out = parser->ParseNdjson(
      "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"E\"}\n"
      "{\"type\":\"track\",\"event\":\"E\",\"note\":\"line \\\"two\\\"\"}\n"
      "not json\n"
      "{\"type\":\"track\",\"userId\":\"\xff\xfe\",\"event\":\"E\"}\n",
      "feed.ndjson");
  ASSERT_EQ(out.rejections.size(), 3u);
  const std::string path = DeadLetterPath(dir.Sub("feed.ndjson"));
  ASSERT_THAT(WriteDeadLetters(path, out.rejections), IsOk());

  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr("\"position\":2"));
  EXPECT_THAT(lines[0], HasSubstr("\"raw\":\"{\\\"type\\\""));
  EXPECT_THAT(lines[1], HasSubstr("\"position\":3"));
  EXPECT_THAT(lines[1], HasSubstr("\"raw\":\"not json\""));
  EXPECT_THAT(lines[2], HasSubstr("\"raw_base64\""));
}

TEST(DeadLetterTest, NoRejectionsNoFile) {
  cdp::testing::TempDir dir;
  const std::string path = dir.Sub("none.rejected.ndjson");
  ASSERT_THAT(WriteDeadLetters(path, {}), IsOk());
  struct stat st;
  EXPECT_NE(stat(path.c_str(), &st), 0);
}

// `cdp ingest` writes rejections as their outcomes arrive: many of them, past the writer's 1 MiB
// of buffered text, replacing what an earlier run left.
TEST(DeadLetterTest, AWriterAppendsAsRejectionsComeAndReplacesAnOlderFile) {
  cdp::testing::TempDir dir;
  const std::string path = dir.Sub("feed.rejected.ndjson");
  std::ofstream(path) << "left by an earlier run\n";
  DeadLetterWriter writer(path);
  constexpr int kRecords = 5000;  // ~1.5 MiB of text
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_THAT(writer.Add({.source = "feed.ndjson",
                            .position = static_cast<uint64_t>(i + 1),
                            .reason = "bad",
                            .raw = std::string(250, 'r')}),
                IsOk());
  }
  ASSERT_THAT(writer.Close(), IsOk());
  EXPECT_EQ(writer.added(), static_cast<uint64_t>(kRecords));
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kRecords));
  EXPECT_THAT(lines.front(), HasSubstr("\"position\":1,"));
  EXPECT_THAT(lines.back(), HasSubstr(absl::StrCat("\"position\":", kRecords, ",")));
}

}  // namespace
}  // namespace cdp::ingest
