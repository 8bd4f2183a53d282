#pragma once
// The stored form of an event in the events family: the identifiers it arrived with (which
// unmerge needs to send each event to the right part) and a body owned by the writer (ingest).
// Sealed by storage/ like every events record.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "identity/identity_graph.h"

namespace cdp::identity {

struct StoredEvent {
  std::string message_id;
  std::vector<Identifier> identifiers;
  std::string body;
};

// What a reader of recent events needs, without the identifiers: views into the decoded bytes
// (valid while they are).
struct StoredEventView {
  absl::string_view message_id;
  absl::string_view body;
};

std::string EncodeEvent(const EventIdentity& event, absl::string_view body);
// kDataLoss when `bytes` is not an event envelope.
absl::StatusOr<StoredEvent> DecodeEvent(absl::string_view bytes);
// Like DecodeEvent, but copies nothing and skips the identifiers (a lookup reads ~20 events and
// needs none of them). kDataLoss when `bytes` is not an event envelope.
absl::StatusOr<StoredEventView> DecodeEventView(absl::string_view bytes);

}  // namespace cdp::identity
