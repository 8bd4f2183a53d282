#pragma once
// Internal to identity/: the in-memory form of a profile's identity node (identity.proto
// IdentityNode) with indexes for the rule checks, and the encodings of index entries and keys.
//
// Most nodes hold a handful of identifiers and observations: they are searched linearly, and hash
// indexes (keyed by views into the node's own strings) are built only for a node that grows past
// kLinearLimit, so decoding a node costs one protobuf parse.
//
// Thread safety: a Node belongs to one Resolve/Unmerge call.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/crypto.h"
#include "common/profile_id.h"
#include "identity/identifier.h"
#include "identity/identity.pb.h"

namespace cdp::identity::internal {

// Observations kept per profile; past this, new identifier sets are no longer recorded (they
// only matter to unmerge, which then falls back on the events themselves).
inline constexpr size_t kMaxObservations = 10'000;

// Key of a profile's identity node in the profiles family: profile id | 0x01.
std::string NodeKey(const ProfileId& profile);

// Observation hashes an index entry lists at most (see IndexEntry::observations).
inline constexpr size_t kMaxAnchoredObservations = 8;

// The value of a blind-index entry: profile id (16) | flags (1) | observation hashes (8 each,
// big-endian). Entries written before the hashes existed are 17 bytes: no hashes.
struct IndexEntry {
  ProfileId profile;
  bool no_bridge = false;  // set by unmerge: this identifier never links two profiles again
  // ObservationHash of identifier sets that this identifier anchors (it is their member of
  // highest priority, ties broken by blind-index hash) and that the node of `profile` is known to
  // record, at most kMaxAnchoredObservations. A cache of the node: a set listed here is recorded
  // there, a set not listed may be recorded too. Whoever re-points or rebuilds an entry drops
  // the list.
  std::vector<uint64_t> observations;
};
std::string EncodeIndexEntry(const IndexEntry& entry);
absl::StatusOr<IndexEntry> DecodeIndexEntry(absl::string_view value);

// A hash of a set of identifiers from their blind-index hashes, in any order: the wrapping sum
// of each hash's first 8 bytes (big-endian). Blind-index hashes are keyed and uniform, so two sets of one
// profile share a sum by chance only (about 2^-64 per pair) and no one can pick sets that do.
uint64_t ObservationHash(absl::Span<const crypto::Digest* const> members);

Identifier FromStored(const pb::StoredIdentifier& stored);
void ToStored(const Identifier& id, int64_t first_seen_micros, pb::StoredIdentifier* out);

class Node {
 public:
  static Node New(const ProfileId& id, int64_t now_micros);
  // kDataLoss when `bytes` is not an IdentityNode.
  static absl::StatusOr<Node> Decode(const ProfileId& id, absl::string_view bytes);
  std::string Encode() const { return proto_.SerializeAsString(); }

  // Movable, not copyable: the indexes hold views into the node's own identifiers.
  Node(Node&&) = default;
  Node& operator=(Node&&) = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const ProfileId& id() const { return id_; }
  const pb::IdentityNode& proto() const { return proto_; }
  // For the counters and times only: identifiers and observations change through the methods
  // below, which keep the indexes current.
  pb::IdentityNode& mutable_proto() { return proto_; }

  bool Has(const Identifier& id) const { return Position(id) >= 0; }
  uint32_t CountOfType(absl::string_view type) const;
  size_t identifier_count() const { return static_cast<size_t>(proto_.identifiers_size()); }
  std::vector<Identifier> Identifiers() const;

  // Adds `id` if absent.
  void AddIdentifier(const Identifier& id, int64_t first_seen_micros);
  // Records that `ids` (those this node holds, two or more) were seen together. Returns whether
  // that is new.
  bool AddObservation(absl::Span<const Identifier> ids);
  // Whether an observation of exactly `ids` (all held by this node, two or more) is recorded.
  bool Records(absl::Span<const Identifier> ids) const;
  // Takes over everything `other` holds: identifiers, observations, merged ids and merge count.
  void Absorb(const Node& other);

  // The members of every observation, as identifiers.
  std::vector<std::vector<Identifier>> Observations() const;

 private:
  // Past this many identifiers (or observations), lookups go through hash indexes.
  static constexpr int kLinearLimit = 16;
  using IdView = std::pair<absl::string_view, absl::string_view>;  // type, value

  explicit Node(const ProfileId& id) : id_(id) {}
  // The position of `id` in proto_.identifiers(), or -1.
  int Position(const Identifier& id) const;
  // Whether an observation with exactly these (sorted) members is recorded.
  bool HasObservation(const pb::Observation& observation) const;

  ProfileId id_;
  pb::IdentityNode proto_;
  // Built on demand past kLinearLimit, then kept current; views point into proto_'s identifiers,
  // whose elements never move (they are only ever appended).
  mutable absl::flat_hash_map<IdView, uint32_t> index_;
  mutable absl::flat_hash_set<std::string> observation_keys_;  // encoded member lists
};

}  // namespace cdp::identity::internal
