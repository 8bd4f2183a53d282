#pragma once
// SecureBytes: an owned byte buffer for key material, wiped with OPENSSL_cleanse when destroyed
// or overwritten. Move-only so that key bytes are not copied around by accident.
//
// Thread safety: like std::string (const methods may be called concurrently).

#include <openssl/crypto.h>

#include <cstddef>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>

namespace cdp {

class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(size_t size) : bytes_(size, '\0') {}
  explicit SecureBytes(absl::string_view bytes) : bytes_(bytes) {}
  ~SecureBytes() { Wipe(); }

  SecureBytes(SecureBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.Wipe(); }
  SecureBytes& operator=(SecureBytes&& other) noexcept {
    if (this != &other) {
      Wipe();
      bytes_ = std::move(other.bytes_);
      other.Wipe();
    }
    return *this;
  }
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  // An explicit copy, for the few places (caches) that must hold a second copy.
  SecureBytes Clone() const { return SecureBytes(view()); }

  absl::string_view view() const { return bytes_; }
  const unsigned char* data() const {
    return reinterpret_cast<const unsigned char*>(bytes_.data());
  }
  unsigned char* mutable_data() { return reinterpret_cast<unsigned char*>(bytes_.data()); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

 private:
  void Wipe() {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
    bytes_.clear();
  }

  std::string bytes_;
};

}  // namespace cdp
