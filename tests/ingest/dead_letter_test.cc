#include "ingest/dead_letter.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace cdp::ingest
