// IdentityGraph::Unmerge: take a wrong identifier off a profile and rebuild the profile as the
// connected components of what remains.

#include <algorithm>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "identity/event_envelope.h"
#include "identity/identity_graph.h"
#include "identity/profile_node.h"
#include "storage/key_codec.h"

namespace cdp::identity {

using internal::Node;
using storage::Family;

namespace {

// Union-find over identifier positions.
class Components {
 public:
  explicit Components(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
  size_t Find(size_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void Union(size_t a, size_t b) { parent_[Find(a)] = Find(b); }

 private:
  std::vector<size_t> parent_;
};

struct Part {
  ProfileId id;
  std::vector<Identifier> identifiers;
  std::vector<std::vector<Identifier>> observations;
  uint64_t events = 0;
  bool is_original = false;
};

constexpr Family kSplitFamilies[] = {Family::kEvents};

}  // namespace

absl::StatusOr<UnmergeReport> IdentityGraph::Unmerge(const ProfileId& profile,
                                                     const Identifier& wrong,
                                                     absl::string_view actor,
                                                     absl::string_view reason,
                                                     storage::WriteBatch& batch) {
  CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> current, CurrentProfile(profile));
  if (!current) {
    return absl::NotFoundError(absl::StrCat("profile ", profile.ToHex(), " does not exist"));
  }
  CDP_ASSIGN_OR_RETURN(std::optional<storage::Record> record,
                       store_->Get(Family::kProfiles, internal::NodeKey(*current)));
  if (!record) return absl::NotFoundError("profile has no identity node");
  CDP_ASSIGN_OR_RETURN(Node node, Node::Decode(*current, record->value));
  if (!node.Has(wrong)) {
    return absl::NotFoundError(absl::StrCat("profile ", current->ToHex(),
                                            " holds no such ", wrong.type, " identifier"));
  }

  // Components of the identifiers that stay, linked by what was seen together.
  std::vector<Identifier> ids = node.Identifiers();
  absl::flat_hash_map<Identifier, size_t> position;
  for (size_t i = 0; i < ids.size(); ++i) position[ids[i]] = i;
  const size_t wrong_pos = position.at(wrong);
  Components components(ids.size());
  auto link = [&](const std::vector<Identifier>& seen) {
    std::optional<size_t> first;
    for (const Identifier& id : seen) {
      auto it = position.find(id);
      if (it == position.end() || it->second == wrong_pos) continue;
      if (first) components.Union(*first, it->second);
      first = it->second;
    }
  };
  for (const auto& observation : node.Observations()) link(observation);

  // Each stored event follows the identifiers it carried (which also link, should the node's
  // observations have been capped).
  struct EventRef {
    std::string key;
    storage::Record record;
    std::optional<size_t> anchor;  // an identifier position, or none: only `wrong`
  };
  std::vector<EventRef> events;
  absl::Status decode_status;
  CDP_RETURN_IF_ERROR(store_->Scan(
      Family::kEvents, storage::ProfileKey(*current), {},
      [&](absl::string_view key, storage::Record event) {
        absl::StatusOr<StoredEvent> stored = DecodeEvent(event.value);
        if (!stored.ok()) {
          decode_status = stored.status();
          return false;
        }
        const std::vector<Identifier>& carried = stored->identifiers;
        link(carried);
        EventRef ref{std::string(key.data(), key.size()), std::move(event), std::nullopt};
        for (const Identifier& id : carried) {
          auto it = position.find(id);
          if (it != position.end() && it->second != wrong_pos) {
            ref.anchor = it->second;
            break;
          }
        }
        events.push_back(std::move(ref));
        return true;
      }));
  CDP_RETURN_IF_ERROR(decode_status);

  // One part per component, and one for `wrong` alone.
  absl::flat_hash_map<size_t, size_t> part_of_root;
  std::vector<Part> parts;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i == wrong_pos) continue;
    auto [it, inserted] = part_of_root.try_emplace(components.Find(i), parts.size());
    if (inserted) parts.push_back(Part{});
    parts[it->second].identifiers.push_back(ids[i]);
  }
  const size_t wrong_part = parts.size();
  parts.push_back(Part{.identifiers = {wrong}});
  auto part_index = [&](std::optional<size_t> anchor) {
    return anchor ? part_of_root.at(components.Find(*anchor)) : wrong_part;
  };
  for (const EventRef& event : events) ++parts[part_index(event.anchor)].events;
  for (const auto& observation : node.Observations()) {
    for (const Identifier& id : observation) {
      const size_t pos = position.at(id);
      if (pos == wrong_pos) continue;
      parts[part_of_root.at(components.Find(pos))].observations.push_back(observation);
      break;
    }
  }
  // The component with most events keeps the profile id; `wrong` keeps it only when the profile
  // held nothing else.
  size_t keeper = wrong_part;
  for (size_t i = 0; i < wrong_part; ++i) {
    if (keeper == wrong_part || parts[i].events > parts[keeper].events) keeper = i;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    parts[i].is_original = i == keeper;
    parts[i].id = parts[i].is_original ? *current : ProfileId::Random();
  }

  const int64_t now = clock_->NowMicros();
  UnmergeReport report{.original = *current, .parts = {}};
  std::vector<ProfileId> split_into;
  for (const Part& part : parts) {
    if (!part.is_original) split_into.push_back(part.id);
  }
  for (Part& part : parts) {
    if (!part.is_original) CDP_RETURN_IF_ERROR(batch.CreateDataKey(part.id));
    Node rebuilt = Node::New(part.id, node.proto().created_micros());
    for (const Identifier& id : part.identifiers) {
      rebuilt.AddIdentifier(id, node.proto().identifiers(position.at(id)).first_seen_micros());
    }
    for (const auto& observation : part.observations) rebuilt.AddObservation(observation);
    if (part.is_original) {
      *rebuilt.mutable_proto().mutable_merged_from() = node.proto().merged_from();
      rebuilt.mutable_proto().set_merge_count(node.proto().merge_count());
    }
    rebuilt.mutable_proto().set_updated_micros(now);
    CDP_RETURN_IF_ERROR(batch.Put(Family::kProfiles, internal::NodeKey(part.id),
                                  {.time_micros = now}, rebuilt.Encode()));
    for (const Identifier& id : part.identifiers) {
      internal::IndexEntry entry{.profile = part.id, .no_bridge = id == wrong};
      CDP_RETURN_IF_ERROR(batch.Put(
          Family::kIdentifiers, storage::DigestKey(store_->blind_index().Hash(id.type, id.value)),
          {}, internal::EncodeIndexEntry(entry)));
    }
    pb::MergeLogEntry log;
    log.set_kind(pb::MergeLogEntry::UNMERGE);
    log.set_time_micros(now);
    log.set_survivor(std::string(current->bytes().data(), ProfileId::kSize));
    for (const ProfileId& id : split_into) {
      log.add_split_into(std::string(id.bytes().data(), ProfileId::kSize));
    }
    internal::ToStored(wrong, now, log.mutable_removed());
    log.set_actor(std::string(actor.data(), actor.size()));
    log.set_reason(std::string(reason.data(), reason.size()));
    CDP_RETURN_IF_ERROR(batch.Put(Family::kMerges,
                                  EventKey(part.id, now, absl::StrCat("unmerge#", part.id.ToHex())),
                                  {.time_micros = now}, log.SerializeAsString()));
    report.parts.push_back({part.id, static_cast<uint32_t>(part.identifiers.size()), part.events});
  }
  std::stable_partition(report.parts.begin(), report.parts.end(),
                        [&](const UnmergeReport::Part& p) { return p.profile == *current; });

  // The upper layers' view of the split, in the report's order (the original first).
  std::vector<UnmergedPart> unmerged(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    unmerged[i].profile = parts[i].id;
    unmerged[i].is_original = parts[i].is_original;
    unmerged[i].identifiers = parts[i].identifiers;
  }
  for (const EventRef& event : events) {
    unmerged[part_index(event.anchor)].events.push_back(&event.record);
  }
  std::stable_partition(unmerged.begin(), unmerged.end(),
                        [](const UnmergedPart& p) { return p.is_original; });

  // Events that leave the original profile are re-keyed, and so re-sealed under their new key.
  for (const EventRef& event : events) {
    const Part& part = parts[part_index(event.anchor)];
    if (part.is_original) continue;
    for (Family family : kSplitFamilies) {
      CDP_RETURN_IF_ERROR(batch.MoveToProfile(family, event.key, event.record, part.id));
    }
  }
  for (MergeHook* hook : hooks_) CDP_RETURN_IF_ERROR(hook->OnUnmerge(unmerged, batch));
  return report;
}

}  // namespace cdp::identity
