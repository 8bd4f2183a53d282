#include "ingest/context_reader.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <vector>

#include "common/status_macros.h"
#include "identity/event_envelope.h"
#include "ingest/event_json.h"
#include "ingest/ingest.pb.h"
#include "ingest/parsed_event.h"
#include "ingest/profile_data.h"
#include "storage/errors.h"
#include "storage/key_codec.h"

namespace cdp::ingest {

using consent::DataKind;
using storage::Family;

namespace {

// A snapshot taken just before a merge commits still shows the merged-away profile, whose data
// key the merge retires right after: its records then read as shredded. So does a person erased
// after the snapshot. Either way a fresh snapshot shows the outcome, so the lookup starts over.
constexpr int kLookupAttempts = 3;

using google::protobuf::internal::WireFormatLite;

// Reads the fields of one encoded protobuf message as views into its bytes, with protobuf's
// rules: the caller skips unknown fields and fields of an unexpected wire type, and checks
// `string` fields as UTF-8 (View(..., true)). A lookup decodes its profile data and 20-30 event
// bodies this way instead of parsing messages: parsing copied every string (each event's
// ~700-byte JSON, even for events then skipped) and built a hash map per map field, most of the
// reader's own cost.
class WireReader {
 public:
  explicit WireReader(absl::string_view bytes)
      : bytes_(bytes),
        in_(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size())) {}

  // Moves to the next field; false at the end or on a malformed tag (Done() tells which).
  bool Next() { return (tag_ = in_.ReadTag()) != 0; }
  int field() const { return WireFormatLite::GetTagFieldNumber(tag_); }
  bool is_bytes() const {
    return WireFormatLite::GetTagWireType(tag_) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
  }
  bool is_varint() const {
    return WireFormatLite::GetTagWireType(tag_) == WireFormatLite::WIRETYPE_VARINT;
  }
  bool View(absl::string_view* out, bool utf8) {
    uint32_t size;
    if (!in_.ReadVarint32(&size)) return false;
    const size_t at = static_cast<size_t>(in_.CurrentPosition());
    if (size > bytes_.size() - at || !in_.Skip(static_cast<int>(size))) return false;
    *out = bytes_.substr(at, size);
    return !utf8 ||
           google::protobuf::internal::IsStructurallyValidUTF8(out->data(), static_cast<int>(size));
  }
  template <typename Int>
  bool Varint(Int* out) {
    uint64_t value;
    if (!in_.ReadVarint64(&value)) return false;
    *out = static_cast<Int>(value);  // int32 and int64 fields: two's complement, as protobuf
    return true;
  }
  bool Skip() { return WireFormatLite::SkipField(&in_, tag_); }
  // True once Next() has returned false at the end of the bytes.
  bool Done() const { return static_cast<size_t>(in_.CurrentPosition()) == bytes_.size(); }

 private:
  absl::string_view bytes_;
  google::protobuf::io::CodedInputStream in_;
  uint32_t tag_ = 0;
};

// The fields of a pb::EventBody a lookup needs.
struct EventBodyView {
  int32_t type = 0;
  absl::string_view name;
  absl::string_view json;
  uint32_t json_dictionary = 0;
  absl::string_view json_compressed;
  bool has_identifier_spans = false;
  absl::string_view identifier_spans;
  absl::string_view channel;
  std::vector<absl::string_view> purposes;
};

// false when `bytes` is not a valid pb::EventBody.
bool DecodeEventBody(absl::string_view bytes, EventBodyView* body) {
  *body = {.purposes = std::move(body->purposes)};
  body->purposes.clear();
  WireReader in(bytes);
  while (in.Next()) {
    bool ok;
    if (in.is_varint() && in.field() == pb::EventBody::kTypeFieldNumber) {
      ok = in.Varint(&body->type);
    } else if (in.is_bytes() && in.field() == pb::EventBody::kNameFieldNumber) {
      ok = in.View(&body->name, true);
    } else if (in.is_bytes() && in.field() == pb::EventBody::kJsonFieldNumber) {
      ok = in.View(&body->json, false);  // bytes
    } else if (in.is_bytes() && in.field() == pb::EventBody::kPurposesFieldNumber) {
      ok = in.View(&body->purposes.emplace_back(), true);
    } else if (in.is_bytes() && in.field() == pb::EventBody::kChannelFieldNumber) {
      ok = in.View(&body->channel, true);
    } else if (in.is_varint() && in.field() == pb::EventBody::kJsonDictionaryFieldNumber) {
      ok = in.Varint(&body->json_dictionary);
    } else if (in.is_bytes() && in.field() == pb::EventBody::kJsonCompressedFieldNumber) {
      ok = in.View(&body->json_compressed, false);
    } else if (in.is_bytes() && in.field() == pb::EventBody::kIdentifierSpansFieldNumber) {
      ok = in.View(&body->identifier_spans, false);
      body->has_identifier_spans = true;
    } else {
      ok = in.Skip();  // received_micros, unknown or mistyped fields
    }
    if (!ok) return false;
  }
  return in.Done();
}

// A map entry of pb::ProfileData: the key, and the value message decoded by `value(bytes)`
// (called for each occurrence of the value field, which protobuf merges).
template <typename DecodeValue>
bool DecodeMapEntry(absl::string_view bytes, absl::string_view* key, DecodeValue value) {
  WireReader in(bytes);
  while (in.Next()) {
    absl::string_view value_bytes;
    bool ok;
    if (in.is_bytes() && in.field() == 1) {
      ok = in.View(key, true);
    } else if (in.is_bytes() && in.field() == 2) {
      ok = in.View(&value_bytes, false) && value(value_bytes);
    } else {
      ok = in.Skip();
    }
    if (!ok) return false;
  }
  return in.Done();
}

struct TraitEntry {
  absl::string_view name, json, source;
  int64_t set_micros = 0;
};

struct EventCountEntry {
  absl::string_view event;
  uint64_t count = 0;
  int64_t last_micros = 0;
};

struct ProfileDataView {
  std::vector<TraitEntry> traits;       // wire order: of two entries of a name, the later wins
  std::vector<EventCountEntry> events;  // likewise
  int64_t first_seen_micros = 0;
  int64_t last_seen_micros = 0;
  uint64_t total_events = 0;
  std::vector<absl::string_view> channels;
  std::vector<absl::string_view> groups;
};

bool DecodeTraitValue(absl::string_view bytes, TraitEntry* trait) {
  WireReader in(bytes);
  while (in.Next()) {
    bool ok;
    if (in.is_bytes() && in.field() == pb::TraitValue::kJsonFieldNumber) {
      ok = in.View(&trait->json, true);
    } else if (in.is_varint() && in.field() == pb::TraitValue::kSetMicrosFieldNumber) {
      ok = in.Varint(&trait->set_micros);
    } else if (in.is_bytes() && in.field() == pb::TraitValue::kSourceFieldNumber) {
      ok = in.View(&trait->source, true);
    } else {
      ok = in.Skip();
    }
    if (!ok) return false;
  }
  return in.Done();
}

bool DecodeEventStats(absl::string_view bytes, EventCountEntry* stats) {
  WireReader in(bytes);
  while (in.Next()) {
    absl::string_view unused;
    bool ok;
    if (in.is_varint() && in.field() == pb::EventStats::kCountFieldNumber) {
      ok = in.Varint(&stats->count);
    } else if (in.is_varint() && in.field() == pb::EventStats::kLastMicrosFieldNumber) {
      ok = in.Varint(&stats->last_micros);
    } else if (in.is_bytes() && in.field() == pb::EventStats::kLastMessageIdFieldNumber) {
      ok = in.View(&unused, true);  // not returned, but protobuf would refuse bad UTF-8
    } else {
      ok = in.Skip();  // first_micros, unknown or mistyped fields
    }
    if (!ok) return false;
  }
  return in.Done();
}

// false when `bytes` is not a valid pb::ProfileData.
bool DecodeProfileData(absl::string_view bytes, ProfileDataView* data) {
  WireReader in(bytes);
  while (in.Next()) {
    absl::string_view entry;
    bool ok;
    if (in.is_bytes() && in.field() == pb::ProfileData::kTraitsFieldNumber) {
      TraitEntry& trait = data->traits.emplace_back();
      ok = in.View(&entry, false) &&
           DecodeMapEntry(entry, &trait.name,
                          [&](absl::string_view value) { return DecodeTraitValue(value, &trait); });
    } else if (in.is_bytes() && in.field() == pb::ProfileData::kEventsFieldNumber) {
      EventCountEntry& stats = data->events.emplace_back();
      ok = in.View(&entry, false) &&
           DecodeMapEntry(entry, &stats.event,
                          [&](absl::string_view value) { return DecodeEventStats(value, &stats); });
    } else if (in.is_varint() && in.field() == pb::ProfileData::kFirstSeenMicrosFieldNumber) {
      ok = in.Varint(&data->first_seen_micros);
    } else if (in.is_varint() && in.field() == pb::ProfileData::kLastSeenMicrosFieldNumber) {
      ok = in.Varint(&data->last_seen_micros);
    } else if (in.is_bytes() && in.field() == pb::ProfileData::kChannelsFieldNumber) {
      ok = in.View(&data->channels.emplace_back(), true);
    } else if (in.is_bytes() && in.field() == pb::ProfileData::kGroupsFieldNumber) {
      ok = in.View(&data->groups.emplace_back(), true);
    } else if (in.is_varint() && in.field() == pb::ProfileData::kTotalEventsFieldNumber) {
      ok = in.Varint(&data->total_events);
    } else {
      ok = in.Skip();
    }
    if (!ok) return false;
  }
  return in.Done();
}

// Sorts map entries by name and keeps, of entries with the same name, the last one decoded (as
// protobuf's map does).
template <typename Entry, typename Name>
void SortKeepingLast(std::vector<Entry>* entries, Name name) {
  std::stable_sort(entries->begin(), entries->end(),
                   [&](const Entry& a, const Entry& b) { return name(a) < name(b); });
  size_t kept = 0;
  for (size_t i = 0; i < entries->size(); ++i) {
    if (i + 1 < entries->size() && name((*entries)[i + 1]) == name((*entries)[i])) continue;
    (*entries)[kept++] = (*entries)[i];
  }
  entries->resize(kept);
}

}  // namespace

template <typename Resolve>
absl::StatusOr<std::optional<PersonContext>> ContextReader::Lookup(const ContextRequest& request,
                                                                   Resolve resolve) {
  absl::Status last;
  for (int attempt = 0; attempt < kLookupAttempts; ++attempt) {
    std::unique_ptr<storage::Snapshot> snapshot = store_->GetSnapshot();
    absl::StatusOr<std::optional<identity::ProfileIdentity>> identity = resolve(snapshot.get());
    absl::StatusOr<std::optional<PersonContext>> context =
        identity.ok() ? (*identity ? Read(**std::move(identity), *snapshot, request)
                                   : absl::StatusOr<std::optional<PersonContext>>(std::nullopt))
                      : identity.status();
    if (context.ok() || !storage::IsShredded(context.status())) return context;
    last = context.status();
  }
  return last;
}

absl::StatusOr<std::optional<PersonContext>> ContextReader::ByIdentifier(
    const identity::Identifier& id, const ContextRequest& request) {
  CDP_RETURN_IF_ERROR(consent_->CheckPurpose(request.purpose));
  // The index before the snapshot (see IdentityGraph::IndexedProfile): from the in-memory copy,
  // where a read at the snapshot would go to the database.
  CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> indexed, identity_->IndexedProfile(id));
  if (!indexed) return std::nullopt;
  return Lookup(request, [&](const storage::Snapshot* snapshot)
                             -> absl::StatusOr<std::optional<identity::ProfileIdentity>> {
    CDP_ASSIGN_OR_RETURN(std::optional<identity::ProfileIdentity> found,
                         identity_->GetIdentity(*indexed, snapshot));
    if (found && std::find(found->identifiers.begin(), found->identifiers.end(), id) !=
                     found->identifiers.end()) {
      return found;
    }
    // The identifier moved between the index read and the snapshot (or its profile was erased):
    // whoever holds it as of the snapshot, if anyone.
    CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> at_snapshot,
                         identity_->IndexedProfile(id, snapshot));
    if (!at_snapshot) return std::nullopt;
    return identity_->GetIdentity(*at_snapshot, snapshot);
  });
}

absl::StatusOr<std::optional<PersonContext>> ContextReader::ByProfile(
    const ProfileId& profile, const ContextRequest& request) {
  CDP_RETURN_IF_ERROR(consent_->CheckPurpose(request.purpose));
  return Lookup(request, [&](const storage::Snapshot* snapshot) {
    return identity_->GetIdentity(profile, snapshot);
  });
}

absl::StatusOr<PersonContext> ContextReader::Read(identity::ProfileIdentity identity,
                                                  const storage::Snapshot& snapshot,
                                                  const ContextRequest& request) {
  PersonContext context;
  context.profile = identity.profile;
  CDP_ASSIGN_OR_RETURN(context.consent, consent_->State(context.profile, &snapshot));
  context.purpose_allowed = context.consent.Allowed(request.purpose);
  if (!context.purpose_allowed) return context;
  auto may = [&](DataKind kind) {
    return consent_->MayRead(context.consent, request.purpose, kind);
  };

  if (may(DataKind::kIdentifiers)) context.identifiers = std::move(identity.identifiers);
  const bool mask = request.mask_identifiers || !may(DataKind::kIdentifiers);

  CDP_ASSIGN_OR_RETURN(std::optional<storage::Record> record,
                       store_->Get(Family::kProfiles, ProfileDataKey(context.profile), &snapshot));
  ProfileDataView data;
  if (record && !DecodeProfileData(record->value, &data)) {
    return absl::DataLossError("profile data is not a valid record");
  }
  const int64_t now = store_->clock().NowMicros();
  if (may(DataKind::kTraits)) {
    SortKeepingLast(&data.traits, [](const TraitEntry& t) { return t.name; });
    context.traits.reserve(data.traits.size());
    for (const TraitEntry& t : data.traits) {
      if (retention_ && retention_->TraitExpired(t.set_micros, now)) continue;
      context.traits.push_back(
          {std::string(t.name), std::string(t.json), t.set_micros, std::string(t.source)});
    }
    if (mask && !context.traits.empty()) {
      std::vector<absl::string_view> names;
      std::vector<std::string*> values;
      for (TraitView& t : context.traits) {
        names.push_back(t.name);
        values.push_back(&t.json);
      }
      masker_.MaskTraits(names, values);
    }
  }
  if (may(DataKind::kComputed)) {
    context.first_seen_micros = data.first_seen_micros;
    context.last_seen_micros = data.last_seen_micros;
    context.total_events = data.total_events;
    SortKeepingLast(&data.events, [](const EventCountEntry& e) { return e.event; });
    context.event_counts.reserve(data.events.size());
    for (const EventCountEntry& e : data.events) {
      context.event_counts.push_back({std::string(e.event), e.count, e.last_micros});
    }
    for (absl::string_view c : data.channels) context.channels.emplace_back(c);
    for (absl::string_view g : data.groups) context.groups.emplace_back(g);
  }
  if (may(DataKind::kEvents) && request.max_events > 0) {
    absl::Status decode_status;
    // Events filtered out (other name, not stored for this purpose) still cost a read: bound the
    // walk so one lookup never reads a whole long history.
    size_t examined = 0;
    const size_t max_examined = std::max<size_t>(1000, request.max_events * 20);
    EventBodyView body;  // reused: its purposes keep their capacity
    context.recent_events.reserve(std::min<size_t>(request.max_events, 64));
    CDP_RETURN_IF_ERROR(store_->Scan(
        Family::kEvents, storage::ProfileKey(context.profile),
        // A history of at most twice the events wanted is cheaper read forward (ScanOptions).
        {.reverse = true,
         .snapshot = &snapshot,
         .expected_records = data.total_events <= 2 * request.max_events ? data.total_events : 0},
        [&](absl::string_view key, storage::Record stored) {
          absl::StatusOr<identity::StoredEventView> event = identity::DecodeEventView(stored.value);
          if (!event.ok() || !DecodeEventBody(event->body, &body)) {
            decode_status = absl::DataLossError("stored event is not a valid record");
            return false;
          }
          if (++examined > max_examined) return false;
          if (!request.event_name.empty() && body.name != request.event_name) return true;
          if (std::find(body.purposes.begin(), body.purposes.end(), request.purpose) ==
              body.purposes.end()) {
            return true;
          }
          EventView& view = context.recent_events.emplace_back(
              EventView{std::string(event->message_id),
                        EventTypeName(static_cast<EventType>(body.type)), std::string(body.name),
                        stored.meta.time_micros, std::string(body.channel), {}});
          decode_status = StoredEventJson(store_->codec(), body.json, body.json_dictionary,
                                          body.json_compressed, &view.json);
          if (decode_status.ok() && mask) {
            decode_status = body.has_identifier_spans
                                ? MaskEventAt(body.identifier_spans, &view.json)
                                : masker_.MaskEvent(&view.json);
          }
          if (!decode_status.ok()) return false;
          return context.recent_events.size() < request.max_events;
        }));
    CDP_RETURN_IF_ERROR(decode_status);
  }
  if (may(DataKind::kConversations) && request.max_conversations > 0) {
    CDP_ASSIGN_OR_RETURN(
        context.conversations,
        conversations_.ListOpenOfCurrent(context.profile, &snapshot, request.max_conversations));
  }
  return context;
}

}  // namespace cdp::ingest
