#pragma once
// ProfileId: the 128-bit random identity of one person's profile. It carries no personal data,
// so it may appear in logs, keys and audit entries. Shown to users as 32 lower-case hex digits.

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace cdp {

class ProfileId {
 public:
  static constexpr size_t kSize = 16;

  ProfileId() = default;  // all zeros; IsNil() is true

  // A fresh id from the OpenSSL CSPRNG.
  static ProfileId Random();
  // From the 16 raw bytes of a key; kInvalidArgument when the size is wrong.
  static absl::StatusOr<ProfileId> FromBytes(absl::string_view bytes);
  // From 32 hex digits; kInvalidArgument otherwise.
  static absl::StatusOr<ProfileId> FromHex(absl::string_view hex);

  absl::string_view bytes() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  std::string ToHex() const;
  bool IsNil() const;

  auto operator<=>(const ProfileId&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, const ProfileId& id) {
    return H::combine(std::move(h), id.bytes());
  }

 private:
  std::array<uint8_t, kSize> bytes_{};
};

}  // namespace cdp
