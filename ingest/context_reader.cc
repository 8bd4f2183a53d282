#include "ingest/context_reader.h"

#include <algorithm>

#include "common/status_macros.h"
#include "identity/event_envelope.h"
#include "ingest/ingest.pb.h"
#include "ingest/parsed_event.h"
#include "ingest/profile_data.h"
#include "storage/key_codec.h"

namespace cdp::ingest {

using consent::DataKind;
using storage::Family;

absl::StatusOr<std::optional<PersonContext>> ContextReader::ByIdentifier(
    const identity::Identifier& id, const ContextRequest& request) {
  CDP_RETURN_IF_ERROR(consent_->CheckPurpose(request.purpose));
  CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> profile, identity_->FindProfile(id));
  if (!profile) return std::nullopt;
  return ByProfile(*profile, request);
}

absl::StatusOr<std::optional<PersonContext>> ContextReader::ByProfile(
    const ProfileId& profile, const ContextRequest& request) {
  CDP_RETURN_IF_ERROR(consent_->CheckPurpose(request.purpose));
  CDP_ASSIGN_OR_RETURN(std::optional<identity::ProfileIdentity> identity,
                       identity_->GetIdentity(profile));
  if (!identity) return std::nullopt;
  std::unique_ptr<storage::Snapshot> snapshot = store_->GetSnapshot();

  PersonContext context;
  context.profile = identity->profile;
  CDP_ASSIGN_OR_RETURN(context.consent, consent_->State(context.profile, snapshot.get()));
  context.purpose_allowed = context.consent.Allowed(request.purpose);
  if (!context.purpose_allowed) return context;
  auto may = [&](DataKind kind) { return consent_->MayRead(context.consent, request.purpose, kind); };

  if (may(DataKind::kIdentifiers)) context.identifiers = std::move(identity->identifiers);

  CDP_ASSIGN_OR_RETURN(std::optional<storage::Record> record,
                       store_->Get(Family::kProfiles, ProfileDataKey(context.profile),
                                   snapshot.get()));
  pb::ProfileData data;
  if (record && !data.ParseFromString(record->value)) {
    return absl::DataLossError("profile data is not a valid record");
  }
  const int64_t now = store_->clock().NowMicros();
  if (may(DataKind::kTraits)) {
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
    CDP_RETURN_IF_ERROR(store_->Scan(
        Family::kEvents, storage::ProfileKey(context.profile),
        {.reverse = true, .snapshot = snapshot.get()},
        [&](absl::string_view key, storage::Record stored) {
          absl::StatusOr<identity::StoredEvent> event = identity::DecodeEvent(stored.value);
          pb::EventBody body;
          if (!event.ok() || !body.ParseFromString(event->body)) {
            decode_status = absl::DataLossError("stored event is not a valid record");
            return false;
          }
          if (++examined > max_examined) return false;
          if (!request.event_name.empty() && body.name() != request.event_name) return true;
          bool for_purpose = false;
          for (const std::string& p : body.purposes()) for_purpose |= p == request.purpose;
          if (!for_purpose) return true;
          context.recent_events.push_back(
              {event->message_id, EventTypeName(static_cast<EventType>(body.type())),
               body.name(), stored.meta.time_micros, body.channel(), body.json()});
          return context.recent_events.size() < request.max_events;
        }));
    CDP_RETURN_IF_ERROR(decode_status);
  }
  if (may(DataKind::kConversations) && request.max_conversations > 0) {
    CDP_ASSIGN_OR_RETURN(context.conversations,
                         conversations_.ListOpen(context.profile, snapshot.get(),
                                                 request.max_conversations));
  }
  return context;
}

}  // namespace cdp::ingest
