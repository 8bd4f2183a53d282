#include "storage/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace cdp::storage {
namespace {
constexpr char kShreddedPayload[] = "type.cdp/storage.shredded";
}  // namespace

absl::Status ShreddedError(const ProfileId& profile) {
  absl::Status status = absl::NotFoundError(
      absl::StrCat("data key of profile ", profile.ToHex(),
                   " has been destroyed (profile erased); its records can no longer be read"));
  status.SetPayload(kShreddedPayload, absl::Cord("1"));
  return status;
}

bool IsShredded(const absl::Status& status) {
  return status.GetPayload(kShreddedPayload).has_value();
}

}  // namespace cdp::storage
