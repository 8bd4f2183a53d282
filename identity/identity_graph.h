#pragma once
// IdentityGraph: resolves the identifiers of incoming events to profiles, merging profiles under
// the rules of IdentityOptions, logging every merge, and splitting a profile again (unmerge).
//
// Resolution of a batch (DESIGN.md "Identity resolution", steps 3-5), per event in order:
//   1. an event naming a suppressed identifier (an erased person) is not resolved: kSuppressed.
//      Only identifiers without an index entry are looked up on the suppression list: an indexed
//      identifier is never suppressed, since erasure deletes the index entries of the
//      identifiers it suppresses in the same batch and resolution never indexes a suppressed one;
//   2. every identifier is matched through the blind index to a profile (in-batch changes first).
//      An index entry always names a profile that has an identity node (resolution, unmerge and
//      erasure write or delete both in one batch, and an erasure cut short is completed at
//      start), so an event whose identifiers are all indexed to one profile resolves to it
//      without reading its node when it carries one identifier or a set that the node records
//      and the set's anchor lists (internal::IndexEntry::observations): it changes nothing;
//   3. if linking all matched profiles and the new identifiers would give one profile more values
//      of a type than its limit, the event's lowest-priority identifier is dropped and matching
//      starts again; an identifier marked no-bridge by an unmerge never links two profiles;
//   4. no match: a new profile. Matches: the smaller profiles (by the events they hold, as
//      MergeHook::EventCounts tells or counted in the store, up to kMaxCountedEvents; then the
//      younger) are merged into the largest, unless the survivor's merge cap or identifier cap is
//      reached, in which case the event goes to the profile of its highest-priority matched
//      identifier and the cap hit is counted.
// Materialization then writes, into the caller's WriteBatch: identity nodes that changed (an event
// that brings nothing new to a profile's identity leaves its node as it is), the blind index,
// redirects from merged-away ids, merge log entries, the merged-away profiles' records re-keyed
// (and so re-sealed) under the survivor, their data keys destroyed, and data keys of new profiles.
//
// Concurrency: a single sequencing writer. Every method that writes REQUIRES the store's
// profile_writer_mutex(), held until the caller has written the batch, so batches apply one
// after another and two events racing on overlapping identifiers end as if applied in order.
// Lookups take no lock and read committed data.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/profile_id.h"
#include "identity/identifier.h"
#include "identity/identity_options.h"
#include "storage/store.h"

namespace cdp::identity {

// The identity part of one incoming event. Identifiers are already normalized (Normalizer).
struct EventIdentity {
  std::string message_id;
  int64_t time_micros = 0;
  std::vector<Identifier> identifiers;
};

struct Resolution {
  enum class Outcome {
    kResolved,       // profile is set
    kSuppressed,     // an identifier belongs to an erased person; nothing was linked
    kNoIdentifiers,  // the event carried no usable identifier
  };
  Outcome outcome = Outcome::kResolved;
  ProfileId profile;          // the final profile after the whole batch
  bool created = false;       // the profile was created by this event
  bool cap_hit = false;       // a merge or identifier cap stopped linking
  uint32_t merged = 0;        // profiles merged away by this event
  // Identifiers dropped by the limit rule (not linked to the profile), by type.
  std::vector<std::string> dropped_types;
};

// A profile that came out of an unmerge (see MergeHook::OnUnmerge).
struct UnmergedPart {
  ProfileId profile;
  bool is_original = false;  // it keeps the unmerged profile's id
  // The identifiers it holds after the split (the removed one is in a part of its own).
  std::vector<Identifier> identifiers;
  // The stored events it holds after the split, oldest first, as read from the events family
  // (values are event envelopes). Valid during the hook call only.
  std::vector<const storage::Record*> events;
};

// Lets upper layers (traits, consent) keep their own records of a profile in step with its
// identity when profiles merge or split.
class MergeHook {
 public:
  virtual ~MergeHook() = default;
  // Called during materialization for every profile that absorbed others in the batch. Reads see
  // committed data: the survivor's and the absorbed profiles' records as they were before the
  // batch.
  virtual absl::Status OnMerge(const ProfileId& survivor, absl::Span<const ProfileId> absorbed,
                               storage::WriteBatch& batch) = 0;
  // Called at the end of Unmerge, inside its batch, with every part of the split (the original
  // first) and the events each now holds; the new parts' data keys exist in the batch. Reads see
  // committed data: the original profile as it was before the split.
  virtual absl::Status OnUnmerge(absl::Span<const UnmergedPart> parts,
                                 storage::WriteBatch& batch) {
    return absl::OkStatus();
  }
  // Optional, called during resolution: how many events each of `profiles` holds, by a count the
  // layer that stores them keeps (committed data, as OnMerge reads it), or nullopt for a profile
  // it has no count of. A merge compares profiles by this to choose its survivor; the graph
  // counts the stored events of the profiles no hook knows, which costs a scan of their keys.
  virtual absl::StatusOr<std::vector<std::optional<uint64_t>>> EventCounts(
      absl::Span<const ProfileId> profiles) {
    return std::vector<std::optional<uint64_t>>(profiles.size());
  }
};

// Profiles are compared by the events they hold when a merge chooses its survivor (as a merge
// hook counts them, else counted in the store), up to this many: beyond it they compare as equal
// and the older survives. Bounds the count's scan.
inline constexpr uint64_t kMaxCountedEvents = 10'000;

struct ProfileIdentity {
  ProfileId profile;
  std::vector<Identifier> identifiers;
  std::vector<ProfileId> merged_from;
  uint32_t merge_count = 0;
  int64_t created_micros = 0;
  int64_t updated_micros = 0;  // the last change of identifiers or merges
};

struct MergeRecord {
  enum class Kind { kMerge, kUnmerge };
  Kind kind = Kind::kMerge;
  int64_t time_micros = 0;
  std::string message_id;
  ProfileId survivor;
  std::vector<ProfileId> absorbed;
  std::vector<Identifier> bridging;
  std::vector<ProfileId> split_into;
  std::optional<Identifier> removed;
  std::string actor;
  std::string reason;
};

struct UnmergeReport {
  ProfileId original;
  // Every profile that came out of the split (the original first), with its share.
  struct Part {
    ProfileId profile;
    uint32_t identifiers = 0;
    uint64_t events = 0;
  };
  std::vector<Part> parts;
};

struct IdentityCounters {
  uint64_t created = 0;
  uint64_t merges = 0;
  uint64_t cap_hits = 0;
  uint64_t dropped_by_limit = 0;
  uint64_t suppressed = 0;
};

class IdentityGraph {
 public:
  // kInvalidArgument when options do not validate. `store` and `clock` must outlive the graph.
  static absl::StatusOr<std::unique_ptr<IdentityGraph>> Create(storage::Store* store,
                                                               const IdentityOptions& options,
                                                               Clock* clock = nullptr);
  ~IdentityGraph();

  // Hooks run in registration order during materialization. Register before the first Resolve.
  void AddMergeHook(MergeHook* hook) { hooks_.push_back(hook); }

  // Resolves `events` in order and adds the identity writes to `batch` (see the header comment).
  // The caller adds its own records for the returned profiles, then writes the batch.
  // REQUIRES: store->profile_writer_mutex() held until the batch is written.
  absl::StatusOr<std::vector<Resolution>> Resolve(absl::Span<const EventIdentity> events,
                                                  storage::WriteBatch& batch);

  // Splits `profile`: `wrong` is taken off it and marked no-bridge; the remaining identifiers
  // form the connected components of what events saw together; each component becomes a profile
  // (the one with most events keeps the id) and takes the events whose identifiers it holds;
  // `wrong` keeps the events that carried nothing else; then the merge hooks' OnUnmerge splits
  // the upper layers' records. kNotFound when the profile does not hold `wrong`.
  // REQUIRES: store->profile_writer_mutex() held until the batch is written.
  absl::StatusOr<UnmergeReport> Unmerge(const ProfileId& profile, const Identifier& wrong,
                                        absl::string_view actor, absl::string_view reason,
                                        storage::WriteBatch& batch);

  // The current profile holding `identifier`, following merge redirects; nullopt if none.
  absl::StatusOr<std::optional<ProfileId>> FindProfile(const Identifier& identifier);
  // The current id of `profile`, following merge redirects; nullopt if it does not exist.
  absl::StatusOr<std::optional<ProfileId>> CurrentProfile(const ProfileId& profile);
  // The identity of `profile` after following merge redirects; nullopt if it does not exist.
  // Reads from `snapshot` when given (the caller reads the profile's other records from the same
  // snapshot): the identity node, and only when there is none the redirects and then the node they
  // lead to (a profile with a node has no redirect: a merge deletes the absorbed node in the batch
  // that writes its redirect, and unmerge and new profiles take fresh ids).
  absl::StatusOr<std::optional<ProfileIdentity>> GetIdentity(
      const ProfileId& profile, const storage::Snapshot* snapshot = nullptr);
  // The profile the blind index names for `identifier`, nullopt if none (before following
  // redirects). Without a snapshot, a read of the latest committed index from the store's
  // in-memory copy when it has one (no database read); a snapshot read goes to the database. The
  // lookup path: IndexedProfile without a snapshot, then a snapshot, then GetIdentity on it:
  // everything the index named was committed before that snapshot, and a profile merged away
  // since is followed to its survivor. If the identity found there no longer holds the
  // identifier (an unmerge or erasure moved it in between), the index is read again at the
  // snapshot.
  absl::StatusOr<std::optional<ProfileId>> IndexedProfile(
      const Identifier& identifier, const storage::Snapshot* snapshot = nullptr);
  // The profile's merge log, oldest first.
  absl::StatusOr<std::vector<MergeRecord>> MergeHistory(const ProfileId& profile);

  IdentityCounters counters() const;

  // The key of an event in the events family: profile | time | a 64-bit digest of message_id.
  std::string EventKey(const ProfileId& profile, int64_t time_micros,
                       absl::string_view message_id) const;
  // The same from the blind-index hash of ("message_id", message_id), for callers that have it.
  static std::string EventKey(const ProfileId& profile, int64_t time_micros,
                              const crypto::Digest& message_id_hash);
  // The first bytes of the message id's blind-index hash that end an event key: also the first
  // bytes of the event's dedup key (storage::DigestKey of that hash), so the dedup entries of a
  // profile's events can be found from event keys alone, without opening the events.
  // kInvalidArgument when `event_key` is not an event key.
  static absl::StatusOr<absl::string_view> MessageIdHashPrefix(absl::string_view event_key);

 private:
  class Batch;  // the state of one Resolve call (identity_resolve.cc)
  friend class Batch;
  IdentityGraph(storage::Store* store, IdentityOptions options, Clock* clock);
  // Follows the redirects from `profile` to the id that has none.
  absl::StatusOr<ProfileId> FollowRedirects(const ProfileId& profile,
                                            const storage::Snapshot* snapshot);
  storage::Store* store_;
  const IdentityOptions options_;
  Clock* clock_;
  std::vector<std::string> priority_;  // effective priority order
  std::vector<MergeHook*> hooks_;
  mutable absl::Mutex counters_mu_;
  IdentityCounters counters_ ABSL_GUARDED_BY(counters_mu_);
};

}  // namespace cdp::identity
