#include "identity/event_envelope.h"

#include "identity/identity.pb.h"
#include "identity/profile_node.h"

namespace cdp::identity {

std::string EncodeEvent(const EventIdentity& event, absl::string_view body) {
  pb::EventEnvelope envelope;
  envelope.set_message_id(event.message_id);
  for (const Identifier& id : event.identifiers) {
    internal::ToStored(id, event.time_micros, envelope.add_identifiers());
  }
  envelope.set_body(std::string(body.data(), body.size()));
  return envelope.SerializeAsString();
}

absl::StatusOr<StoredEvent> DecodeEvent(absl::string_view bytes) {
  pb::EventEnvelope envelope;
  if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("stored event is not a valid envelope");
  }
  StoredEvent event;
  event.message_id = envelope.message_id();
  for (const auto& stored : envelope.identifiers()) {
    event.identifiers.push_back(internal::FromStored(stored));
  }
  event.body = std::move(*envelope.mutable_body());
  return event;
}

}  // namespace cdp::identity
