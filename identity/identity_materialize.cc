// IdentityGraph::Batch::Materialize: the writes of a planned batch (identity_resolve.cc) into the
// caller's WriteBatch: data keys of new profiles, merged-away profiles' records moved to their
// survivor, redirects, the nodes that changed, index entries and merge log entries.

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
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

namespace {

// Families whose records belong to a profile and move with it on merge. The profiles family is
// not here: identity rewrites its node, and hooks combine the rest of it.
constexpr Family kMovedFamilies[] = {Family::kEvents, Family::kConsent, Family::kMerges,
                                     Family::kConversations};

}  // namespace

absl::Status IdentityGraph::Batch::MoveRecords(
    absl::Span<const std::pair<ProfileId, ProfileId>> moves) {
  if (moves.empty()) return absl::OkStatus();
  std::vector<std::string> prefixes;
  prefixes.reserve(moves.size());
  for (const auto& [from, to] : moves) prefixes.push_back(storage::ProfileKey(from));
  for (Family family : kMovedFamilies) {
    absl::Status put_status;
    CDP_RETURN_IF_ERROR(g_->store_->ScanWithPrefixes(
        family, prefixes, nullptr,
        [&](size_t i, absl::string_view key, std::optional<storage::Record> record) {
          if (!record) {  // expired but not yet compacted away: its key goes too
            batch_->Delete(family, key);
            return true;
          }
          put_status = batch_->MoveToProfile(family, key, *record, moves[i].second);
          return put_status.ok();
        }));
    CDP_RETURN_IF_ERROR(put_status);
  }
  // In the profiles family: the node and the upper layers' records, which hooks have combined
  // into the survivor's.
  return g_->store_->ScanKeysWithPrefixes(Family::kProfiles, prefixes, nullptr,
                                          [&](absl::string_view key) {
                                            batch_->Delete(Family::kProfiles, key);
                                            return true;
                                          });
}

absl::Status IdentityGraph::Batch::Materialize() {
  // New profiles took ids whose data keys are durable already (NewNode). One absorbed within the
  // batch leaves no record and no write behind: its id goes back to the pool.
  for (const ProfileId& id : new_nodes_) {
    if (redirect_.contains(id)) g_->store_->key_vault().ReturnPooledKey(id);
  }
  absl::flat_hash_map<ProfileId, std::vector<ProfileId>> absorbed_by;
  for (const auto& [loser, unused] : redirect_) {
    if (!new_nodes_.contains(loser)) absorbed_by[Find(loser)].push_back(loser);
  }
  std::vector<std::pair<ProfileId, ProfileId>> moves;  // (absorbed, survivor)
  for (auto& [survivor, absorbed] : absorbed_by) {
    std::sort(absorbed.begin(), absorbed.end());
    for (MergeHook* hook : g_->hooks_) {
      CDP_RETURN_IF_ERROR(hook->OnMerge(survivor, absorbed, *batch_));
    }
    for (const ProfileId& loser : absorbed) {
      moves.emplace_back(loser, survivor);
      batch_->RetireDataKey(loser);
      CDP_RETURN_IF_ERROR(batch_->Put(Family::kRedirects, storage::ProfileKey(loser),
                                      {.time_micros = g_->clock_->NowMicros()},
                                      survivor.bytes()));
    }
  }
  std::sort(moves.begin(), moves.end());
  CDP_RETURN_IF_ERROR(MoveRecords(moves));
  const int64_t now = g_->clock_->NowMicros();
  for (const ProfileId& id : dirty_nodes_) {
    Node& node = *nodes_.at(id);
    auto& proto = node.mutable_proto();
    proto.set_updated_micros(std::max(proto.updated_micros(), now));
    CDP_RETURN_IF_ERROR(batch_->Put(Family::kProfiles, internal::NodeKey(id),
                                    {.time_micros = proto.updated_micros()}, node.Encode()));
  }
  for (const crypto::Digest& hash : dirty_index_) {
    IndexEntry entry = *index_.at(hash);
    const ProfileId current = Find(entry.profile);
    if (current != entry.profile) entry.observations.clear();  // listed by a node merged away
    entry.profile = current;
    CDP_RETURN_IF_ERROR(batch_->Put(Family::kIdentifiers, storage::DigestKey(hash), {},
                                    internal::EncodeIndexEntry(entry)));
  }
  for (size_t i = 0; i < merges_.size(); ++i) {
    const PendingMerge& merge = merges_[i];
    pb::MergeLogEntry entry;
    entry.set_kind(pb::MergeLogEntry::MERGE);
    entry.set_time_micros(merge.time_micros);
    entry.set_message_id(merge.message_id);
    entry.set_survivor(std::string(merge.survivor.bytes().data(), ProfileId::kSize));
    for (const ProfileId& id : merge.absorbed) {
      entry.add_absorbed(std::string(id.bytes().data(), ProfileId::kSize));
    }
    for (const Identifier& id : merge.bridging) {
      internal::ToStored(id, merge.time_micros, entry.add_bridging());
    }
    const std::string key =
        g_->EventKey(Find(merge.survivor), merge.time_micros, absl::StrCat(merge.message_id, "#merge", i));
    CDP_RETURN_IF_ERROR(batch_->Put(Family::kMerges, key,
                                    {.time_micros = g_->clock_->NowMicros()},
                                    entry.SerializeAsString()));
  }
  return absl::OkStatus();
}

}  // namespace cdp::identity
