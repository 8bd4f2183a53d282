#pragma once
// CsvReader: splits RFC 4180 text into records of fields.
//
//   - fields are separated by the delimiter (',' unless told otherwise), records by CRLF or LF;
//   - a field in double quotes may hold delimiters, quotes (doubled: "") and line breaks;
//   - a quote inside an unquoted field is kept as data (as most CSV writers expect);
//   - text between a closing quote and the next delimiter or line end makes the record
//     malformed, and an opening quote that is never closed makes the rest of the input one
//     malformed record;
//   - empty lines are skipped: they are not records.
//
// Thread safety: a CsvReader is used by one thread; it only reads the text.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace cdp::ingest::internal {

struct CsvRecord {
  uint64_t line = 0;      // 1-based line on which the record starts
  absl::string_view raw;  // the record's bytes, without its line terminator
  std::vector<std::string> fields;
  absl::string_view error;  // why the record is malformed (a fixed phrase); empty when it is not
};

class CsvReader {
 public:
  // `text` must outlive the reader and the raw views of the records it returns.
  explicit CsvReader(absl::string_view text, char delimiter = ',');

  // Reads the next record into *record; false at the end of the text.
  bool Next(CsvRecord* record);

 private:
  // True when a record ends at `pos`: end of text, LF, or CR followed by LF or the end.
  bool AtLineEnd(size_t pos) const;
  // Reads a quoted field starting at the opening quote; false when the record is malformed.
  bool ReadQuoted(std::string* field, CsvRecord* record);
  // Moves past the rest of the physical line (malformed records resume at the next line).
  void SkipRestOfLine();
  // Moves past the line terminator at pos_, if any.
  void ConsumeLineEnd();

  absl::string_view text_;
  char delimiter_;
  size_t pos_ = 0;
  uint64_t line_ = 1;
};

}  // namespace cdp::ingest::internal
