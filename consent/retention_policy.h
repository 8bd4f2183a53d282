#pragma once
// The retention policy of RetentionOptions, plugged into storage's retention hook: consulted on
// every read (expired records are never returned) and by the compaction filter (expired records
// leave the files). It decides from the plaintext envelope header alone.
//
//   events          by name, else by type, else events_ttl; clock = event time
//   dedup entries   dedup_window; clock = first delivery
//   audit entries   audit_ttl
//   conversations   at their own expiry, which is their envelope time (record_category.h)
// Traits expire one by one on read (their times are inside the sealed record: see TraitExpired),
// and inactive profiles are erased by the sweep, never silently dropped by compaction.
//
// Thread safety: immutable after construction; safe for concurrent use.

#include <array>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "consent/consent_options.h"
#include "storage/retention_hook.h"

namespace cdp::consent {

class RetentionPolicy final : public storage::RetentionPolicy {
 public:
  // REQUIRES: options validated.
  explicit RetentionPolicy(const RetentionOptions& options);

  bool IsExpired(storage::Family family, const storage::RecordMeta& meta,
                 int64_t now_micros) const override;

  // The TTL that applies to an event category, if any.
  std::optional<int64_t> EventTtlSeconds(uint32_t category) const;
  // Whether a trait last set at `set_micros` has expired.
  bool TraitExpired(int64_t set_micros, int64_t now_micros) const;
  // Whether a profile last active at `last_active_micros` is past the inactive-profile TTL.
  bool ProfileInactive(int64_t last_active_micros, int64_t now_micros) const;

 private:
  std::optional<int64_t> events_ttl_;
  std::array<std::optional<int64_t>, 8> type_ttl_;
  absl::flat_hash_map<uint32_t, int64_t> name_ttl_;  // by EventNameDigest
  std::optional<int64_t> traits_ttl_;
  std::optional<int64_t> inactive_ttl_;
  int64_t dedup_window_;
  std::optional<int64_t> audit_ttl_;
};

}  // namespace cdp::consent
