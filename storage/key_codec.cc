#include "storage/key_codec.h"

#include "absl/strings/str_cat.h"
#include "common/big_endian.h"

namespace cdp::storage {

std::string ProfileKey(const ProfileId& profile) { return std::string(profile.bytes()); }

std::string ProfileRecordKey(const ProfileId& profile, int64_t time_micros, uint64_t seq) {
  std::string key;
  key.reserve(kProfileRecordKeySize);
  absl::StrAppend(&key, profile.bytes());
  PutOrderedInt64(&key, time_micros);
  PutBigEndian64(&key, seq);
  return key;
}

std::string ProfileChildKey(const ProfileId& profile, absl::string_view suffix) {
  std::string key;
  key.reserve(ProfileId::kSize + suffix.size());
  absl::StrAppend(&key, profile.bytes());
  absl::StrAppend(&key, suffix);
  return key;
}

std::string SequenceKey(uint64_t seq) {
  std::string key;
  PutBigEndian64(&key, seq);
  return key;
}

std::string DigestKey(const crypto::Digest& digest) {
  return std::string(crypto::AsStringView(digest));
}

absl::StatusOr<ProfileRecordKeyParts> ParseProfileRecordKey(absl::string_view key) {
  if (key.size() != kProfileRecordKeySize) {
    return absl::InvalidArgumentError("not a profile record key: wrong size");
  }
  ProfileRecordKeyParts parts;
  parts.profile = ProfileId::FromBytes(key.substr(0, ProfileId::kSize)).value();
  parts.time_micros = GetOrderedInt64(key.substr(ProfileId::kSize, 8));
  parts.seq = GetBigEndian64(key.substr(ProfileId::kSize + 8, 8));
  return parts;
}

absl::StatusOr<ProfileId> ParseProfilePrefix(absl::string_view key) {
  if (key.size() < ProfileId::kSize) {
    return absl::InvalidArgumentError("key is shorter than a profile id");
  }
  return ProfileId::FromBytes(key.substr(0, ProfileId::kSize));
}

absl::StatusOr<uint64_t> ParseSequenceKey(absl::string_view key) {
  if (key.size() != 8) return absl::InvalidArgumentError("not a sequence key: wrong size");
  return GetBigEndian64(key);
}

std::string PrefixSuccessor(absl::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(out.back());
    if (last != 0xff) {
      ++last;
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace cdp::storage
