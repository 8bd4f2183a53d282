// RFC 4180 record splitting: quoting, doubled quotes, embedded line breaks, CRLF, blank lines,
// malformed records and where reading resumes after them.

#include "ingest/internal/csv_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cdp::ingest::internal {
namespace {

using ::testing::ElementsAre;

std::vector<CsvRecord> ReadAll(absl::string_view text, char delimiter = ',') {
  CsvReader reader(text, delimiter);
  std::vector<CsvRecord> records;
  CsvRecord record;
  while (reader.Next(&record)) records.push_back(record);
  return records;
}

TEST(CsvReaderTest, SplitsPlainRecordsWithLfOrCrlf) {
  for (absl::string_view newline : {"\n", "\r\n"}) {
    const std::string text = absl::StrCat("a,b,c", newline, "1,,3", newline, "x,y,", newline);
    std::vector<CsvRecord> records = ReadAll(text);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_THAT(records[0].fields, ElementsAre("a", "b", "c"));
    EXPECT_THAT(records[1].fields, ElementsAre("1", "", "3"));
    EXPECT_THAT(records[2].fields, ElementsAre("x", "y", ""));
    EXPECT_EQ(records[1].line, 2u);
    EXPECT_EQ(records[1].raw, "1,,3");
    for (const CsvRecord& r : records) EXPECT_TRUE(r.error.empty());
  }
}

TEST(CsvReaderTest, QuotedFieldsHoldDelimitersQuotesAndLineBreaks) {
  const std::string text =
      "id,note\n"
      "1,\"Smith, Ann\"\n"
      "2,\"She said \"\"hi\"\"\"\n"
      "3,\"line one\nline two\r\nline three\"\n"
      "4,\"\"\n"
      "5,last";
  std::vector<CsvRecord> records = ReadAll(text);
  ASSERT_EQ(records.size(), 6u);
  EXPECT_THAT(records[1].fields, ElementsAre("1", "Smith, Ann"));
  EXPECT_THAT(records[2].fields, ElementsAre("2", "She said \"hi\""));
  EXPECT_THAT(records[3].fields, ElementsAre("3", "line one\nline two\r\nline three"));
  EXPECT_EQ(records[3].line, 4u);
  EXPECT_EQ(records[3].raw, "3,\"line one\nline two\r\nline three\"");
  EXPECT_THAT(records[4].fields, ElementsAre("4", ""));
  EXPECT_EQ(records[4].line, 7u) << "the embedded line breaks count as lines";
  EXPECT_THAT(records[5].fields, ElementsAre("5", "last"));
  EXPECT_EQ(records[5].line, 8u);
}

TEST(CsvReaderTest, BlankLinesAreSkippedButCounted) {
  std::vector<CsvRecord> records = ReadAll("h\n\n\r\n1\n\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].line, 4u);
  EXPECT_THAT(records[1].fields, ElementsAre("1"));
}

TEST(CsvReaderTest, QuoteInsideAnUnquotedFieldIsData) {
  std::vector<CsvRecord> records = ReadAll("a,5\" screen,b\"\"c\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].error.empty());
  EXPECT_THAT(records[0].fields, ElementsAre("a", "5\" screen", "b\"\"c"));
}

TEST(CsvReaderTest, LoneCarriageReturnIsData) {
  std::vector<CsvRecord> records = ReadAll("a\rb,c\r");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_THAT(records[0].fields, ElementsAre("a\rb", "c"));
}

TEST(CsvReaderTest, TextAfterAClosingQuoteIsMalformedAndReadingResumesNextLine) {
  std::vector<CsvRecord> records = ReadAll("1,\"ab\"c,d\n2,ok\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].error, "text after a closing quote");
  EXPECT_EQ(records[0].raw, "1,\"ab\"c,d");
  EXPECT_TRUE(records[1].error.empty());
  EXPECT_THAT(records[1].fields, ElementsAre("2", "ok"));
  EXPECT_EQ(records[1].line, 2u);
}

TEST(CsvReaderTest, UnterminatedQuoteSwallowsTheRest) {
  std::vector<CsvRecord> records = ReadAll("1,ok\n2,\"open\n3,more\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].error, "unterminated quoted field");
  EXPECT_EQ(records[1].line, 2u);
  EXPECT_EQ(records[1].raw, "2,\"open\n3,more\n");
}

TEST(CsvReaderTest, OtherDelimiters) {
  std::vector<CsvRecord> semicolon = ReadAll("a;\"b;c\";d,e\n", ';');
  ASSERT_EQ(semicolon.size(), 1u);
  EXPECT_THAT(semicolon[0].fields, ElementsAre("a", "b;c", "d,e"));
  std::vector<CsvRecord> tab = ReadAll("a\tb c\t\n", '\t');
  ASSERT_EQ(tab.size(), 1u);
  EXPECT_THAT(tab[0].fields, ElementsAre("a", "b c", ""));
}

TEST(CsvReaderTest, EmptyInputHasNoRecords) {
  EXPECT_TRUE(ReadAll("").empty());
  EXPECT_TRUE(ReadAll("\n\r\n").empty());
}

}  // namespace
}  // namespace cdp::ingest::internal
