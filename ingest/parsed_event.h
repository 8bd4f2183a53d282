#pragma once
// ParsedEvent: one Segment-spec event (identify, track, page, screen, group, alias) after parsing
// and validation, whatever feed it came from (NDJSON, a {"batch": [...]} envelope, a CSV row with
// a mapping). It is plain data; the pipeline normalizes identifiers, resolves the profile, applies
// consent and stores it.
//
// Values are personal data: never log them. Only types, names, positions and reasons may be
// logged or put in an error.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cdp::ingest {

enum class EventType { kIdentify, kTrack, kPage, kScreen, kGroup, kAlias };

// "identify", "track", ...
const char* EventTypeName(EventType type);

// An identifier as found in the event, before normalization (identity/ normalizes it).
struct RawIdentifier {
  std::string type;   // user_id, anonymous_id, email, phone, device_id or a configured custom type
  std::string value;
};

struct ParsedEvent {
  EventType type = EventType::kTrack;
  // The event's messageId, or when absent one derived deterministically from the record's
  // content ("derived-" + hex digest), so that re-delivering the same record is a duplicate.
  std::string message_id;
  bool message_id_derived = false;

  // Event time in microseconds since the epoch: timestamp, corrected by the spec's clock-skew
  // rule (receivedAt - (sentAt - originalTimestamp)) when sentAt and receivedAt are present;
  // originalTimestamp when timestamp is absent; else the time of ingestion.
  int64_t time_micros = 0;

  std::string user_id;
  std::string anonymous_id;
  std::string previous_id;  // alias
  std::string group_id;     // group
  std::string name;         // track: event; page and screen: name

  // Identifiers in the order found: userId, anonymousId, previousId (alias), email and phone from
  // traits then context.traits, context.device.id, context.externalIds[] (type as given, lower-
  // cased), then configured custom paths.
  std::vector<RawIdentifier> identifiers;

  // Top-level members of traits (identify, group) or context.traits (other types), each as its
  // JSON text: {"plan": "\"gold\"", "age": "42"}.
  std::map<std::string, std::string> traits;
  // Top-level members of properties (track, page, screen), each as its JSON text.
  std::map<std::string, std::string> properties;
  // context.consent.categoryPreferences: category -> granted.
  std::map<std::string, bool> consent_preferences;
  // context.channel, when given ("web", "mobile", "server", or a CSV mapping's fixed channel).
  std::string channel;
  // The whole event, re-serialized as compact JSON, for storage and export.
  std::string json;
};

// Why one record was not accepted, and where it was.
struct Rejection {
  std::string source;   // file name, or "batch"
  uint64_t position = 0;  // 1-based line number (NDJSON, CSV) or 0-based batch index
  std::string reason;   // never contains a field value
  std::string raw;      // the raw record, for the dead-letter file (personal data: not for logs)
};

}  // namespace cdp::ingest
