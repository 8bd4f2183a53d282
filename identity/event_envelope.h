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

std::string EncodeEvent(const EventIdentity& event, absl::string_view body);
// kDataLoss when `bytes` is not an event envelope.
absl::StatusOr<StoredEvent> DecodeEvent(absl::string_view bytes);

}  // namespace cdp::identity
