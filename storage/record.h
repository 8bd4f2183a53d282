#pragma once
// What the store keeps with every value, and the envelope it is written in.
//
// Every value in a data family is an envelope:
//   format (1) | category (4, big-endian) | time micros (8, ordered int64) | body
// where body is the plaintext (format kPlain) or nonce | AES-256-GCM ciphertext | tag (format
// kSealed). The 13-byte header stays readable so that the retention compaction filter can expire
// records without holding data keys; it is part of the associated data, so it cannot be altered.

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace cdp::storage {

// Retention metadata of a record, chosen by the layer that writes it.
struct RecordMeta {
  // Opaque to storage; the retention policy maps it to a TTL. 0 means "no category".
  uint32_t category = 0;
  // The record's retention clock: event time for events, write time for most others.
  int64_t time_micros = 0;

  bool operator==(const RecordMeta&) const = default;
};

// A value read back from the store, already opened when its family is sealed.
struct Record {
  RecordMeta meta;
  std::string value;

  bool operator==(const Record&) const = default;
};

namespace envelope {

inline constexpr size_t kHeaderSize = 13;
enum class Format : uint8_t { kPlain = 1, kSealed = 2 };

void AppendHeader(Format format, const RecordMeta& meta, std::string* out);

struct Parsed {
  Format format;
  RecordMeta meta;
  absl::string_view header;  // the 13 header bytes, for associated data
  absl::string_view body;
};

// kDataLoss when `value` is not a well-formed envelope.
absl::StatusOr<Parsed> Parse(absl::string_view value);

}  // namespace envelope
}  // namespace cdp::storage
