#include "ingest/profile_data.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "identity/event_envelope.h"
#include "ingest/event_json.h"
#include "ingest/internal/segment_event.h"
#include "simdjson.h"
#include "storage/key_codec.h"

namespace cdp::ingest {
namespace {

// Adds a non-empty `value` not in `list` yet, keeping at most `max` values; a new value past it
// is counted in `dropped`.
void AddUniqueCapped(const std::string& value, size_t max,
                     google::protobuf::RepeatedPtrField<std::string>* list, uint64_t* dropped) {
  if (value.empty() || std::find(list->begin(), list->end(), value) != list->end()) return;
  if (static_cast<size_t>(list->size()) >= max) {
    ++*dropped;
    return;
  }
  *list->Add() = value;
}

// AddUniqueCapped without a cap (channels: a handful of known names).
void AddUnique(const std::string& value, google::protobuf::RepeatedPtrField<std::string>* list) {
  uint64_t never = 0;
  AddUniqueCapped(value, std::numeric_limits<size_t>::max(), list, &never);
}

// The map's entry for `name`, or null when it is new and the map holds `max` entries already
// (counted in `dropped`).
template <typename Map>
typename Map::mapped_type* Slot(Map* map, const std::string& name, size_t max,
                                uint64_t* dropped) {
  auto it = map->find(name);
  if (it != map->end()) return &it->second;
  if (map->size() >= max) {
    ++*dropped;
    return nullptr;
  }
  return &(*map)[name];
}

void Widen(int64_t first, int64_t last, pb::ProfileData* data) {
  if (data->first_seen_micros() == 0 || first < data->first_seen_micros()) {
    data->set_first_seen_micros(first);
  }
  data->set_last_seen_micros(std::max(data->last_seen_micros(), last));
}

}  // namespace

std::string ProfileDataKey(const ProfileId& profile) {
  return storage::ProfileChildKey(profile, absl::string_view("\x02", 1));
}

std::string EventKeyName(EventType type, const std::string& name) {
  switch (type) {
    case EventType::kTrack:
      return name;
    case EventType::kPage:
    case EventType::kScreen:
      return absl::StrCat(EventTypeName(type), ":", name);
    default:
      return EventTypeName(type);
  }
}

void ApplyTraits(const std::map<std::string, std::string>& traits, int64_t time_micros,
                 const std::string& message_id, const ProfileDataLimits& limits,
                 pb::ProfileData* data, ProfileDataDrops* drops) {
  for (const auto& [name, json] : traits) {
    auto* slot = Slot(data->mutable_traits(), name, limits.max_traits, &drops->traits);
    if (slot == nullptr || (!slot->json().empty() && slot->set_micros() > time_micros)) continue;
    slot->set_json(json);
    slot->set_set_micros(time_micros);
    slot->set_source(message_id);
  }
}

void RecordEvent(const ParsedEvent& event, const ProfileDataLimits& limits, pb::ProfileData* data,
                 ProfileDataDrops* drops) {
  Widen(event.time_micros, event.time_micros, data);
  data->set_total_events(data->total_events() + 1);
  if (event.type == EventType::kGroup) {
    AddUniqueCapped(event.group_id, limits.max_groups, data->mutable_groups(), &drops->groups);
  }
  AddUnique(event.channel, data->mutable_channels());
  pb::EventStats* slot = Slot(data->mutable_events(), EventKeyName(event.type, event.name),
                              limits.max_event_names, &drops->event_names);
  if (slot == nullptr) return;
  pb::EventStats& stats = *slot;
  if (stats.count() == 0 || event.time_micros < stats.first_micros()) {
    stats.set_first_micros(event.time_micros);
  }
  if (event.time_micros >= stats.last_micros()) {
    stats.set_last_micros(event.time_micros);
    stats.set_last_message_id(event.message_id);
  }
  stats.set_count(stats.count() + 1);
}

void CombineProfileData(const pb::ProfileData& from, const ProfileDataLimits& limits,
                        pb::ProfileData* into, ProfileDataDrops* drops) {
  for (const auto& [name, value] : from.traits()) {
    auto* slot = Slot(into->mutable_traits(), name, limits.max_traits, &drops->traits);
    if (slot != nullptr && (slot->json().empty() || value.set_micros() > slot->set_micros())) {
      *slot = value;
    }
  }
  if (from.total_events() > 0 || from.first_seen_micros() != 0) {
    Widen(from.first_seen_micros(), from.last_seen_micros(), into);
  }
  into->set_total_events(into->total_events() + from.total_events());
  for (const auto& [name, stats] : from.events()) {
    pb::EventStats* found =
        Slot(into->mutable_events(), name, limits.max_event_names, &drops->event_names);
    if (found == nullptr) continue;
    pb::EventStats& slot = *found;
    if (slot.count() == 0 || stats.first_micros() < slot.first_micros()) {
      slot.set_first_micros(stats.first_micros());
    }
    if (stats.last_micros() >= slot.last_micros()) {
      slot.set_last_micros(stats.last_micros());
      slot.set_last_message_id(stats.last_message_id());
    }
    slot.set_count(slot.count() + stats.count());
  }
  for (const std::string& channel : from.channels()) AddUnique(channel, into->mutable_channels());
  for (const std::string& group : from.groups()) {
    AddUniqueCapped(group, limits.max_groups, into->mutable_groups(), &drops->groups);
  }
}

absl::StatusOr<pb::ProfileData> RebuildProfileData(const storage::DictionaryCodec& codec,
                                                   absl::Span<const storage::Record* const> events,
                                                   const ProfileDataLimits& limits) {
  pb::ProfileData data;
  ProfileDataDrops drops;
  simdjson::dom::parser parser;
  pb::EventBody body;
  std::string json;
  for (const storage::Record* record : events) {
    CDP_ASSIGN_OR_RETURN(identity::StoredEventView stored,
                         identity::DecodeEventView(record->value));
    if (!body.ParseFromArray(stored.body.data(), static_cast<int>(stored.body.size()))) {
      return absl::DataLossError("stored event body is not a valid record");
    }
    ParsedEvent event;
    event.type = static_cast<EventType>(body.type());
    event.name = body.name();
    event.channel = body.channel();
    event.message_id.assign(stored.message_id.data(), stored.message_id.size());
    event.time_micros = record->meta.time_micros;
    CDP_RETURN_IF_ERROR(StoredEventJson(codec, body, &json));
    simdjson::dom::object root;
    if (parser.parse(json).get_object().get(root) == simdjson::SUCCESS) {
      internal::ExtractStoredTraits(root, &event);
    }
    ApplyTraits(event.traits, event.time_micros, event.message_id, limits, &data, &drops);
    RecordEvent(event, limits, &data, &drops);
  }
  return data;
}

}  // namespace cdp::ingest
