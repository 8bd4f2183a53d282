#pragma once
// ParserOptions: limits and identifier extraction rules shared by the feed parsers
// (SegmentParser, CsvParser). Built by tools/ from configuration and checked once with
// Validate(); each parser copies what it needs.
//
// Thread safety: a plain struct.

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/clock.h"

namespace cdp::ingest {

inline constexpr size_t kMaxCustomIdentifierPaths = 64;
inline constexpr size_t kMaxPathSegments = 16;
// Upper bound of ParserOptions::max_nesting_depth. A batch envelope is parsed with simdjson's
// default depth (1024), so one event deeper than max_nesting_depth is rejected alone instead of
// failing its whole batch.
inline constexpr size_t kMaxNestingDepthLimit = 1000;

// Where a custom identifier sits in a Segment event.
struct CustomIdentifierPath {
  // Identifier type: [a-z0-9_]{1,32}, not a built-in type (user_id, anonymous_id, email, phone,
  // device_id). It must also be declared in IdentityOptions::custom_types to be resolved.
  std::string type;
  // A dotted path from the event root ("traits.crm_id", "context.traits.loyalty.id") or a JSON
  // pointer (RFC 6901: "/context/externalIds/0/id", with ~0 for '~' and ~1 for '/'). A segment
  // of digits indexes an array. The value found must be a string or an integer, else the path
  // yields nothing for that event.
  std::string path;
};

struct ParserOptions {
  // Largest record, in bytes: an NDJSON line, one element of a batch (as compact JSON) or one
  // CSV row. Larger records are rejected. Default 32 KiB (Segment's per-call limit).
  size_t max_event_bytes = size_t{32} << 10;
  // Largest batch envelope document, in bytes; a larger one fails as a whole. At least
  // max_event_bytes. Default 4 MiB.
  size_t max_batch_bytes = size_t{4} << 20;
  // Longest messageId, in Unicode code points. Default 100.
  size_t max_message_id_chars = 100;
  // Deepest nesting of objects and arrays in one event, the event object itself being depth 1
  // ({"context": {"device": {...}}} is 3). From 3 to kMaxNestingDepthLimit. Default 32.
  size_t max_nesting_depth = 32;

  // Custom identifiers, extracted in this order after the built-in ones. At most
  // kMaxCustomIdentifierPaths entries, each (type, path) pair once. Default none.
  std::vector<CustomIdentifierPath> custom_identifier_paths;

  // Live collection: SDKs send sentAt but no receivedAt. When true, an event with sentAt and no
  // receivedAt is taken as received at ingestion time, so the clock-skew rule corrects the
  // device's clock. Keep false for replayed files, where ingestion time says nothing about when
  // the event was sent. Default false.
  bool skew_correct_with_ingest_time = false;

  // Source of the ingestion time (events without a usable timestamp); null = the system clock.
  // Not owned; must outlive the parsers.
  const Clock* clock = nullptr;

  // kInvalidArgument naming the first offending field, e.g.
  // "ParserOptions.custom_identifier_paths[1].type: \"email\" is a built-in type".
  absl::Status Validate() const;
};

}  // namespace cdp::ingest
