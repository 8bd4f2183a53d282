#include "consent/audit_head.h"

#include "absl/strings/str_cat.h"
#include "common/big_endian.h"
#include "common/status_macros.h"

namespace cdp::consent {
namespace {

constexpr char kVersion = 1;
constexpr absl::string_view kMacDomain = "cdp.audit.head.v1";
constexpr absl::string_view kKeyPurpose = "audit-head.v1";
// version | seq | time | hash, then the MAC.
constexpr size_t kSignedSize = 1 + 8 + 8 + crypto::kSha256Size;
constexpr size_t kEncodedSize = kSignedSize + crypto::kSha256Size;

}  // namespace

AuditHead::AuditHead(storage::Store* store)
    : store_(store), mac_(store->DeriveKey(kKeyPurpose)) {}

crypto::Digest AuditHead::Mac(absl::string_view signed_part) const {
  return mac_.Mac({kMacDomain, signed_part});
}

std::string AuditHead::Encode(const AuditHeadState& state) const {
  std::string out;
  out.reserve(kEncodedSize);
  out.push_back(kVersion);
  PutBigEndian64(&out, state.seq);
  PutOrderedInt64(&out, state.time_micros);
  absl::StrAppend(&out, state.hash);
  const crypto::Digest mac = Mac(out);
  absl::StrAppend(&out, crypto::AsStringView(mac));
  return out;
}

void AuditHead::Put(storage::WriteBatch& batch, const AuditHeadState& state) const {
  batch.PutMeta(kMetaName, Encode(state));
}

absl::StatusOr<std::optional<AuditHeadState>> AuditHead::Read(
    const storage::Snapshot* snapshot) const {
  CDP_ASSIGN_OR_RETURN(std::optional<std::string> stored, store_->GetMeta(kMetaName, snapshot));
  if (!stored) return std::nullopt;
  const absl::string_view value = *stored;
  if (value.size() != kEncodedSize || value[0] != kVersion) {
    return absl::DataLossError("signed audit head is malformed (altered)");
  }
  const absl::string_view signed_part = value.substr(0, kSignedSize);
  const crypto::Digest expected = Mac(signed_part);
  if (!crypto::ConstantTimeEquals(value.substr(kSignedSize), crypto::AsStringView(expected))) {
    return absl::DataLossError(
        "signed audit head does not authenticate (altered, forged, or written under another key "
        "file)");
  }
  AuditHeadState state;
  state.seq = GetBigEndian64(signed_part.substr(1, 8));
  state.time_micros = GetOrderedInt64(signed_part.substr(9, 8));
  state.hash = std::string(signed_part.substr(17, crypto::kSha256Size));
  return state;
}

}  // namespace cdp::consent
