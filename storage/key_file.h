#pragma once
// The key file: the root secrets of a store, kept outside the database.
//
//   # comment lines
//   cdp-keys 1
//   index <64 hex digits>          blind-index HMAC key
//   kek <version> <64 hex digits>  key-encryption key; the highest version is the active one
//
// The file is created with mode 0600 and replaced atomically (write, fsync, rename, fsync of the
// directory). Errors never quote key bytes.
//
// Thread safety: the functions are stateless; callers serialize writes to one path.

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "common/secure_bytes.h"

namespace cdp::storage {

struct KeyMaterial {
  SecureBytes index_key;
  std::map<uint32_t, SecureBytes> keks;  // version -> 32-byte key-encryption key

  // REQUIRES: !keks.empty().
  uint32_t active_kek_version() const { return keks.rbegin()->first; }
};

// A short, non-secret identifier of a key (HMAC of a fixed label), stored in the database to tell
// at open whether the key file is the one the data was written with.
std::string KeyFingerprint(const SecureBytes& key);

class KeyFile {
 public:
  // kNotFound when the file does not exist; kFailedPrecondition when group or others may read
  // it; kInvalidArgument (with the line number) when it is malformed.
  static absl::StatusOr<KeyMaterial> Load(const std::string& path);

  // Creates a file with a fresh random index key and KEK version 1.
  // kAlreadyExists when the path exists; kInternal/kResourceExhausted on I/O failure.
  static absl::StatusOr<KeyMaterial> Create(const std::string& path);

  // Atomically replaces the file with `material`.
  static absl::Status Save(const std::string& path, const KeyMaterial& material);
};

}  // namespace cdp::storage
