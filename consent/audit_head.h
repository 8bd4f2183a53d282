#pragma once
// AuditHead: the signed record of the audit chain's newest entry (sequence number, hash, time).
//
// Why: a hash chain proves that the entries it holds belong together, not that nothing came after
// the last of them. Deleting the newest entries (truncation) leaves a shorter chain that still
// verifies. The head names the entry the chain must end with, and only the holder of the key file
// can write a head that authenticates, so truncating the chain (or deleting the head, or writing
// an old head back over a newer one) is caught by AuditLog::Verify.
//
// Storage: one meta record of the store (storage::WriteBatch::PutMeta, name kMetaName), written in
// the same WriteBatch as the entry it names, so chain and head change atomically.
// Value: version (1) | seq (8, big-endian) | time (8, ordered) | hash (32) | mac (32), where
//   mac = HMAC-SHA256(key, "cdp.audit.head.v1" | version | seq | time | hash)
// and key = Store::DeriveKey("audit-head.v1"): derived from the key file's index key, so no new key
// file is needed and key rotation (KEKs) leaves heads valid. The head holds no personal data.
//
// Limits: whoever holds the key file can forge a head. An old head copied back over a newer one
// is caught only when entries after it remain; a head missing over a non-empty chain is reported,
// but cannot tell a deletion from a log written before signed heads existed.
//
// Thread safety: immutable after construction, safe for concurrent use.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"
#include "storage/store.h"

namespace cdp::consent {

struct AuditHeadState {
  uint64_t seq = 0;          // the newest entry's sequence number
  int64_t time_micros = 0;   // its time
  std::string hash;          // its hash (32 bytes)
};

class AuditHead {
 public:
  // The meta record that holds the head.
  static constexpr absl::string_view kMetaName = "audit_head";

  // Derives the signing key from `store`, which must outlive this object.
  explicit AuditHead(storage::Store* store);

  // Adds the signed head naming `state` to `batch`. REQUIRES: state.hash is 32 bytes.
  void Put(storage::WriteBatch& batch, const AuditHeadState& state) const;

  // The stored head as of `snapshot` (null = latest); nullopt when there is none. kDataLoss when
  // the record is malformed or does not authenticate (altered, forged, or from another key file);
  // other codes when the store cannot be read.
  absl::StatusOr<std::optional<AuditHeadState>> Read(
      const storage::Snapshot* snapshot = nullptr) const;

 private:
  std::string Encode(const AuditHeadState& state) const;
  crypto::Digest Mac(absl::string_view signed_part) const;

  storage::Store* store_;
  crypto::HmacSha256 mac_;
};

}  // namespace cdp::consent
