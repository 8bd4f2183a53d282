#pragma once
// Internal to identity/: the state of one IdentityGraph::Resolve call, shared by its planning
// (identity_resolve.cc: matching, the rules, merges in memory) and its materialization
// (identity_materialize.cc: the writes into the caller's WriteBatch).
//
// Thread safety: a Batch belongs to one Resolve call, under the profile writer mutex.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "identity/identity_graph.h"
#include "identity/profile_node.h"

namespace cdp::identity {
namespace internal {

// A merge planned by the batch, logged when the batch materializes.
struct PendingMerge {
  ProfileId survivor;
  std::vector<ProfileId> absorbed;
  std::vector<Identifier> bridging;
  std::string message_id;
  int64_t time_micros = 0;
};

}  // namespace internal

class IdentityGraph::Batch {
 public:
  using IndexEntry = internal::IndexEntry;
  using Node = internal::Node;
  using PendingMerge = internal::PendingMerge;

  struct Candidate {
    Identifier id;
    crypto::Digest hash;
    size_t priority;
  };

  Batch(IdentityGraph* graph, storage::WriteBatch* batch) : g_(graph), batch_(batch) {}

  // The event's identifiers of configured types, without repeats, with their blind-index hashes.
  std::vector<Candidate> Candidates(const EventIdentity& event) const;
  // Reads, in one MultiGet per family, the index entries of every candidate, the suppression
  // entries of those without one (see IdentityGraph's header) and the identity nodes the entries
  // name, so ResolveOne finds them cached.
  absl::Status Prefetch(absl::Span<const std::vector<Candidate>> candidates);
  // Counts, with one iterator, the stored events of every profile that an event of the batch
  // matches together with another (the merges the batch will likely make need their sizes), so
  // Size finds them counted.
  absl::Status CountEventsOfLikelyMerges(absl::Span<const std::vector<Candidate>> candidates);
  absl::StatusOr<Resolution> ResolveOne(const EventIdentity& event,
                                        std::vector<Candidate> candidates);
  // The profile of an event that resolves from the index alone, without reading or changing a
  // node: its identifiers are all indexed to one profile and are one identifier, or a set the
  // anchor's index entry lists as recorded (IndexEntry::observations). nullopt otherwise. An
  // index entry always names a profile with a node (see IdentityGraph's header).
  absl::StatusOr<std::optional<ProfileId>> ResolvedByIndex(
      const std::vector<Candidate>& candidates);
  absl::Status Materialize();
  ProfileId Find(ProfileId id) const {
    for (auto it = redirect_.find(id); it != redirect_.end(); it = redirect_.find(id)) {
      id = it->second;
    }
    return id;
  }
  IdentityCounters counters;

 private:
  // The batch's view of the index entry of `hash` (nullopt: none), read on first use. The
  // pointer is valid until the batch next adds or changes an entry.
  absl::StatusOr<const std::optional<IndexEntry>*> Lookup(const crypto::Digest& hash);
  absl::StatusOr<Node*> LoadNode(const ProfileId& id);
  absl::StatusOr<bool> IsSuppressed(const crypto::Digest& hash);
  // The profile's size for choosing a merge's survivor: the events it holds (CountEvents), plus
  // those resolved to it earlier in the batch and the sizes of the profiles it absorbed in the
  // batch.
  absl::StatusOr<uint64_t> Size(const ProfileId& id);
  // Records in stored_events_ how many events each of `ids` (none new in the batch) holds: as the
  // merge hooks count them, else counted in the store up to kMaxCountedEvents.
  absl::Status CountEvents(std::vector<ProfileId> ids);
  absl::StatusOr<Node*> NewNode(int64_t now);
  void Point(const crypto::Digest& hash, const ProfileId& profile, bool no_bridge = false);
  bool BreaksLimit(const std::vector<Node*>& profiles,
                   const std::vector<const Candidate*>& unmatched) const;
  // The member of an identifier set whose index entry lists the set's hash (IndexEntry): the
  // one of highest priority, ties broken by blind-index hash.
  static const Candidate* Anchor(absl::Span<const Candidate* const> members);
  static uint64_t HashOf(absl::Span<const Candidate* const> members);
  // Lists the set `members` (two or more, recorded by `profile`'s node) in its anchor's index
  // entry, if that entry names `profile` and has room, so later events with it resolve by index.
  void ListObservation(absl::Span<const Candidate* const> members, const ProfileId& profile);
  // For each (from, to) of `moves` (sorted by `from`, each `from` once): moves `from`'s records
  // to `to` and deletes every record of `from`, one key at a time (range tombstones would make
  // every later read and iterator of the memtable slower until a flush). One pass per family for
  // all of them: a call merges tens of profiles, and an iterator per profile and family cost
  // more than the moves.
  absl::Status MoveRecords(absl::Span<const std::pair<ProfileId, ProfileId>> moves);

  IdentityGraph* g_;
  storage::WriteBatch* batch_;
  // Blind-index entries read or changed in this batch; nullopt caches a miss.
  absl::flat_hash_map<crypto::Digest, std::optional<IndexEntry>> index_;
  absl::flat_hash_set<crypto::Digest> dirty_index_;
  // Suppression-list answers read in this batch (the list does not change during a batch: its
  // writers hold the profile-writer mutex too).
  absl::flat_hash_map<crypto::Digest, bool> suppressed_;
  absl::flat_hash_map<ProfileId, std::unique_ptr<Node>> nodes_;
  absl::flat_hash_set<ProfileId> new_nodes_;
  absl::flat_hash_set<ProfileId> dirty_nodes_;
  absl::flat_hash_map<ProfileId, ProfileId> redirect_;  // absorbed -> survivor, in this batch
  absl::flat_hash_map<ProfileId, uint64_t> stored_events_;  // see CountEvents
  absl::flat_hash_map<ProfileId, uint64_t> batch_events_;   // added in this batch (see Size)
  std::vector<PendingMerge> merges_;
};

}  // namespace cdp::identity
