#pragma once
// SegmentParser: turns Segment-spec events (identify, track, page, screen, group, alias) into
// ParsedEvents, from NDJSON text or a batch envelope, and accounts for every record.
//
//   NDJSON  one JSON object per line, LF or CRLF; blank lines are skipped and are not records.
//           Positions are 1-based line numbers.
//   batch   {"batch": [event, ...]}: positions are 0-based indices, and the envelope's "sentAt"
//           applies to events without their own. Any other object is one event (position 0).
//
// A record is rejected, with a reason that names the field but never quotes a value, when it is
// larger than max_event_bytes, is not valid JSON or UTF-8, nests deeper than max_nesting_depth,
// is not an object, or breaks a rule of the spec:
//   type         required, one of the six names
//   messageId    optional string of 1..max_message_id_chars characters; when absent, derived as
//                "derived-" + hex SHA-256 of the event's compact JSON (message_id_derived)
//   userId, anonymousId, previousId, groupId, event, name, context.channel,
//   context.device.id    strings when present (null counts as absent; "" is no identifier)
//   userId or anonymousId required (alias: previousId and userId; group: groupId; track: event)
//   traits, properties, context, context.traits, context.device, context.consent,
//   context.consent.categoryPreferences   objects; context.externalIds an array;
//   categoryPreferences values booleans
//   timestamp, originalTimestamp, sentAt, receivedAt   RFC 3339 date-times with Z or an offset
// Event time: receivedAt - (sentAt - (originalTimestamp or timestamp)) when sentAt and
// receivedAt are known; else timestamp, originalTimestamp, receivedAt, the clock's now.
// Identifiers, in order and without repeats: userId (user_id), anonymousId (anonymous_id),
// previousId (user_id), email, then phone, each from traits (identify only: a group's traits
// describe the group, not the person) then context.traits, context.device.id (device_id),
// context.externalIds[] entries with a string type and a string or integer id (type lower-
// cased), then the configured custom paths. Empty values are not identifiers.
// With duplicate keys in an object the first one counts.
//
// Thread safety: a SegmentParser reuses its simdjson parsers and buffers, so it is not safe for
// concurrent use: create one per thread (they are cheap).

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ingest/ingest_options.h"
#include "ingest/parse_output.h"
#include "ingest/parsed_event.h"

namespace cdp::ingest {

class SegmentParser {
 public:
  // kInvalidArgument when options.Validate() fails; kResourceExhausted when the parser buffers
  // cannot be allocated. options.clock must outlive the parser.
  static absl::StatusOr<std::unique_ptr<SegmentParser>> Create(const ParserOptions& options);

  ~SegmentParser();
  SegmentParser(const SegmentParser&) = delete;
  SegmentParser& operator=(const SegmentParser&) = delete;

  // Parses NDJSON `text` (whole lines; a last line without '\n' is a record too). Rejections
  // carry `source` and the line number, counting `first_line` for the first line of `text`, so a
  // caller reading a large file in chunks of whole lines can keep numbering. A UTF-8 byte-order
  // mark at the start of `text` is ignored. Never fails: each line is an event or a rejection.
  ParseOutput ParseNdjson(absl::string_view text, absl::string_view source,
                          uint64_t first_line = 1);

  // Parses one JSON document: a {"batch": [...]} envelope or a single event object. Fails with
  // kInvalidArgument, accepting nothing, when the document as a whole is unusable: larger than
  // max_batch_bytes, not valid JSON or UTF-8, not an object, "batch" not an array, or the
  // envelope's sentAt not a date-time. Otherwise each element is an event or a rejection.
  absl::StatusOr<ParseOutput> ParseBatchEnvelope(absl::string_view json, absl::string_view source);

  // Parses one event object. kInvalidArgument whose message is the rejection reason.
  absl::StatusOr<ParsedEvent> ParseEvent(absl::string_view json_object);

 private:
  struct State;  // options, compiled paths and simdjson parsers; defined in segment_parser.cc

  explicit SegmentParser(std::unique_ptr<State> state);

  // Parses and validates one record into *event; the error message is the rejection reason.
  absl::Status ParseRecord(absl::string_view bytes, const std::optional<int64_t>& sent_at_micros,
                           ParsedEvent* event);
  // Appends the outcome of one record to *out.
  void AddRecord(absl::string_view raw, uint64_t position,
                 const std::optional<int64_t>& sent_at_micros, absl::string_view source,
                 ParseOutput* out);

  std::unique_ptr<State> state_;
};

}  // namespace cdp::ingest
