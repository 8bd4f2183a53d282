#include "ingest/context_reader.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <vector>

#include "common/status_macros.h"
#include "identity/event_envelope.h"
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

// First block of a lookup's protobuf arena, on the stack: a profile's data (its traits and event
// counts as map entries) usually fits, so parsing it allocates nothing from the heap.
constexpr size_t kArenaFirstBlockBytes = 8 << 10;

// The fields of a stored pb::EventBody a lookup needs, as views into the record: a lookup reads
// ~20-30 bodies, and parsing them into messages (copying each ~700-byte JSON, even for events
// then skipped as not stored for the purpose) was most of its per-event cost.
struct EventBodyView {
  int32_t type = 0;
  absl::string_view name;
  absl::string_view json;
  absl::string_view channel;
  std::vector<absl::string_view> purposes;
};

// Decodes `bytes` as pb::EventBody does (proto3: the last of a repeated scalar wins, unknown
// fields and fields of an unexpected wire type are skipped, `string` fields must be valid UTF-8).
// false when it is not a valid message.
bool DecodeEventBody(absl::string_view bytes, EventBodyView* body) {
  using google::protobuf::internal::WireFormatLite;
  *body = {.purposes = std::move(body->purposes)};
  body->purposes.clear();
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  auto read_view = [&](absl::string_view* out, bool utf8) {
    uint32_t size;
    if (!in.ReadVarint32(&size)) return false;
    const size_t at = static_cast<size_t>(in.CurrentPosition());
    if (size > bytes.size() - at || !in.Skip(static_cast<int>(size))) return false;
    *out = bytes.substr(at, size);
    return !utf8 ||
           google::protobuf::internal::IsStructurallyValidUTF8(out->data(), static_cast<int>(size));
  };
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const bool is_bytes =
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    bool ok;
    if (field == pb::EventBody::kTypeFieldNumber &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      uint32_t type;
      ok = in.ReadVarint32(&type);
      body->type = static_cast<int32_t>(type);
    } else if (is_bytes && field == pb::EventBody::kNameFieldNumber) {
      ok = read_view(&body->name, true);
    } else if (is_bytes && field == pb::EventBody::kJsonFieldNumber) {
      ok = read_view(&body->json, false);
    } else if (is_bytes && field == pb::EventBody::kPurposesFieldNumber) {
      ok = read_view(&body->purposes.emplace_back(), true);
    } else if (is_bytes && field == pb::EventBody::kChannelFieldNumber) {
      ok = read_view(&body->channel, true);
    } else {
      ok = WireFormatLite::SkipField(&in, tag);  // received_micros, unknown or mistyped fields
    }
    if (!ok) return false;
  }
  // ReadTag gives 0 at the end and on a malformed tag: only the first is a whole message.
  return static_cast<size_t>(in.CurrentPosition()) == bytes.size();
}

}  // namespace

template <typename Resolve>
absl::StatusOr<std::optional<PersonContext>> ContextReader::Lookup(const ContextRequest& request,
                                                                   Resolve resolve) {
  CDP_RETURN_IF_ERROR(consent_->CheckPurpose(request.purpose));
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
  return Lookup(request, [&](const storage::Snapshot* snapshot) {
    return identity_->FindIdentity(id, snapshot);
  });
}

absl::StatusOr<std::optional<PersonContext>> ContextReader::ByProfile(
    const ProfileId& profile, const ContextRequest& request) {
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

  CDP_ASSIGN_OR_RETURN(std::optional<storage::Record> record,
                       store_->Get(Family::kProfiles, ProfileDataKey(context.profile), &snapshot));
  // Maps parse into one node and two strings per entry: on the arena they cost no malloc/free.
  alignas(8) char first_block[kArenaFirstBlockBytes];
  google::protobuf::ArenaOptions arena_options;
  arena_options.initial_block = first_block;
  arena_options.initial_block_size = sizeof(first_block);
  google::protobuf::Arena arena(arena_options);
  pb::ProfileData& data = *google::protobuf::Arena::CreateMessage<pb::ProfileData>(&arena);
  if (record && !data.ParseFromString(record->value)) {
    return absl::DataLossError("profile data is not a valid record");
  }
  const int64_t now = store_->clock().NowMicros();
  if (may(DataKind::kTraits)) {
    context.traits.reserve(data.traits_size());
    for (const auto& [name, value] : data.traits()) {
      if (retention_ && retention_->TraitExpired(value.set_micros(), now)) continue;
      context.traits.push_back({name, value.json(), value.set_micros(), value.source()});
    }
    std::sort(context.traits.begin(), context.traits.end(),
              [](const TraitView& a, const TraitView& b) { return a.name < b.name; });
  }
  if (may(DataKind::kComputed)) {
    context.first_seen_micros = data.first_seen_micros();
    context.last_seen_micros = data.last_seen_micros();
    context.total_events = data.total_events();
    context.event_counts.reserve(data.events_size());
    for (const auto& [name, stats] : data.events()) {
      context.event_counts.push_back({name, stats.count(), stats.last_micros()});
    }
    std::sort(context.event_counts.begin(), context.event_counts.end(),
              [](const EventCountView& a, const EventCountView& b) { return a.event < b.event; });
    context.channels.assign(data.channels().begin(), data.channels().end());
    context.groups.assign(data.groups().begin(), data.groups().end());
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
        {.reverse = true, .snapshot = &snapshot},
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
          context.recent_events.push_back({std::string(event->message_id),
                                           EventTypeName(static_cast<EventType>(body.type)),
                                           std::string(body.name), stored.meta.time_micros,
                                           std::string(body.channel), std::string(body.json)});
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
