#include "ingest/internal/segment_event.h"

#include <map>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ingest/internal/event_type.h"
#include "ingest/internal/text.h"
#include "ingest/internal/timestamp.h"

namespace cdp::ingest::internal {
namespace {

using simdjson::SUCCESS;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// Debian's Abseil has its own string_view; simdjson speaks std::string_view.
std::string_view Std(absl::string_view s) { return {s.data(), s.size()}; }
absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

absl::Status Reject(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", problem));
}

// A member that is present and not null (null means absent, as in the Segment libraries).
std::optional<element> Member(object obj, absl::string_view key) {
  element value;
  if (obj.at_key(Std(key)).get(value) != SUCCESS || value.is_null()) return std::nullopt;
  return value;
}

absl::Status OptionalString(object obj, absl::string_view key, absl::string_view field,
                            std::string* out) {
  std::optional<element> value = Member(obj, key);
  if (!value) return absl::OkStatus();
  std::string_view text;
  if (value->get_string().get(text) != SUCCESS) return Reject(field, "must be a string");
  out->assign(text.data(), text.size());
  return absl::OkStatus();
}

absl::Status OptionalObject(object obj, absl::string_view key, absl::string_view field,
                            std::optional<object>* out) {
  std::optional<element> value = Member(obj, key);
  if (!value) return absl::OkStatus();
  object result;
  if (value->get_object().get(result) != SUCCESS) return Reject(field, "must be an object");
  *out = result;
  return absl::OkStatus();
}

absl::Status OptionalTime(object obj, absl::string_view key, std::optional<int64_t>* out) {
  std::optional<element> value = Member(obj, key);
  if (!value) return absl::OkStatus();
  std::string_view text;
  if (value->get_string().get(text) != SUCCESS) return Reject(key, "must be a string");
  *out = ParseRfc3339(Absl(text));
  if (!*out) return Reject(key, "is not an ISO-8601 date-time (RFC 3339 with Z or an offset)");
  return absl::OkStatus();
}

// Each member as its compact JSON text. With duplicate keys the first wins, as for every other
// field (simdjson's at_key finds the first).
void CopyMembers(std::optional<object> obj, std::map<std::string, std::string>* out) {
  if (!obj) return;
  for (simdjson::dom::key_value_pair field : *obj) {
    out->emplace(std::string(field.key), simdjson::to_string(field.value));
  }
}

absl::Status ReadMessageId(object root, size_t max_chars, ParsedEvent* event) {
  std::optional<element> value = Member(root, "messageId");
  if (!value) return absl::OkStatus();
  std::string_view text;
  if (value->get_string().get(text) != SUCCESS) return Reject("messageId", "must be a string");
  if (text.empty()) return Reject("messageId", "is empty");
  if (CountCodePoints(Absl(text)) > max_chars) {
    return Reject("messageId", absl::StrCat("is longer than ", max_chars, " characters"));
  }
  event->message_id.assign(text.data(), text.size());
  return absl::OkStatus();
}

// previousId, groupId, event and name, properties, and the required fields of each type.
absl::Status ReadTypeFields(object root, ParsedEvent* event) {
  switch (event->type) {
    case EventType::kAlias:
      CDP_RETURN_IF_ERROR(OptionalString(root, "previousId", "previousId", &event->previous_id));
      if (event->previous_id.empty())
        return absl::InvalidArgumentError("alias requires previousId");
      if (event->user_id.empty()) return absl::InvalidArgumentError("alias requires userId");
      return absl::OkStatus();
    case EventType::kGroup:
      CDP_RETURN_IF_ERROR(OptionalString(root, "groupId", "groupId", &event->group_id));
      if (event->group_id.empty()) return absl::InvalidArgumentError("group requires groupId");
      break;
    case EventType::kTrack:
      CDP_RETURN_IF_ERROR(OptionalString(root, "event", "event", &event->name));
      if (event->name.empty()) return absl::InvalidArgumentError("track requires event");
      break;
    case EventType::kPage:
    case EventType::kScreen:
      CDP_RETURN_IF_ERROR(OptionalString(root, "name", "name", &event->name));
      break;
    case EventType::kIdentify:
      break;
  }
  if (event->user_id.empty() && event->anonymous_id.empty()) {
    return absl::InvalidArgumentError("userId or anonymousId is required");
  }
  if (event->type == EventType::kTrack || event->type == EventType::kPage ||
      event->type == EventType::kScreen) {
    std::optional<object> properties;
    CDP_RETURN_IF_ERROR(OptionalObject(root, "properties", "properties", &properties));
    CopyMembers(properties, &event->properties);
  }
  return absl::OkStatus();
}

absl::Status ReadConsent(object context, ParsedEvent* event) {
  std::optional<object> consent, preferences;
  CDP_RETURN_IF_ERROR(OptionalObject(context, "consent", "context.consent", &consent));
  if (!consent) return absl::OkStatus();
  CDP_RETURN_IF_ERROR(OptionalObject(*consent, "categoryPreferences",
                                     "context.consent.categoryPreferences", &preferences));
  if (!preferences) return absl::OkStatus();
  for (simdjson::dom::key_value_pair field : *preferences) {
    bool granted;
    if (field.value.get_bool().get(granted) != SUCCESS) {
      return Reject("context.consent.categoryPreferences", "values must be booleans");
    }
    event->consent_preferences.emplace(std::string(field.key), granted);
  }
  return absl::OkStatus();
}

// The spec's clock-skew rule: receivedAt - (sentAt - (originalTimestamp or timestamp)) when
// sentAt and receivedAt are known; else timestamp, originalTimestamp, receivedAt, now.
absl::StatusOr<int64_t> EventTime(object root, const ExtractContext& context) {
  std::optional<int64_t> timestamp, original, sent, received;
  CDP_RETURN_IF_ERROR(OptionalTime(root, "timestamp", &timestamp));
  CDP_RETURN_IF_ERROR(OptionalTime(root, "originalTimestamp", &original));
  CDP_RETURN_IF_ERROR(OptionalTime(root, "sentAt", &sent));
  CDP_RETURN_IF_ERROR(OptionalTime(root, "receivedAt", &received));
  if (!sent) sent = context.envelope_sent_at_micros;
  if (sent && !received && context.skew_correct_with_ingest_time) {
    received = context.clock->NowMicros();
  }
  const std::optional<int64_t> base = original ? original : timestamp;
  if (sent && received && base) {
    // Each term is within years 1..9999, so this cannot overflow int64.
    const int64_t corrected = *received - (*sent - *base);
    if (corrected < kMinTimeMicros || corrected > kMaxTimeMicros) {
      return absl::InvalidArgumentError("event time is out of range after clock-skew correction");
    }
    return corrected;
  }
  if (timestamp) return *timestamp;
  if (original) return *original;
  if (received) return *received;
  return context.clock->NowMicros();
}

void AddIdentifier(absl::string_view type, std::string value, ParsedEvent* event) {
  if (value.empty()) return;
  for (const RawIdentifier& id : event->identifiers) {
    if (id.type == type && id.value == value) return;
  }
  event->identifiers.push_back(RawIdentifier{std::string(type), std::move(value)});
}

void AddExternalIds(array entries, ParsedEvent* event) {
  for (element entry : entries) {
    object obj;
    if (entry.get_object().get(obj) != SUCCESS) continue;
    std::optional<element> id = Member(obj, "id");
    std::optional<element> type = Member(obj, "type");
    std::string_view type_text;
    if (!id || !type || type->get_string().get(type_text) != SUCCESS || type_text.empty()) {
      continue;
    }
    std::optional<std::string> id_text = IdentifierText(*id);
    if (id_text) AddIdentifier(absl::AsciiStrToLower(Absl(type_text)), *std::move(id_text), event);
  }
}

// Identifiers in the documented order. `person_traits` are the top-level traits when they
// describe the person (identify), not a group.
absl::Status ReadIdentifiers(object root, std::optional<object> context_obj,
                             std::optional<object> person_traits,
                             std::optional<object> context_traits, const ExtractContext& context,
                             ParsedEvent* event) {
  AddIdentifier("user_id", event->user_id, event);
  AddIdentifier("anonymous_id", event->anonymous_id, event);
  AddIdentifier("user_id", event->previous_id, event);
  for (absl::string_view key : {"email", "phone"}) {
    for (std::optional<object> traits : {person_traits, context_traits}) {
      std::optional<element> value = traits ? Member(*traits, key) : std::nullopt;
      std::optional<std::string> text = value ? IdentifierText(*value) : std::nullopt;
      if (text) AddIdentifier(key, *std::move(text), event);
    }
  }
  if (context_obj) {
    std::optional<object> device;
    CDP_RETURN_IF_ERROR(OptionalObject(*context_obj, "device", "context.device", &device));
    std::string device_id;
    if (device) CDP_RETURN_IF_ERROR(OptionalString(*device, "id", "context.device.id", &device_id));
    AddIdentifier("device_id", std::move(device_id), event);
    std::optional<element> external_ids = Member(*context_obj, "externalIds");
    if (external_ids) {
      array entries;
      if (external_ids->get_array().get(entries) != SUCCESS) {
        return Reject("context.externalIds", "must be an array");
      }
      AddExternalIds(entries, event);
    }
  }
  if (context.custom_paths != nullptr) {
    for (const CompiledPath& path : *context.custom_paths) {
      std::optional<element> value = ResolvePath(root, path.segments);
      std::optional<std::string> text = value ? IdentifierText(*value) : std::nullopt;
      if (text) AddIdentifier(path.type, *std::move(text), event);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ExtractSegmentEvent(object root, const ExtractContext& context, ParsedEvent* event) {
  std::optional<element> type_value = Member(root, "type");
  if (!type_value) return absl::InvalidArgumentError("type is required");
  std::string_view type_text;
  if (type_value->get_string().get(type_text) != SUCCESS) return Reject("type", "must be a string");
  std::optional<EventType> type = ParseEventType(Absl(type_text));
  if (!type) return Reject("type", "must be one of identify, track, page, screen, group, alias");
  event->type = *type;

  CDP_RETURN_IF_ERROR(ReadMessageId(root, context.max_message_id_chars, event));
  CDP_RETURN_IF_ERROR(OptionalString(root, "userId", "userId", &event->user_id));
  CDP_RETURN_IF_ERROR(OptionalString(root, "anonymousId", "anonymousId", &event->anonymous_id));
  CDP_RETURN_IF_ERROR(ReadTypeFields(root, event));

  // The spec puts the person's traits at the top level on identify, the group's on group, and
  // the known user's in context.traits on every other call.
  const bool top_level_traits = *type == EventType::kIdentify || *type == EventType::kGroup;
  std::optional<object> traits, context_obj, context_traits;
  if (top_level_traits) CDP_RETURN_IF_ERROR(OptionalObject(root, "traits", "traits", &traits));
  CDP_RETURN_IF_ERROR(OptionalObject(root, "context", "context", &context_obj));
  if (context_obj) {
    CDP_RETURN_IF_ERROR(OptionalObject(*context_obj, "traits", "context.traits", &context_traits));
    CDP_RETURN_IF_ERROR(
        OptionalString(*context_obj, "channel", "context.channel", &event->channel));
    CDP_RETURN_IF_ERROR(ReadConsent(*context_obj, event));
  }
  CopyMembers(top_level_traits ? traits : context_traits, &event->traits);
  CDP_ASSIGN_OR_RETURN(event->time_micros, EventTime(root, context));
  const std::optional<object> person_traits = *type == EventType::kIdentify ? traits : std::nullopt;
  return ReadIdentifiers(root, context_obj, person_traits, context_traits, context, event);
}

void ExtractStoredTraits(object root, ParsedEvent* event) {
  std::optional<object> traits, context;
  if (event->type == EventType::kIdentify || event->type == EventType::kGroup) {
    OptionalObject(root, "traits", "traits", &traits).IgnoreError();
  } else {
    OptionalObject(root, "context", "context", &context).IgnoreError();
    if (context) OptionalObject(*context, "traits", "context.traits", &traits).IgnoreError();
  }
  CopyMembers(traits, &event->traits);
  if (event->type == EventType::kGroup) {
    OptionalString(root, "groupId", "groupId", &event->group_id).IgnoreError();
  }
}

void ExtractStoredIdentifiers(object root, const std::vector<CompiledPath>* custom_paths,
                              std::vector<RawIdentifier>* out) {
  ParsedEvent event;
  OptionalString(root, "userId", "userId", &event.user_id).IgnoreError();
  OptionalString(root, "anonymousId", "anonymousId", &event.anonymous_id).IgnoreError();
  OptionalString(root, "previousId", "previousId", &event.previous_id).IgnoreError();
  std::optional<object> traits, context_obj, context_traits;
  OptionalObject(root, "traits", "traits", &traits).IgnoreError();
  OptionalObject(root, "context", "context", &context_obj).IgnoreError();
  if (context_obj) {
    OptionalObject(*context_obj, "traits", "context.traits", &context_traits).IgnoreError();
  }
  ExtractContext context{.custom_paths = custom_paths};
  ReadIdentifiers(root, context_obj, traits, context_traits, context, &event).IgnoreError();
  *out = std::move(event.identifiers);
}

std::optional<element> ResolvePath(object root, const std::vector<std::string>& segments) {
  if (segments.empty()) return std::nullopt;
  element current;
  if (root.at_key(segments[0]).get(current) != SUCCESS) return std::nullopt;
  for (size_t i = 1; i < segments.size(); ++i) {
    const std::string& segment = segments[i];
    object obj;
    array arr;
    if (current.get_object().get(obj) == SUCCESS) {
      if (obj.at_key(segment).get(current) != SUCCESS) return std::nullopt;
    } else if (current.get_array().get(arr) == SUCCESS) {
      size_t index;
      if (segment.find_first_not_of("0123456789") != std::string::npos ||
          !absl::SimpleAtoi(segment, &index) || arr.at(index).get(current) != SUCCESS) {
        return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }
  if (current.is_null()) return std::nullopt;
  return current;
}

std::optional<std::string> IdentifierText(element value) {
  std::string_view text;
  int64_t signed_value;
  uint64_t unsigned_value;
  if (value.get_string().get(text) == SUCCESS) return std::string(text);
  if (value.get_int64().get(signed_value) == SUCCESS) return absl::StrCat(signed_value);
  if (value.get_uint64().get(unsigned_value) == SUCCESS) return absl::StrCat(unsigned_value);
  return std::nullopt;
}

}  // namespace cdp::ingest::internal
