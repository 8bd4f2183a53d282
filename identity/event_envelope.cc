#include "identity/event_envelope.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

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

absl::StatusOr<StoredEventView> DecodeEventView(absl::string_view bytes) {
  using google::protobuf::internal::WireFormatLite;
  const absl::Status invalid = absl::DataLossError("stored event is not a valid envelope");
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  StoredEventView view;
  while (const uint32_t tag = in.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    absl::string_view* target = field == pb::EventEnvelope::kMessageIdFieldNumber ? &view.message_id
                                : field == pb::EventEnvelope::kBodyFieldNumber    ? &view.body
                                                                                  : nullptr;
    if (target == nullptr ||
        WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&in, tag)) return invalid;
      continue;
    }
    uint32_t size = 0;
    if (!in.ReadVarint32(&size)) return invalid;
    if (size == 0) {  // at the very end, there is no buffer left to point into
      *target = absl::string_view();
      continue;
    }
    const void* data = nullptr;
    int available = 0;
    if (!in.GetDirectBufferPointer(&data, &available) ||
        static_cast<uint32_t>(available) < size) {
      return invalid;
    }
    *target = absl::string_view(static_cast<const char*>(data), size);
    if (!in.Skip(static_cast<int>(size))) return invalid;
  }
  if (!in.ConsumedEntireMessage()) return invalid;
  return view;
}

}  // namespace cdp::identity
