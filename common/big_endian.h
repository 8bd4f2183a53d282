#pragma once
// Big-endian fixed-width integer encoding, so that binary keys sort like the numbers they hold.
// Signed values are stored with the sign bit flipped, which keeps negative before positive.

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

namespace cdp {

inline void PutBigEndian64(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(buf, 8);
}

inline void PutBigEndian32(std::string* out, uint32_t v) {
  char buf[4];
  for (int i = 3; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(buf, 4);
}

// REQUIRES: in.size() >= 8.
inline uint64_t GetBigEndian64(absl::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

// REQUIRES: in.size() >= 4.
inline uint32_t GetBigEndian32(absl::string_view in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

inline void PutOrderedInt64(std::string* out, int64_t v) {
  PutBigEndian64(out, static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
}

// REQUIRES: in.size() >= 8.
inline int64_t GetOrderedInt64(absl::string_view in) {
  return static_cast<int64_t>(GetBigEndian64(in) ^ (uint64_t{1} << 63));
}

}  // namespace cdp
