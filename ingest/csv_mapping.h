#pragma once
// CsvMapping: how the columns of a CSV export (CRM, POS, call centre) become Segment-style
// events, and the JSON mapping file that describes it. Column names are configuration, not
// personal data: errors quote them.
//
// Mapping file (JSON object; every member but "columns" optional, unknown members rejected):
//
//   {
//     "type": "track",                  identify | track | page | screen. Default: track when
//                                       an event name is given (fixed or a column), else identify
//     "event": "Order Completed",       fixed event name (track) or page/screen name
//     "channel": "pos",                 fixed context.channel
//     "delimiter": ",",                 one ASCII character, not '"', CR or LF. Default ","
//     "timestamp_format": "iso8601",    iso8601 (RFC 3339 date-time, or a date: midnight UTC)
//                                       | epoch_seconds (fraction allowed) | epoch_millis.
//                                       Default iso8601
//     "columns": {                      header name -> target, or a list of targets
//       "Email":    ["identifier:email", "trait:email"],
//       "CRM ID":   "identifier:crm_id",
//       "Tier":     "trait:tier",
//       "Amount":   "property:revenue",
//       "Activity": "event",             event name (track) or page/screen name, per row
//       "When":     "timestamp",         event time; without it (or when empty), ingestion time
//       "Txn":      "message_id",        without it (or when empty), derived from the row
//       "Notes":    "ignore"
//     }
//   }
//
// Columns the mapping does not name are ignored. identifier:user_id and identifier:anonymous_id
// also fill ParsedEvent::user_id and anonymous_id. Rules (Validate): at least one identifier
// column; at most one column each for event, timestamp and message_id, and for user_id and
// anonymous_id identifiers; not both a fixed event and an event column; identify takes no event;
// track needs one; a trait or property name is fed by one column only.
//
// Thread safety: plain data.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ingest/parsed_event.h"

namespace cdp::ingest {

enum class CsvTimestampFormat { kIso8601, kEpochSeconds, kEpochMillis };

struct CsvTarget {
  enum class Kind { kIdentifier, kTrait, kProperty, kEvent, kTimestamp, kMessageId, kIgnore };
  Kind kind = Kind::kIgnore;
  // Identifier type ([a-z0-9_]{1,32}), trait name or property name; empty for other kinds.
  std::string name;
};

struct CsvColumn {
  std::string column;  // header name, matched exactly (header cells are trimmed of spaces)
  std::vector<CsvTarget> targets;
};

struct CsvMapping {
  // Empty: track when an event name is given, else identify. Alias and group are not supported.
  std::optional<EventType> type;
  // Fixed event (track) or name (page, screen); empty = none.
  std::string event;
  // Fixed context.channel; empty = none.
  std::string channel;
  char delimiter = ',';
  CsvTimestampFormat timestamp_format = CsvTimestampFormat::kIso8601;
  // In the order of the mapping file.
  std::vector<CsvColumn> columns;

  // The type events get: `type`, or its default.
  EventType EffectiveType() const;

  // kInvalidArgument naming the rule broken and the column, e.g.
  // "CsvMapping.columns[\"Txn\"]: a second message_id column".
  absl::Status Validate() const;
};

// Parses and validates a mapping file. kInvalidArgument naming the member at fault.
absl::StatusOr<CsvMapping> ParseCsvMapping(absl::string_view json);

}  // namespace cdp::ingest
