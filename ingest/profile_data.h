#pragma once
// Traits and computed facts of a profile, kept current on every event: traits merged per trait by
// event time (the latest update wins, with its source), first and last seen, counts per event,
// channels and groups. Stored sealed under profile id | 0x02 in the profiles family.
//
// Thread safety: plain functions over a value owned by the caller.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/profile_id.h"
#include "ingest/ingest.pb.h"
#include "ingest/parsed_event.h"
#include "storage/store.h"

namespace cdp::ingest {

// profile id | 0x02
std::string ProfileDataKey(const ProfileId& profile);

// "Order Completed" for track, "page:Home", "screen:Cart", "identify", "group", "alias".
std::string EventKeyName(EventType type, const std::string& name);

// Caps on what one profile's data holds, so that a feed with ever-new names (a trait or an
// event name carrying an order number, say) cannot grow a profile, and the cost of every event
// that rewrites it, without bound. A name already held is always updated; a new name past its
// cap is not kept (the event itself is stored and counted in total_events as always).
struct ProfileDataLimits {
  size_t max_traits = 1000;       // distinct trait names
  size_t max_event_names = 1000;  // distinct event keys (EventKeyName) with counts of their own
  size_t max_groups = 1000;       // group ids from group calls
};

// What the limits kept out, added up over calls.
struct ProfileDataDrops {
  uint64_t traits = 0, event_names = 0, groups = 0;
  bool any() const { return traits + event_names + groups > 0; }
};

// Sets each trait whose stored value is older than `time_micros` (or absent).
void ApplyTraits(const std::map<std::string, std::string>& traits, int64_t time_micros,
                 const std::string& message_id, const ProfileDataLimits& limits,
                 pb::ProfileData* data, ProfileDataDrops* drops);

// Updates first/last seen, per-event counts, channels and groups for one stored event.
void RecordEvent(const ParsedEvent& event, const ProfileDataLimits& limits, pb::ProfileData* data,
                 ProfileDataDrops* drops);

// Folds `from` into `into`: per trait the later wins; counts add up; seen times widen. Names new
// to `into` past its limits are not kept.
void CombineProfileData(const pb::ProfileData& from, const ProfileDataLimits& limits,
                        pb::ProfileData* into, ProfileDataDrops* drops);

// The profile data that `events` (stored event records, oldest first, as in the events family)
// make when applied in order: traits and facts rebuilt from the events alone, as an unmerge
// gives each part. Traits whose events are gone (expired) are not recovered. `codec` opens
// compressed event JSON. kDataLoss when a record is not a stored event.
absl::StatusOr<pb::ProfileData> RebuildProfileData(const storage::DictionaryCodec& codec,
                                                   absl::Span<const storage::Record* const> events,
                                                   const ProfileDataLimits& limits = {});

}  // namespace cdp::ingest
