#pragma once
// Event type names, read back: the inverse of EventTypeName (defined in parsed_event.cc).
//
// Thread safety: pure function.

#include <optional>

#include "absl/strings/string_view.h"
#include "ingest/parsed_event.h"

namespace cdp::ingest::internal {

// "identify" -> kIdentify...; exact lower-case Segment names only, std::nullopt otherwise.
std::optional<EventType> ParseEventType(absl::string_view name);

}  // namespace cdp::ingest::internal
