#pragma once
// Identifier: one normalized (type, value) pair that identity resolution matches on, and the
// names of the identifier types. Five types are built in; more ("crm_id", "loyalty_id") are
// declared in IdentityOptions::custom_types.
//
// An Identifier's value is personal data: never log it, print it or put it in an error message.
// Only its type name may appear there.
//
// Thread safety: plain values and pure functions.

#include <compare>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace cdp::identity {

// Type names are 1 to 32 bytes of [a-z0-9_]; they go into blind-index hashes and metric labels.
inline constexpr size_t kMaxTypeNameBytes = 32;
// No normalized value is longer than this.
inline constexpr size_t kMaxValueBytes = 256;

inline constexpr absl::string_view kUserId = "user_id";
inline constexpr absl::string_view kAnonymousId = "anonymous_id";
inline constexpr absl::string_view kEmail = "email";
inline constexpr absl::string_view kPhone = "phone";
inline constexpr absl::string_view kDeviceId = "device_id";

enum class BuiltinType { kUserId, kAnonymousId, kEmail, kPhone, kDeviceId };

// The five built-in type names, in the order of BuiltinType.
absl::Span<const absl::string_view> BuiltinTypeNames();
absl::string_view BuiltinTypeName(BuiltinType type);
// std::nullopt when `name` is not a built-in type (custom types included).
std::optional<BuiltinType> ParseBuiltinType(absl::string_view name);

// True when `name` has the syntax of a type name: [a-z0-9_]{1,32}.
bool IsValidTypeName(absl::string_view name);

struct Identifier {
  std::string type;   // a built-in or configured custom type name
  std::string value;  // normalized: what the blind index hashes

  auto operator<=>(const Identifier&) const = default;
  bool operator==(const Identifier&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, const Identifier& id) {
    return H::combine(std::move(h), id.type, id.value);
  }
};

// A masked form of an identifier value that lets a person recognize it without revealing it,
// for callers that may not see identifiers: "a***@example.com" (email), "***67" (phone: the last
// two characters), "ab***" (values over 8 characters), else "***". Never splits a UTF-8
// character; `type` is a built-in or custom type name.
std::string MaskIdentifierValue(absl::string_view type, absl::string_view value);

}  // namespace cdp::identity
