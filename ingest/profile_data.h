#pragma once
// Traits and computed facts of a profile, kept current on every event: traits merged per trait by
// event time (the latest update wins, with its source), first and last seen, counts per event,
// channels and groups. Stored sealed under profile id | 0x02 in the profiles family.
//
// Thread safety: plain functions over a value owned by the caller.

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

// Sets each trait whose stored value is older than `time_micros` (or absent).
void ApplyTraits(const std::map<std::string, std::string>& traits, int64_t time_micros,
                 const std::string& message_id, pb::ProfileData* data);

// Updates first/last seen, per-event counts, channels and groups for one stored event.
void RecordEvent(const ParsedEvent& event, pb::ProfileData* data);

// Folds `from` into `into`: per trait the later wins; counts add up; seen times widen.
void CombineProfileData(const pb::ProfileData& from, pb::ProfileData* into);

// The profile data that `events` (stored event records, oldest first, as in the events family)
// make when applied in order: traits and facts rebuilt from the events alone, as an unmerge
// gives each part. Traits whose events are gone (expired) are not recovered. `codec` opens
// compressed event JSON. kDataLoss when a record is not a stored event.
absl::StatusOr<pb::ProfileData> RebuildProfileData(const storage::DictionaryCodec& codec,
                                                   absl::Span<const storage::Record* const> events);

}  // namespace cdp::ingest
