#pragma once
// Shedding as an absl::Status: the one kResourceExhausted the API answers OVERLOADED ("busy,
// retry with backoff"). Admission control and the export cap return ShedError. Any other
// kResourceExhausted (storage::ToAbsl reports a full disk so) is answered UNAVAILABLE: the server
// refuses writes it cannot make durable, which is not load. Thread safety: free functions.

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace cdp::api {

inline constexpr absl::string_view kShedPayloadUrl = "type.cdp/api.Shed";

// kResourceExhausted with `message`, marked as shed.
inline absl::Status ShedError(absl::string_view message) {
  absl::Status status = absl::ResourceExhaustedError(message);
  status.SetPayload(kShedPayloadUrl, absl::Cord("shed"));
  return status;
}

// True for a ShedError.
inline bool IsShed(const absl::Status& status) {
  return absl::IsResourceExhausted(status) && status.GetPayload(kShedPayloadUrl).has_value();
}

}  // namespace cdp::api
