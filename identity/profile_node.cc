#include "identity/profile_node.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/big_endian.h"
#include "storage/key_codec.h"

namespace cdp::identity::internal {
namespace {

std::string ObservationKey(const pb::Observation& observation) {
  std::string key;
  for (uint32_t member : observation.members()) PutBigEndian32(&key, member);
  return key;
}

}  // namespace

std::string NodeKey(const ProfileId& profile) {
  return storage::ProfileChildKey(profile, absl::string_view("\x01", 1));
}

std::string EncodeIndexEntry(const IndexEntry& entry) {
  std::string value(entry.profile.bytes().data(), entry.profile.bytes().size());
  value.push_back(entry.no_bridge ? 1 : 0);
  return value;
}

absl::StatusOr<IndexEntry> DecodeIndexEntry(absl::string_view value) {
  if (value.size() != ProfileId::kSize + 1) {
    return absl::DataLossError("identifier index entry has the wrong size");
  }
  IndexEntry entry;
  entry.profile = ProfileId::FromBytes(value.substr(0, ProfileId::kSize)).value();
  entry.no_bridge = (value[ProfileId::kSize] & 1) != 0;
  return entry;
}

Identifier FromStored(const pb::StoredIdentifier& stored) {
  return Identifier{stored.type(), stored.value()};
}

void ToStored(const Identifier& id, int64_t first_seen_micros, pb::StoredIdentifier* out) {
  out->set_type(id.type);
  out->set_value(id.value);
  out->set_first_seen_micros(first_seen_micros);
}

Node Node::New(const ProfileId& id, int64_t now_micros) {
  Node node(id);
  node.proto_.set_created_micros(now_micros);
  node.proto_.set_updated_micros(now_micros);
  return node;
}

absl::StatusOr<Node> Node::Decode(const ProfileId& id, absl::string_view bytes) {
  Node node(id);
  if (!node.proto_.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("identity node of profile ", id.ToHex(),
                                            " is not a valid record"));
  }
  node.Reindex();
  return node;
}

void Node::Reindex() {
  index_.clear();
  type_counts_.clear();
  observation_keys_.clear();
  for (int i = 0; i < proto_.identifiers_size(); ++i) {
    Identifier id = FromStored(proto_.identifiers(i));
    if (index_.emplace(id, i).second) ++type_counts_[id.type];
  }
  for (const auto& observation : proto_.observations()) {
    observation_keys_.insert(ObservationKey(observation));
  }
}

uint32_t Node::CountOfType(absl::string_view type) const {
  auto it = type_counts_.find(type);
  return it == type_counts_.end() ? 0 : it->second;
}

std::vector<Identifier> Node::Identifiers() const {
  std::vector<Identifier> ids;
  ids.reserve(proto_.identifiers_size());
  for (const auto& stored : proto_.identifiers()) ids.push_back(FromStored(stored));
  return ids;
}

void Node::AddIdentifier(const Identifier& id, int64_t first_seen_micros) {
  if (index_.contains(id)) return;
  index_.emplace(id, proto_.identifiers_size());
  ++type_counts_[id.type];
  ToStored(id, first_seen_micros, proto_.add_identifiers());
}

bool Node::AddObservation(absl::Span<const Identifier> ids) {
  if (proto_.observations_size() >= static_cast<int>(kMaxObservations)) return false;
  pb::Observation observation;
  for (const Identifier& id : ids) {
    auto it = index_.find(id);
    if (it != index_.end()) observation.add_members(it->second);
  }
  // One identifier alone links nothing, and unmerge needs observations only for their links.
  if (observation.members_size() < 2) return false;
  std::sort(observation.mutable_members()->begin(), observation.mutable_members()->end());
  if (!observation_keys_.insert(ObservationKey(observation)).second) return false;
  *proto_.add_observations() = std::move(observation);
  return true;
}

void Node::Absorb(const Node& other) {
  for (const auto& stored : other.proto_.identifiers()) {
    AddIdentifier(FromStored(stored), stored.first_seen_micros());
  }
  for (const auto& members : other.Observations()) AddObservation(members);
  proto_.add_merged_from(std::string(other.id_.bytes().data(), other.id_.bytes().size()));
  for (const auto& merged : other.proto_.merged_from()) proto_.add_merged_from(merged);
  proto_.set_merge_count(proto_.merge_count() + other.proto_.merge_count() + 1);
  proto_.set_created_micros(std::min(proto_.created_micros(), other.proto_.created_micros()));
}

std::vector<std::vector<Identifier>> Node::Observations() const {
  std::vector<std::vector<Identifier>> out;
  out.reserve(proto_.observations_size());
  for (const auto& observation : proto_.observations()) {
    std::vector<Identifier> members;
    for (uint32_t index : observation.members()) {
      if (index < static_cast<uint32_t>(proto_.identifiers_size())) {
        members.push_back(FromStored(proto_.identifiers(index)));
      }
    }
    out.push_back(std::move(members));
  }
  return out;
}

}  // namespace cdp::identity::internal
