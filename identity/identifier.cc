#include "identity/identifier.h"

#include <array>

namespace cdp::identity {
namespace {

constexpr std::array<absl::string_view, 5> kBuiltinNames = {kUserId, kAnonymousId, kEmail, kPhone,
                                                            kDeviceId};

}  // namespace

absl::Span<const absl::string_view> BuiltinTypeNames() { return kBuiltinNames; }

absl::string_view BuiltinTypeName(BuiltinType type) {
  return kBuiltinNames[static_cast<size_t>(type)];
}

std::optional<BuiltinType> ParseBuiltinType(absl::string_view name) {
  for (size_t i = 0; i < kBuiltinNames.size(); ++i) {
    if (kBuiltinNames[i] == name) return static_cast<BuiltinType>(i);
  }
  return std::nullopt;
}

bool IsValidTypeName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxTypeNameBytes) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace cdp::identity
