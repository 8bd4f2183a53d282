#pragma once
// The Segment spec's rules applied to one parsed event object: field types, required fields per
// event type, timestamps and the clock-skew rule, identifiers, traits, properties and consent.
//
// Rejection reasons name fields, never their values: they go into logs and dead-letter reports.
//
// Thread safety: pure functions over a DOM the caller owns.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/clock.h"
#include "ingest/internal/json_path.h"
#include "ingest/parsed_event.h"
#include "simdjson.h"

namespace cdp::ingest::internal {

struct ExtractContext {
  size_t max_message_id_chars = 100;
  const std::vector<CompiledPath>* custom_paths = nullptr;  // not owned; null = none
  const Clock* clock = nullptr;                             // not owned; required
  bool skew_correct_with_ingest_time = false;
  // The sentAt of the batch envelope the event came in, for events without their own.
  std::optional<int64_t> envelope_sent_at_micros;
};

// Fills every field of *event but json, and message_id only when the event has one (the caller
// derives it otherwise). Returns kInvalidArgument whose message is the rejection reason.
absl::Status ExtractSegmentEvent(simdjson::dom::object root, const ExtractContext& context,
                                 ParsedEvent* event);

// What ingest applied to a profile from an event, read back from the event's stored JSON (its
// type is the stored one): traits (top-level on identify and group, context.traits on every
// other type, as ExtractSegmentEvent takes them) and a group call's groupId. Fields of the wrong
// type are skipped: the JSON was validated when it was stored.
void ExtractStoredTraits(simdjson::dom::object root, ParsedEvent* event);

// Every value ExtractSegmentEvent would take an identifier from, read back from an event's
// stored JSON, as it is written there (not normalized), with its type: userId, anonymousId,
// previousId, email and phone of both `traits` and `context.traits` (whatever the event's type),
// context.device.id, context.externalIds[].id and the `custom_paths`. Members of the wrong type
// are skipped.
void ExtractStoredIdentifiers(simdjson::dom::object root,
                              const std::vector<CompiledPath>* custom_paths,
                              std::vector<RawIdentifier>* out);

// Follows `segments` from the event object through object keys and array indices;
// std::nullopt when a step is missing or the value there is null.
std::optional<simdjson::dom::element> ResolvePath(simdjson::dom::object root,
                                                  const std::vector<std::string>& segments);

// A string as is, an integer as its decimal text; std::nullopt for anything else. Used where a
// value may be an identifier (external ids, custom paths, trait email and phone).
std::optional<std::string> IdentifierText(simdjson::dom::element value);

}  // namespace cdp::ingest::internal
