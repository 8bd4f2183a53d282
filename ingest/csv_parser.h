#pragma once
// CsvParser: turns a CSV export (RFC 4180, a header row, then one record per row) into
// ParsedEvents under a CsvMapping (see csv_mapping.h for the mapping file), and accounts for
// every row.
//
// The file as a whole fails (kInvalidArgument, nothing accepted) when it has no header, its
// header is malformed, or a column the mapping names is missing from the header or appears in it
// twice: that is a configuration error, not a bad row. Otherwise each row is an event or a
// rejection at the 1-based line where the row starts (reasons: row larger than max_event_bytes,
// malformed quoting, wrong number of columns, invalid UTF-8, bad timestamp or messageId, no
// identifier, empty event column). Reasons name columns, never cell values.
//
// Only max_event_bytes (per row), max_message_id_chars and clock of the ParserOptions apply.
//
// Thread safety: Parse is const and safe to call concurrently.

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ingest/csv_mapping.h"
#include "ingest/ingest_options.h"
#include "ingest/parse_output.h"

namespace cdp::ingest {

class CsvParser {
 public:
  // kInvalidArgument when mapping.Validate() or options.Validate() fails. options.clock must
  // outlive the parser.
  static absl::StatusOr<std::unique_ptr<CsvParser>> Create(CsvMapping mapping,
                                                           const ParserOptions& options);

  CsvParser(const CsvParser&) = delete;
  CsvParser& operator=(const CsvParser&) = delete;

  // Parses a whole CSV file; `source` goes into each rejection. A UTF-8 byte-order mark at the
  // start is ignored.
  absl::StatusOr<ParseOutput> Parse(absl::string_view text, absl::string_view source) const;

  const CsvMapping& mapping() const { return mapping_; }

 private:
  CsvParser(CsvMapping mapping, const ParserOptions& options);

  const CsvMapping mapping_;
  ParserOptions options_;
};

}  // namespace cdp::ingest
