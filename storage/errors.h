#pragma once
// Storage-specific error classification on top of absl canonical codes.
//
//   kNotFound + shredded payload   the profile's data key was destroyed (erased person)
//   kDataLoss                      ciphertext tampered or moved, or database corruption
//   kFailedPrecondition            key file does not belong to this database
//   kNotFound                      key file missing
//   kInvalidArgument               key file malformed
//   kResourceExhausted             disk full
//   kUnavailable / kAborted        transient: retry

#include "absl/status/status.h"
#include "common/profile_id.h"

namespace cdp::storage {

// The error returned when a profile's records are read after its data key was destroyed.
absl::Status ShreddedError(const ProfileId& profile);
bool IsShredded(const absl::Status& status);

}  // namespace cdp::storage
