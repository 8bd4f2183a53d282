#pragma once
// The retention categories written into every record's envelope (storage::RecordMeta.category),
// shared by the writers (ingest) and the retention policy. Values are persisted: never renumber.
//
// Event categories carry the event type and a digest of the event name, so that the retention
// policy can apply per-type and per-name TTLs from the plaintext header alone:
//   bit 31 = 1 | bits 28-30 = type (identify 0, track 1, page 2, screen 3, group 4, alias 5,
//   other 7) | bits 0-27 = first 28 bits of SHA-256(name)

#include <cstdint>

#include "absl/strings/string_view.h"

namespace cdp::consent {

inline constexpr uint32_t kCategoryNone = 0;
inline constexpr uint32_t kCategoryProfileData = 1;  // traits and computed facts
inline constexpr uint32_t kCategoryIdentity = 2;     // identity node, index, merge log
inline constexpr uint32_t kCategoryConsent = 3;      // consent ledger entries
// Conversation state. Unlike other records, its envelope time is the conversation's expiry (not
// its write time), so retention needs no TTL option: see ConversationExpired.
inline constexpr uint32_t kCategoryConversation = 4;
inline constexpr uint32_t kCategoryDedup = 5;        // messageId dedup entries
inline constexpr uint32_t kCategoryAudit = 6;

// Whether a conversation that expires at `expires_micros` has expired at `now_micros`: the one
// rule shared by the retention policy and the conversation reads.
inline bool ConversationExpired(int64_t expires_micros, int64_t now_micros) {
  return expires_micros <= now_micros;
}

uint32_t EventCategory(absl::string_view type, absl::string_view name);
inline bool IsEventCategory(uint32_t category) { return (category >> 31) != 0; }
inline uint32_t EventTypeBits(uint32_t category) { return (category >> 28) & 0x7; }
inline uint32_t EventNameBits(uint32_t category) { return category & 0x0fffffff; }
uint32_t EventTypeCode(absl::string_view type);
uint32_t EventNameDigest(absl::string_view name);

}  // namespace cdp::consent
