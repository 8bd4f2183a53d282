// IdentityGraph::Resolve: plan every event of a batch in memory, then materialize the result
// into the caller's WriteBatch (identity_materialize.cc). Planning first means a profile merged
// twice in one batch (A into B, then B into C) has its stored records moved once, straight to the
// final survivor.

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "common/status_macros.h"
#include "identity/identity_graph.h"
#include "identity/internal/resolve_batch.h"
#include "identity/profile_node.h"
#include "storage/key_codec.h"

namespace cdp::identity {

using internal::IndexEntry;
using internal::Node;
using internal::PendingMerge;
using storage::Family;

absl::StatusOr<const std::optional<IndexEntry>*> IdentityGraph::Batch::Lookup(
    const crypto::Digest& hash) {
  if (auto it = index_.find(hash); it != index_.end()) return &it->second;
  CDP_ASSIGN_OR_RETURN(std::optional<storage::Record> record,
                       g_->store_->Get(Family::kIdentifiers, storage::DigestKey(hash)));
  std::optional<IndexEntry> entry;
  if (record) {
    CDP_ASSIGN_OR_RETURN(entry, internal::DecodeIndexEntry(record->value));
  }
  return &index_.emplace(hash, std::move(entry)).first->second;
}

absl::StatusOr<Node*> IdentityGraph::Batch::LoadNode(const ProfileId& id) {
  if (auto it = nodes_.find(id); it != nodes_.end()) return it->second.get();
  CDP_ASSIGN_OR_RETURN(std::optional<storage::Record> record,
                       g_->store_->Get(Family::kProfiles, internal::NodeKey(id)));
  if (!record) return nullptr;
  CDP_ASSIGN_OR_RETURN(Node node, Node::Decode(id, record->value));
  auto [it, inserted] = nodes_.emplace(id, std::make_unique<Node>(std::move(node)));
  return it->second.get();
}

absl::StatusOr<bool> IdentityGraph::Batch::IsSuppressed(const crypto::Digest& hash) {
  if (auto it = suppressed_.find(hash); it != suppressed_.end()) return it->second;
  CDP_ASSIGN_OR_RETURN(const std::optional<IndexEntry>* entry, Lookup(hash));
  if (*entry) return false;  // indexed, so not suppressed (see the header)
  CDP_ASSIGN_OR_RETURN(std::optional<storage::Record> record,
                       g_->store_->Get(Family::kSuppression, storage::DigestKey(hash)));
  return record.has_value();
}

absl::StatusOr<uint64_t> IdentityGraph::Batch::Size(const ProfileId& id) {
  auto it = stored_events_.find(id);
  if (it == stored_events_.end()) {
    if (new_nodes_.contains(id)) {
      it = stored_events_.emplace(id, 0).first;
    } else {
      CDP_RETURN_IF_ERROR(CountEvents({id}));
      it = stored_events_.find(id);
    }
  }
  const auto added = batch_events_.find(id);
  return it->second + (added == batch_events_.end() ? 0 : added->second);
}

absl::Status IdentityGraph::Batch::CountEvents(std::vector<ProfileId> ids) {
  std::vector<ProfileId> unknown;
  for (MergeHook* hook : g_->hooks_) {
    if (ids.empty()) return absl::OkStatus();
    CDP_ASSIGN_OR_RETURN(std::vector<std::optional<uint64_t>> counts, hook->EventCounts(ids));
    if (counts.size() != ids.size()) {
      return absl::InternalError("a merge hook counted events of other profiles than asked");
    }
    unknown.clear();
    for (size_t i = 0; i < ids.size(); ++i) {
      if (counts[i]) {
        stored_events_.emplace(ids[i], *counts[i]);
      } else {
        unknown.push_back(ids[i]);
      }
    }
    ids.swap(unknown);
  }
  if (ids.empty()) return absl::OkStatus();
  std::sort(ids.begin(), ids.end());  // byte order, so their key prefixes come out sorted
  std::vector<std::string> prefixes;
  prefixes.reserve(ids.size());
  for (const ProfileId& id : ids) prefixes.push_back(storage::ProfileKey(id));
  CDP_ASSIGN_OR_RETURN(std::vector<uint64_t> counts,
                       g_->store_->CountKeysWithPrefixes(Family::kEvents, prefixes,
                                                         kMaxCountedEvents));
  for (size_t i = 0; i < ids.size(); ++i) stored_events_.emplace(ids[i], counts[i]);
  return absl::OkStatus();
}

absl::StatusOr<Node*> IdentityGraph::Batch::NewNode(int64_t now) {
  // Its data key is durable already (the vault's pool): creating a person writes no key here.
  CDP_ASSIGN_OR_RETURN(ProfileId id, g_->store_->key_vault().TakePooledKey());
  auto [it, inserted] = nodes_.emplace(id, std::make_unique<Node>(Node::New(id, now)));
  new_nodes_.insert(id);
  dirty_nodes_.insert(id);
  return it->second.get();
}

void IdentityGraph::Batch::Point(const crypto::Digest& hash, const ProfileId& profile,
                                 bool no_bridge) {
  index_[hash] = IndexEntry{.profile = profile, .no_bridge = no_bridge};
  dirty_index_.insert(hash);
}

// A limit is broken when linking gives a type more values than allowed and more than any of the
// profiles already held (a profile over a limit lowered since is not split by new events).
bool IdentityGraph::Batch::BreaksLimit(const std::vector<Node*>& profiles,
                                       const std::vector<const Candidate*>& unmatched) const {
  absl::flat_hash_map<absl::string_view, uint32_t> added;
  for (const Candidate* c : unmatched) ++added[c->id.type];
  absl::flat_hash_set<absl::string_view> types;
  for (const auto& [type, n] : added) types.insert(type);
  for (Node* node : profiles) {
    for (const auto& stored : node->proto().identifiers()) types.insert(stored.type());
  }
  for (absl::string_view type : types) {
    const uint32_t limit = g_->options_.MaxValuesFor(type);
    if (limit == 0) continue;
    uint32_t total = added.contains(type) ? added[type] : 0, largest = 0;
    for (Node* node : profiles) {
      const uint32_t n = node->CountOfType(type);
      total += n;
      largest = std::max(largest, n);
    }
    if (total > limit && total > largest) return true;
  }
  return false;
}

std::vector<IdentityGraph::Batch::Candidate> IdentityGraph::Batch::Candidates(
    const EventIdentity& event) const {
  std::vector<Candidate> candidates;
  for (const Identifier& id : event.identifiers) {
    auto rank = std::find(g_->priority_.begin(), g_->priority_.end(), id.type);
    if (rank == g_->priority_.end()) continue;  // not a configured type
    bool duplicate = false;
    for (const Candidate& c : candidates) duplicate = duplicate || c.id == id;
    if (duplicate) continue;
    candidates.push_back({id, g_->store_->blind_index().Hash(id.type, id.value),
                          static_cast<size_t>(rank - g_->priority_.begin())});
  }
  return candidates;
}

const IdentityGraph::Batch::Candidate* IdentityGraph::Batch::Anchor(
    absl::Span<const Candidate* const> members) {
  return *std::min_element(members.begin(), members.end(), [](const auto* a, const auto* b) {
    return a->priority != b->priority ? a->priority < b->priority : a->hash < b->hash;
  });
}

uint64_t IdentityGraph::Batch::HashOf(absl::Span<const Candidate* const> members) {
  // Inline storage: this runs for every event, twice, and events carry a few identifiers.
  absl::InlinedVector<const crypto::Digest*, 8> digests;
  for (const Candidate* c : members) digests.push_back(&c->hash);
  return internal::ObservationHash(digests);
}

absl::StatusOr<std::optional<ProfileId>> IdentityGraph::Batch::ResolvedByIndex(
    const std::vector<Candidate>& candidates) {
  if (candidates.empty()) return std::nullopt;
  std::optional<ProfileId> profile;
  absl::InlinedVector<const Candidate*, 8> members;
  for (const Candidate& c : candidates) {
    CDP_ASSIGN_OR_RETURN(const std::optional<IndexEntry>* entry, Lookup(c.hash));
    if (!*entry) return std::nullopt;
    const ProfileId current = Find((*entry)->profile);
    if (profile && *profile != current) return std::nullopt;
    profile = current;
    members.push_back(&c);
  }
  if (members.size() == 1) return profile;  // one identifier links nothing
  const Candidate* anchor = Anchor(members);
  const std::optional<IndexEntry>& entry = index_.at(anchor->hash);
  if (Find(entry->profile) != entry->profile) return std::nullopt;  // its node was merged away
  const uint64_t hash = HashOf(members);
  if (std::find(entry->observations.begin(), entry->observations.end(), hash) ==
      entry->observations.end()) {
    return std::nullopt;
  }
  return profile;
}

void IdentityGraph::Batch::ListObservation(absl::Span<const Candidate* const> members,
                                           const ProfileId& profile) {
  if (members.size() < 2) return;
  const Candidate* anchor = Anchor(members);
  auto it = index_.find(anchor->hash);
  if (it == index_.end() || !it->second || it->second->profile != profile) return;
  std::vector<uint64_t>& listed = it->second->observations;
  const uint64_t hash = HashOf(members);
  if (listed.size() >= internal::kMaxAnchoredObservations ||
      std::find(listed.begin(), listed.end(), hash) != listed.end()) {
    return;
  }
  listed.push_back(hash);
  dirty_index_.insert(anchor->hash);
}

absl::Status IdentityGraph::Batch::Prefetch(absl::Span<const std::vector<Candidate>> candidates) {
  std::vector<crypto::Digest> hashes;
  absl::flat_hash_set<crypto::Digest> seen;
  for (const std::vector<Candidate>& event : candidates) {
    for (const Candidate& c : event) {
      if (!index_.contains(c.hash) && seen.insert(c.hash).second) hashes.push_back(c.hash);
    }
  }
  std::vector<std::string> keys;
  keys.reserve(hashes.size());
  for (const crypto::Digest& hash : hashes) keys.push_back(storage::DigestKey(hash));
  CDP_ASSIGN_OR_RETURN(std::vector<std::optional<storage::Record>> entries,
                       g_->store_->MultiGet(Family::kIdentifiers, keys));
  std::vector<std::string> unindexed;  // keys of the hashes no profile holds
  std::vector<crypto::Digest> unindexed_hashes;
  for (size_t i = 0; i < hashes.size(); ++i) {
    std::optional<IndexEntry> entry;
    if (entries[i]) {
      CDP_ASSIGN_OR_RETURN(entry, internal::DecodeIndexEntry(entries[i]->value));
      suppressed_.emplace(hashes[i], false);  // indexed, so not suppressed (see the header)
    } else {
      unindexed.push_back(std::move(keys[i]));
      unindexed_hashes.push_back(hashes[i]);
    }
    index_.emplace(hashes[i], std::move(entry));
  }
  // Nodes are read only for the profiles of events that may change them (ResolveOne resolves
  // the others from the index alone).
  std::vector<ProfileId> profiles;
  absl::flat_hash_set<ProfileId> wanted;
  for (const std::vector<Candidate>& event : candidates) {
    CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> known, ResolvedByIndex(event));
    if (known) continue;
    for (const Candidate& c : event) {
      const std::optional<IndexEntry>& entry = index_.at(c.hash);
      if (entry && !nodes_.contains(entry->profile) && wanted.insert(entry->profile).second) {
        profiles.push_back(entry->profile);
      }
    }
  }
  CDP_ASSIGN_OR_RETURN(std::vector<std::optional<storage::Record>> suppression,
                       g_->store_->MultiGet(Family::kSuppression, unindexed));
  for (size_t i = 0; i < unindexed_hashes.size(); ++i) {
    suppressed_.emplace(unindexed_hashes[i], suppression[i].has_value());
  }
  keys.clear();
  for (const ProfileId& id : profiles) keys.push_back(internal::NodeKey(id));
  CDP_ASSIGN_OR_RETURN(std::vector<std::optional<storage::Record>> nodes,
                       g_->store_->MultiGet(Family::kProfiles, keys));
  for (size_t i = 0; i < profiles.size(); ++i) {
    if (!nodes[i]) continue;  // LoadNode reports it as missing, as before
    CDP_ASSIGN_OR_RETURN(Node node, Node::Decode(profiles[i], nodes[i]->value));
    nodes_.emplace(profiles[i], std::make_unique<Node>(std::move(node)));
  }
  return CountEventsOfLikelyMerges(candidates);
}

absl::Status IdentityGraph::Batch::CountEventsOfLikelyMerges(
    absl::Span<const std::vector<Candidate>> candidates) {
  absl::flat_hash_set<ProfileId> merging;
  std::vector<ProfileId> matched;
  for (const std::vector<Candidate>& event : candidates) {
    matched.clear();
    for (const Candidate& c : event) {
      auto it = index_.find(c.hash);
      if (it == index_.end() || !it->second) continue;
      const ProfileId& profile = it->second->profile;
      if (std::find(matched.begin(), matched.end(), profile) == matched.end()) {
        matched.push_back(profile);
      }
    }
    if (matched.size() > 1) merging.insert(matched.begin(), matched.end());
  }
  std::vector<ProfileId> ids;
  ids.reserve(merging.size());
  for (const ProfileId& id : merging) {
    if (!stored_events_.contains(id)) ids.push_back(id);
  }
  return CountEvents(std::move(ids));
}

absl::StatusOr<Resolution> IdentityGraph::Batch::ResolveOne(const EventIdentity& event,
                                                            std::vector<Candidate> candidates) {
  Resolution result;
  if (candidates.empty()) {
    result.outcome = Resolution::Outcome::kNoIdentifiers;
    return result;
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.priority < b.priority; });
  for (const Candidate& c : candidates) {
    CDP_ASSIGN_OR_RETURN(bool suppressed, IsSuppressed(c.hash));
    if (suppressed) {
      ++counters.suppressed;
      result.outcome = Resolution::Outcome::kSuppressed;
      return result;
    }
  }
  CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> known, ResolvedByIndex(candidates));
  if (known) {
    result.profile = *known;
    ++batch_events_[result.profile];
    return result;
  }

  std::vector<Node*> profiles;                // distinct matched profiles, best match first
  std::vector<const Candidate*> unmatched;
  std::vector<const Candidate*> bridging;
  while (true) {
    profiles.clear();
    unmatched.clear();
    bridging.clear();
    size_t drop = candidates.size();  // index of a candidate to drop, if any
    for (size_t i = 0; i < candidates.size(); ++i) {
      CDP_ASSIGN_OR_RETURN(const std::optional<IndexEntry>* entry, Lookup(candidates[i].hash));
      Node* node = nullptr;
      if (*entry) {
        CDP_ASSIGN_OR_RETURN(node, LoadNode(Find((*entry)->profile)));
      }
      if (node == nullptr) {
        unmatched.push_back(&candidates[i]);
        continue;
      }
      const bool known = std::find(profiles.begin(), profiles.end(), node) != profiles.end();
      if (!known && (*entry)->no_bridge && !profiles.empty()) {
        drop = i;  // an unmerged identifier never links two profiles again
        break;
      }
      if (!known) profiles.push_back(node);
      bridging.push_back(&candidates[i]);
    }
    if (drop == candidates.size() && candidates.size() > 1 && BreaksLimit(profiles, unmatched)) {
      drop = candidates.size() - 1;  // the lowest-priority identifier
    }
    if (drop == candidates.size()) break;
    result.dropped_types.push_back(candidates[drop].id.type);
    ++counters.dropped_by_limit;
    candidates.erase(candidates.begin() + drop);
  }

  const int64_t now = event.time_micros;
  Node* target = nullptr;
  bool changed = false;  // whether the target's node must be written
  if (profiles.empty()) {
    CDP_ASSIGN_OR_RETURN(target, NewNode(g_->clock_->NowMicros()));
    result.created = true;
    ++counters.created;
  } else {
    Node* survivor = profiles.front();
    if (profiles.size() > 1) {
      std::vector<uint64_t> sizes;
      for (Node* node : profiles) {
        CDP_ASSIGN_OR_RETURN(uint64_t size, Size(node->id()));
        sizes.push_back(std::min(size, kMaxCountedEvents));
      }
      size_t best = 0;
      for (size_t i = 1; i < profiles.size(); ++i) {
        const bool larger = sizes[i] != sizes[best]
                                ? sizes[i] > sizes[best]
                                : profiles[i]->proto().created_micros() <
                                      profiles[best]->proto().created_micros();
        if (larger) best = i;
      }
      survivor = profiles[best];
    }
    uint64_t merges_after = survivor->proto().merge_count();
    for (Node* node : profiles) {
      if (node != survivor) merges_after += node->proto().merge_count() + 1;
    }
    if (profiles.size() > 1 && merges_after > g_->options_.max_merges_per_profile) {
      target = profiles.front();  // the profile of the highest-priority identifier
      result.cap_hit = true;
    } else {
      target = survivor;
      PendingMerge merge{.survivor = survivor->id(), .message_id = event.message_id,
                         .time_micros = now};
      for (Node* node : profiles) {
        if (node == survivor) continue;
        CDP_ASSIGN_OR_RETURN(uint64_t absorbed_size, Size(node->id()));
        batch_events_[survivor->id()] += absorbed_size;
        survivor->Absorb(*node);
        changed = true;
        redirect_[node->id()] = survivor->id();
        for (const Identifier& id : node->Identifiers()) {
          Point(g_->store_->blind_index().Hash(id.type, id.value), survivor->id());
        }
        dirty_nodes_.erase(node->id());
        merge.absorbed.push_back(node->id());
        ++result.merged;
      }
      if (!merge.absorbed.empty()) {
        for (const Candidate* c : bridging) merge.bridging.push_back(c->id);
        merges_.push_back(std::move(merge));
        counters.merges += result.merged;
      }
    }
  }
  std::vector<Identifier> seen_together;
  std::vector<const Candidate*> together;  // the candidates of seen_together
  for (const Candidate& c : candidates) {
    if (target->Has(c.id)) {
      seen_together.push_back(c.id);
      together.push_back(&c);
      continue;
    }
    const bool is_unmatched =
        std::find(unmatched.begin(), unmatched.end(), &c) != unmatched.end();
    if (!is_unmatched) continue;  // held by another profile the cap kept apart
    if (target->identifier_count() >= g_->options_.max_identifiers_per_profile) {
      result.cap_hit = true;
      continue;
    }
    target->AddIdentifier(c.id, now);
    Point(c.hash, target->id());
    seen_together.push_back(c.id);
    together.push_back(&c);
    changed = true;
  }
  if (result.cap_hit) ++counters.cap_hits;
  changed = target->AddObservation(seen_together) || changed;
  if (target->Records(seen_together)) ListObservation(together, target->id());
  ++batch_events_[target->id()];
  if (changed) dirty_nodes_.insert(target->id());
  result.profile = target->id();
  return result;
}

absl::StatusOr<std::vector<Resolution>> IdentityGraph::Resolve(
    absl::Span<const EventIdentity> events, storage::WriteBatch& batch) {
  Batch state(this, &batch);
  std::vector<std::vector<Batch::Candidate>> candidates;
  candidates.reserve(events.size());
  for (const EventIdentity& event : events) candidates.push_back(state.Candidates(event));
  CDP_RETURN_IF_ERROR(state.Prefetch(candidates));
  std::vector<Resolution> results;
  results.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    CDP_ASSIGN_OR_RETURN(Resolution resolution,
                         state.ResolveOne(events[i], std::move(candidates[i])));
    results.push_back(std::move(resolution));
  }
  CDP_RETURN_IF_ERROR(state.Materialize());
  for (Resolution& resolution : results) {
    if (resolution.outcome == Resolution::Outcome::kResolved) {
      resolution.profile = state.Find(resolution.profile);
    }
  }
  absl::MutexLock lock(&counters_mu_);
  counters_.created += state.counters.created;
  counters_.merges += state.counters.merges;
  counters_.cap_hits += state.counters.cap_hits;
  counters_.dropped_by_limit += state.counters.dropped_by_limit;
  counters_.suppressed += state.counters.suppressed;
  return results;
}

}  // namespace cdp::identity
