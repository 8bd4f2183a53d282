#pragma once
// Blind index: the keyed hash under which identifiers are looked up, so that no email, phone
// number or other identifier value ever appears in a database key.
//
//   Hash(type, value) = HMAC-SHA256(index key, len(type) (1) | type | value)
//
// The length prefix keeps ("ab", "c") and ("a", "bc") apart. Values must already be normalized
// (identity/ does that); the hash is exact on bytes.
//
// Thread safety: Hash is safe to call concurrently.

#include "absl/strings/string_view.h"

#include "common/crypto.h"
#include "common/secure_bytes.h"

namespace cdp::storage {

class BlindIndex {
 public:
  // REQUIRES: index_key is 32 bytes.
  explicit BlindIndex(SecureBytes index_key) : mac_(std::move(index_key)) {}

  // REQUIRES: type.size() < 256.
  crypto::Digest Hash(absl::string_view type, absl::string_view value) const;

 private:
  crypto::HmacSha256 mac_;
};

}  // namespace cdp::storage
