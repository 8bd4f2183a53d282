#include "ingest/parsed_event.h"

#include "ingest/internal/event_type.h"

namespace cdp::ingest {

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kIdentify:
      return "identify";
    case EventType::kTrack:
      return "track";
    case EventType::kPage:
      return "page";
    case EventType::kScreen:
      return "screen";
    case EventType::kGroup:
      return "group";
    case EventType::kAlias:
      return "alias";
  }
  return "unknown";
}

namespace internal {

std::optional<EventType> ParseEventType(absl::string_view name) {
  for (EventType type : {EventType::kIdentify, EventType::kTrack, EventType::kPage,
                         EventType::kScreen, EventType::kGroup, EventType::kAlias}) {
    if (name == EventTypeName(type)) return type;
  }
  return std::nullopt;
}

}  // namespace internal
}  // namespace cdp::ingest
