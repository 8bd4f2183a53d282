#include "consent/retention_policy.h"

#include "consent/record_category.h"

namespace cdp::consent {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;

bool Older(int64_t time_micros, std::optional<int64_t> ttl_seconds, int64_t now_micros) {
  return ttl_seconds && time_micros < now_micros - *ttl_seconds * kMicrosPerSecond;
}

}  // namespace

RetentionPolicy::RetentionPolicy(const RetentionOptions& options)
    : events_ttl_(options.events_ttl_seconds),
      traits_ttl_(options.traits_ttl_seconds),
      inactive_ttl_(options.inactive_profile_ttl_seconds),
      dedup_window_(options.dedup_window_seconds),
      audit_ttl_(options.audit_ttl_seconds) {
  for (const auto& [type, ttl] : options.event_type_ttl_seconds) {
    type_ttl_[EventTypeCode(type)] = ttl;
  }
  for (const auto& [name, ttl] : options.event_name_ttl_seconds) {
    name_ttl_[EventNameDigest(name)] = ttl;
  }
}

std::optional<int64_t> RetentionPolicy::EventTtlSeconds(uint32_t category) const {
  if (!IsEventCategory(category)) return events_ttl_;
  if (auto it = name_ttl_.find(EventNameBits(category)); it != name_ttl_.end()) return it->second;
  if (const auto& ttl = type_ttl_[EventTypeBits(category)]) return ttl;
  return events_ttl_;
}

bool RetentionPolicy::IsExpired(storage::Family family, const storage::RecordMeta& meta,
                                int64_t now_micros) const {
  switch (family) {
    case storage::Family::kEvents:
      return Older(meta.time_micros, EventTtlSeconds(meta.category), now_micros);
    case storage::Family::kDedup:
      return Older(meta.time_micros, dedup_window_, now_micros);
    case storage::Family::kAudit:
      return Older(meta.time_micros, audit_ttl_, now_micros);
    case storage::Family::kConversations:
      return meta.category == kCategoryConversation &&
             ConversationExpired(meta.time_micros, now_micros);
    default:
      return false;
  }
}

bool RetentionPolicy::TraitExpired(int64_t set_micros, int64_t now_micros) const {
  return Older(set_micros, traits_ttl_, now_micros);
}

bool RetentionPolicy::ProfileInactive(int64_t last_active_micros, int64_t now_micros) const {
  return Older(last_active_micros, inactive_ttl_, now_micros);
}

}  // namespace cdp::consent
