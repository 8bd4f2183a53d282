#pragma once
// Cryptographic primitives over OpenSSL 3: random bytes, AES-256-GCM, HMAC-SHA256, SHA-256.
// Every OpenSSL object is owned by an RAII wrapper; callers never see raw OpenSSL handles.
//
// Thread safety: free functions and const methods are safe to call concurrently. Cipher and MAC
// contexts are cached per thread, so the hot path allocates nothing after warm-up.

#include <array>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/secure_bytes.h"

namespace cdp::crypto {

inline constexpr size_t kAes256KeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;
inline constexpr size_t kGcmOverhead = kGcmNonceSize + kGcmTagSize;
inline constexpr size_t kSha256Size = 32;

using Digest = std::array<uint8_t, kSha256Size>;

// Fills `size` bytes from the OpenSSL CSPRNG. Aborts if the CSPRNG fails (nothing is safe then).
std::string RandomBytes(size_t size);
SecureBytes RandomKey(size_t size = kAes256KeySize);

// Appends nonce(12) | ciphertext | tag(16) to *out, with a fresh random nonce.
// REQUIRES: key.size() == kAes256KeySize. Returns kInternal only if OpenSSL fails.
absl::Status AesGcmSeal(const SecureBytes& key, absl::string_view aad, absl::string_view plaintext,
                        std::string* out);

// Opens what AesGcmSeal wrote (nonce | ciphertext | tag) and appends the plaintext to *out.
// Returns kDataLoss when the input is too short or does not authenticate under this key and
// associated data (tampered, moved to another key, or sealed under another key).
absl::Status AesGcmOpen(const SecureBytes& key, absl::string_view aad, absl::string_view sealed,
                        std::string* out);

// An HMAC-SHA256 key. The keyed MAC context is reused per thread.
class HmacSha256 {
 public:
  // REQUIRES: key is not empty.
  explicit HmacSha256(SecureBytes key);
  HmacSha256(HmacSha256&&) = default;
  HmacSha256& operator=(HmacSha256&&) = default;

  // MAC over the concatenation of `parts`.
  Digest Mac(std::initializer_list<absl::string_view> parts) const;

 private:
  SecureBytes key_;
  uint64_t instance_id_;  // tells the per-thread context cache which key it holds
};

Digest Sha256(absl::string_view data);

// HKDF-SHA256 (RFC 5869) of `ikm` with `salt` and `info`: a key of `size` bytes for one purpose
// (`info`), independent of every other use of `ikm`. Aborts if OpenSSL fails (a broken build).
// REQUIRES: ikm is not empty; size <= 255 * 32.
SecureBytes HkdfSha256(const SecureBytes& ikm, absl::string_view salt, absl::string_view info,
                       size_t size = kAes256KeySize);

// Constant-time comparison (for tokens and MACs).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

inline absl::string_view AsStringView(const Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace cdp::crypto
