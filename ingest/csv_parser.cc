#include "ingest/csv_parser.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ingest/internal/csv_event.h"
#include "ingest/internal/csv_reader.h"
#include "ingest/internal/text.h"

namespace cdp::ingest {

absl::StatusOr<std::unique_ptr<CsvParser>> CsvParser::Create(CsvMapping mapping,
                                                             const ParserOptions& options) {
  CDP_RETURN_IF_ERROR(options.Validate());
  CDP_RETURN_IF_ERROR(mapping.Validate());
  return std::unique_ptr<CsvParser>(new CsvParser(std::move(mapping), options));
}

CsvParser::CsvParser(CsvMapping mapping, const ParserOptions& options)
    : mapping_(std::move(mapping)), options_(options) {
  if (options_.clock == nullptr) options_.clock = &SystemClock::Default();
}

absl::StatusOr<ParseOutput> CsvParser::Parse(absl::string_view text,
                                             absl::string_view source) const {
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  internal::CsvReader reader(text, mapping_.delimiter);
  internal::CsvRecord header;
  if (!reader.Next(&header)) return absl::InvalidArgumentError("CSV: no header row");
  if (!header.error.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("CSV: malformed header row at line ", header.line, ": ", header.error));
  }

  internal::CsvRowContext context;
  context.mapping = &mapping_;
  context.options = &options_;
  context.header_size = header.fields.size();
  for (const CsvColumn& column : mapping_.columns) {
    std::vector<size_t> matches;
    for (size_t i = 0; i < header.fields.size(); ++i) {
      if (absl::StripAsciiWhitespace(header.fields[i]) == column.column) matches.push_back(i);
    }
    if (matches.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("CSV: the mapping names column ",
                                                     internal::QuoteName(column.column),
                                                     ", which is not in the header"));
    }
    if (matches.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat("CSV: column ",
                                                     internal::QuoteName(column.column),
                                                     " appears more than once in the header"));
    }
    context.columns.push_back(internal::BoundColumn{matches[0], &column});
  }

  ParseOutput out;
  internal::CsvRecord record;
  while (reader.Next(&record)) {
    ParsedEvent event;
    absl::Status status = internal::CsvRowToEvent(record, context, &event);
    if (status.ok()) {
      out.events.push_back(std::move(event));
      out.event_positions.push_back(record.line);
    } else {
      out.rejections.push_back(Rejection{std::string(source), record.line,
                                         std::string(status.message()), std::string(record.raw)});
    }
  }
  return out;
}

}  // namespace cdp::ingest
