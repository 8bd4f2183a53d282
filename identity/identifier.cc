#include "identity/identifier.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace cdp::identity {
namespace {

constexpr std::array<absl::string_view, 5> kBuiltinNames = {kUserId, kAnonymousId, kEmail, kPhone,
                                                            kDeviceId};

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The first `n` characters of `value` (UTF-8; bytes that are not UTF-8 count one each).
absl::string_view Head(absl::string_view value, size_t n) {
  size_t end = 0;
  for (size_t chars = 0; chars < n && end < value.size(); ++chars) {
    ++end;
    while (end < value.size() && IsContinuation(value[end])) ++end;
  }
  return value.substr(0, end);
}

// The last `n` characters of `value`, as Head.
absl::string_view Tail(absl::string_view value, size_t n) {
  size_t start = value.size();
  for (size_t chars = 0; chars < n && start > 0; ++chars) {
    --start;
    while (start > 0 && IsContinuation(value[start])) --start;
  }
  return value.substr(start);
}

}  // namespace

std::string MaskIdentifierValue(absl::string_view type, absl::string_view value) {
  if (type == kEmail) {
    const size_t at = value.rfind('@');
    if (at != absl::string_view::npos && at > 0) {
      return absl::StrCat(Head(value, 1), "***", value.substr(at));
    }
  }
  if (type == kPhone && value.size() > 4) return absl::StrCat("***", Tail(value, 2));
  if (value.size() > 8) return absl::StrCat(Head(value, 2), "***");
  return "***";
}

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
