#include "consent/record_category.h"

#include "common/big_endian.h"
#include "common/crypto.h"

namespace cdp::consent {

uint32_t EventTypeCode(absl::string_view type) {
  constexpr absl::string_view kTypes[] = {"identify", "track", "page", "screen", "group", "alias"};
  for (uint32_t i = 0; i < 6; ++i) {
    if (type == kTypes[i]) return i;
  }
  return 7;
}

uint32_t EventNameDigest(absl::string_view name) {
  crypto::Digest digest = crypto::Sha256(name);
  return GetBigEndian32(crypto::AsStringView(digest)) & 0x0fffffff;
}

uint32_t EventCategory(absl::string_view type, absl::string_view name) {
  return (uint32_t{1} << 31) | (EventTypeCode(type) << 28) | EventNameDigest(name);
}

}  // namespace cdp::consent
