#pragma once
// Masking identifier values inside the traits and event JSON a lookup returns, for callers that
// may not see identifiers (the cx role) and for purposes that do not allow the identifiers data
// kind. Masking only the identifier list would leave `traits.email` and every event's `userId`
// in full next to it.
//
// A value is an identifier when the Segment parser takes one from where it sits: userId,
// anonymousId, previousId, email and phone in `traits` and `context.traits`, context.device.id,
// context.externalIds[].id and the configured custom paths (a CSV mapping's identifier columns
// likewise). Every whole JSON string of the event that holds such a value (also where the same
// value appears as a property) is replaced by its masked form (identity::MaskIdentifierValue:
// "a***@example.com"; a value written with escapes becomes "***"). Numeric identifiers (an
// external id of 12345) are not masked.
//
// Where those strings sit is found once, at ingest (IdentifierSpans, stored with the event), so
// a lookup masks an event without parsing its JSON (MaskEventAt: ~0.1 µs against ~2 µs).
// Events stored before that are parsed (IdentifierMasker::MaskEvent).
//
// Thread safety: everything may be called concurrently (each thread parses with its own
// simdjson parser).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ingest/ingest_options.h"
#include "ingest/internal/json_path.h"
#include "ingest/parsed_event.h"

namespace cdp::ingest {

// Where the whole JSON strings of `json` that hold one of `identifiers`' values (as parsed, not
// normalized) sit, encoded for MaskEventAt: per string, three varints (its start after the end
// of the previous one, its length with the quotes, and how to mask it). Empty when there are
// none.
std::string IdentifierSpans(absl::string_view json, absl::Span<const RawIdentifier> identifiers);

// Masks the strings `spans` (from IdentifierSpans on this JSON) names. kDataLoss when the spans
// do not fit the JSON (each must cover a whole string); `*json` is then unchanged.
absl::Status MaskEventAt(absl::string_view spans, std::string* json);

class IdentifierMasker {
 public:
  // The built-in rules only (no custom paths).
  IdentifierMasker() = default;
  // kInvalidArgument for a custom path that does not compile (IngestOptions validates them).
  static absl::StatusOr<IdentifierMasker> Create(
      absl::Span<const CustomIdentifierPath> custom_paths = {});

  // Masks the identifiers of one event's stored JSON in place, parsing it to find them. kDataLoss
  // when `json` is not a JSON object (it was validated when stored).
  absl::Status MaskEvent(std::string* json) const;

  // Masks the identifiers in a profile's traits, each a name and its JSON text (`*json[i]` is
  // the value of trait `names[i]`), as they would be in an identify call's `traits` or in
  // `context.traits`: email, phone and custom paths below them. Values that do not parse become
  // null.
  void MaskTraits(absl::Span<const absl::string_view> names,
                  absl::Span<std::string* const> json) const;

 private:
  explicit IdentifierMasker(std::vector<internal::CompiledPath> paths) : paths_(std::move(paths)) {}
  // The identifiers in `document`; false when it is not a JSON object.
  bool Find(absl::string_view document, std::vector<RawIdentifier>* found) const;

  std::vector<internal::CompiledPath> paths_;
};

}  // namespace cdp::ingest
