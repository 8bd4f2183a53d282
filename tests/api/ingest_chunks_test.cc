// RecordChunker: `cdp ingest` reads its input a piece at a time and sends whole records, with line
// numbers that let each rejection find its raw record.

#include "api/ingest_chunks.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cdp::api {
namespace {

struct Cut {
  std::vector<IngestChunk> chunks;
  std::vector<OversizedRecord> oversized;
};

Cut CutAll(const std::string& input, bool csv, size_t max_chunk, size_t max_record) {
  std::istringstream in(input);
  RecordChunker chunker(in, csv, max_chunk, max_record);
  Cut cut;
  IngestChunk chunk;
  while (chunker.Next(&chunk, &cut.oversized)) cut.chunks.push_back(chunk);
  EXPECT_EQ(chunker.bytes_read(), input.size());
  return cut;
}

// The text of input line `line` (1-based) as the chunk holding it has it.
std::string LineIn(const IngestChunk& chunk, int64_t line) {
  const size_t index = static_cast<size_t>(line - chunk.first_line);
  EXPECT_LT(index, chunk.line_starts.size());
  const size_t begin = chunk.line_starts[index];
  const size_t end = chunk.text.find('\n', begin);
  return chunk.text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

TEST(RecordChunkerTest, NdjsonComesOutAsWholeLinesWithTheirLineNumbers) {
  // ~3 MiB of lines of varied length: chunks and reads end in the middle of lines.
  std::string input;
  std::vector<std::string> lines;
  for (int i = 0; i < 30000; ++i) {
    lines.push_back(absl::StrCat(R"({"i":)", i, R"(,"pad":")", std::string(i % 200, 'x'), "\"}"));
    absl::StrAppend(&input, lines.back(), "\n");
  }
  const Cut cut = CutAll(input, /*csv=*/false, /*max_chunk=*/100000, /*max_record=*/1 << 20);
  ASSERT_GT(cut.chunks.size(), 20u);
  EXPECT_TRUE(cut.oversized.empty());
  std::string joined;
  int64_t next_line = 1;
  for (const IngestChunk& chunk : cut.chunks) {
    EXPECT_FALSE(chunk.envelope);
    EXPECT_LE(chunk.text.size(), 100000u);
    EXPECT_EQ(chunk.first_line, next_line);
    EXPECT_EQ(chunk.text.back(), '\n') << "a chunk ends inside a line";
    for (size_t k = 0; k < chunk.line_starts.size(); ++k) {
      EXPECT_EQ(LineIn(chunk, chunk.first_line + static_cast<int64_t>(k)),
                lines[static_cast<size_t>(chunk.first_line) - 1 + k]);
    }
    next_line += static_cast<int64_t>(chunk.line_starts.size());
    joined += chunk.text;
  }
  EXPECT_EQ(joined, input);
}

TEST(RecordChunkerTest, CsvChunksRepeatTheHeaderAndKeepQuotedNewlinesInTheirRow) {
  std::string input = "email,note\n";
  for (int i = 0; i < 40; ++i) {
    absl::StrAppend(&input, "p", i, "@example.com,", i == 7 ? "\"two\nlines\"" : "plain", "\n");
  }
  const Cut cut = CutAll(input, /*csv=*/true, /*max_chunk=*/200, /*max_record=*/1 << 20);
  ASSERT_GT(cut.chunks.size(), 2u);
  int64_t next_row_line = 2;
  for (const IngestChunk& chunk : cut.chunks) {
    EXPECT_EQ(chunk.text.rfind("email,note\n", 0), 0u) << "no header in a chunk";
    EXPECT_EQ(chunk.first_line, next_row_line - 1) << "the header stands in on the line before";
    EXPECT_EQ(LineIn(chunk, chunk.first_line), "email,note");
    next_row_line += static_cast<int64_t>(chunk.line_starts.size()) - 1;
  }
  EXPECT_EQ(next_row_line, 43) << "41 lines after the header: 40 rows, one spanning two lines";
  // Row 7 (input lines 9-10) is whole in one chunk, and line 11 is the row after it.
  bool found = false;
  for (const IngestChunk& chunk : cut.chunks) {
    const int64_t last = chunk.first_line + static_cast<int64_t>(chunk.line_starts.size()) - 1;
    if (chunk.first_line < 9 && last >= 10) {
      EXPECT_EQ(LineIn(chunk, 9), "p7@example.com,\"two");
      EXPECT_EQ(LineIn(chunk, 10), "lines\"");
      if (last >= 11) {
        EXPECT_EQ(LineIn(chunk, 11), "p8@example.com,plain");
      }
      found = true;
    }
  }
  EXPECT_TRUE(found) << "the quoted row was split between chunks";
}

TEST(RecordChunkerTest, AnOversizedRecordIsSkippedAndReportedAndTheLinesAfterItStayRight) {
  const std::string input = "{\"a\":1}\n{\"b\":2}\n" + std::string(5000, 'z') + "\n{\"c\":3}\n{\"d\":4}";
  const Cut cut = CutAll(input, /*csv=*/false, /*max_chunk=*/1 << 20, /*max_record=*/1000);
  ASSERT_EQ(cut.oversized.size(), 1u);
  EXPECT_EQ(cut.oversized[0].line, 3);
  EXPECT_EQ(cut.oversized[0].bytes, 5001u);
  ASSERT_EQ(cut.chunks.size(), 2u) << "a chunk's lines are consecutive";
  EXPECT_EQ(cut.chunks[0].text, "{\"a\":1}\n{\"b\":2}\n");
  EXPECT_EQ(cut.chunks[1].first_line, 4);
  EXPECT_EQ(cut.chunks[1].text, "{\"c\":3}\n{\"d\":4}") << "the last line needs no newline";
  EXPECT_EQ(LineIn(cut.chunks[1], 5), "{\"d\":4}");
}

TEST(RecordChunkerTest, AnOversizedRecordWithoutNewlinesIsNotHeldInMemory) {
  // 5 MiB without a newline under a 64 KiB record limit: skipped in reads of the input, never
  // buffered whole (this test would still pass if it were; the chunker's reads are 1 MiB).
  const std::string input = std::string(5 << 20, 'q');
  const Cut cut = CutAll(input, /*csv=*/false, /*max_chunk=*/1 << 20, /*max_record=*/64 << 10);
  EXPECT_TRUE(cut.chunks.empty());
  ASSERT_EQ(cut.oversized.size(), 1u);
  EXPECT_EQ(cut.oversized[0].bytes, input.size());
}

TEST(RecordChunkerTest, ABatchDocumentAloneIsSentWholeAndNdjsonNamingBatchIsNot) {
  const std::string envelope = R"(  {"batch":[{"type":"track"},{"type":"page"}]})" "\n\n  \n";
  Cut cut = CutAll(envelope, /*csv=*/false, /*max_chunk=*/10, /*max_record=*/1 << 20);
  ASSERT_EQ(cut.chunks.size(), 1u);
  EXPECT_TRUE(cut.chunks[0].envelope);
  EXPECT_EQ(cut.chunks[0].text, envelope);

  const std::string ndjson = R"({"event":"batch"})" "\n" R"({"event":"other"})" "\n";
  cut = CutAll(ndjson, /*csv=*/false, /*max_chunk=*/1 << 20, /*max_record=*/1 << 20);
  ASSERT_EQ(cut.chunks.size(), 1u);
  EXPECT_FALSE(cut.chunks[0].envelope);
  EXPECT_EQ(cut.chunks[0].line_starts.size(), 2u);
}

TEST(RecordChunkerTest, APrettyPrintedBatchDocumentIsSentWhole) {
  const std::string pretty =
      "{\n  \"sentAt\": \"2024-03-01T09:00:05Z\",\n  \"batch\": [\n"
      "    {\"type\": \"track\", \"event\": \"a {[\\\" b\"},\n"  // brackets inside a string
      "    {\"type\": \"page\"}\n  ]\n}\n";
  Cut cut = CutAll(pretty, /*csv=*/false, /*max_chunk=*/10, /*max_record=*/1 << 20);
  ASSERT_EQ(cut.chunks.size(), 1u);
  EXPECT_TRUE(cut.chunks[0].envelope);
  EXPECT_EQ(cut.chunks[0].text, pretty);

  cut = CutAll(pretty, /*csv=*/false, /*max_chunk=*/1 << 20, /*max_record=*/40);
  ASSERT_FALSE(cut.chunks.empty());
  for (const IngestChunk& chunk : cut.chunks) {
    EXPECT_FALSE(chunk.envelope) << "over the record limit it stays lines";
  }
}

// "Truncated lines ... each is one rejected record; the rest of the batch goes on": NDJSON whose
// first line is cut short must not be taken for a pretty-printed document.
TEST(RecordChunkerTest, NdjsonWhoseFirstLineIsCutShortStaysLines) {
  const std::string input = R"({"type":"track","batch":"x","userId":"u)" "\n"
                            R"({"type":"track","userId":"u","event":"E"})" "\n";
  const Cut cut = CutAll(input, /*csv=*/false, /*max_chunk=*/1 << 20, /*max_record=*/1 << 20);
  ASSERT_EQ(cut.chunks.size(), 1u);
  EXPECT_FALSE(cut.chunks[0].envelope);
  EXPECT_EQ(cut.chunks[0].line_starts.size(), 2u);
}

TEST(RecordChunkerTest, EmptyInputsGiveNoChunk) {
  EXPECT_TRUE(CutAll("", /*csv=*/false, 100, 100).chunks.empty());
  EXPECT_TRUE(CutAll("email,note\n", /*csv=*/true, 100, 100).chunks.empty()) << "header only";
}

}  // namespace
}  // namespace cdp::api
