#pragma once
// Binary key layouts. Every integer is big-endian (signed ones with the sign bit flipped) so that
// RocksDB's bytewise order is the numeric order: the events of one profile sort by time, and
// "last N events" is one reverse scan of the profile's prefix.
//
//   profile key          = profile id (16)
//   profile record key   = profile id (16) | time micros (8, ordered int64) | seq (8)
//   profile child key    = profile id (16) | suffix (any bytes)
//   sequence key         = seq (8)
//   digest key           = 32-byte hash (blind index, message id)

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "common/crypto.h"
#include "common/profile_id.h"

namespace cdp::storage {

inline constexpr size_t kProfileRecordKeySize = ProfileId::kSize + 8 + 8;

std::string ProfileKey(const ProfileId& profile);
std::string ProfileRecordKey(const ProfileId& profile, int64_t time_micros, uint64_t seq);
std::string ProfileChildKey(const ProfileId& profile, absl::string_view suffix);
std::string SequenceKey(uint64_t seq);
std::string DigestKey(const crypto::Digest& digest);

struct ProfileRecordKeyParts {
  ProfileId profile;
  int64_t time_micros = 0;
  uint64_t seq = 0;
};

// kInvalidArgument when `key` is not a profile record key.
absl::StatusOr<ProfileRecordKeyParts> ParseProfileRecordKey(absl::string_view key);
// The profile id that starts a profile-prefixed key; kInvalidArgument when too short.
absl::StatusOr<ProfileId> ParseProfilePrefix(absl::string_view key);
// kInvalidArgument when `key` is not a sequence key.
absl::StatusOr<uint64_t> ParseSequenceKey(absl::string_view key);

// The smallest key greater than every key that starts with `prefix`; empty when there is none
// (the prefix is all 0xff bytes), meaning "no upper bound".
std::string PrefixSuccessor(absl::string_view prefix);

}  // namespace cdp::storage
