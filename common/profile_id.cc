#include "common/profile_id.h"

#include <openssl/rand.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace cdp {

ProfileId ProfileId::Random() {
  ProfileId id;
  // RAND_bytes only fails when the CSPRNG cannot be seeded, which leaves nothing safe to do.
  if (RAND_bytes(id.bytes_.data(), kSize) != 1) abort();
  return id;
}

absl::StatusOr<ProfileId> ProfileId::FromBytes(absl::string_view bytes) {
  if (bytes.size() != kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("profile id must be ", kSize, " bytes, got ", bytes.size()));
  }
  ProfileId id;
  std::memcpy(id.bytes_.data(), bytes.data(), kSize);
  return id;
}

absl::StatusOr<ProfileId> ProfileId::FromHex(absl::string_view hex) {
  if (hex.size() != 2 * kSize) {
    return absl::InvalidArgumentError("profile id must be 32 hex digits");
  }
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("profile id must be 32 hex digits");
    }
  }
  return FromBytes(absl::HexStringToBytes(hex));
}

std::string ProfileId::ToHex() const { return absl::BytesToHexString(bytes()); }

bool ProfileId::IsNil() const {
  for (uint8_t b : bytes_) {
    if (b != 0) return false;
  }
  return true;
}

}  // namespace cdp
