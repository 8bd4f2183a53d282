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
  const size_t n = std::min(entry.observations.size(), kMaxAnchoredObservations);
  for (size_t i = 0; i < n; ++i) PutBigEndian64(&value, entry.observations[i]);
  return value;
}

absl::StatusOr<IndexEntry> DecodeIndexEntry(absl::string_view value) {
  constexpr size_t kFixed = ProfileId::kSize + 1;
  if (value.size() < kFixed || (value.size() - kFixed) % sizeof(uint64_t) != 0 ||
      (value.size() - kFixed) / sizeof(uint64_t) > kMaxAnchoredObservations) {
    return absl::DataLossError("identifier index entry has the wrong size");
  }
  IndexEntry entry;
  entry.profile = ProfileId::FromBytes(value.substr(0, ProfileId::kSize)).value();
  entry.no_bridge = (value[ProfileId::kSize] & 1) != 0;
  for (size_t at = kFixed; at < value.size(); at += sizeof(uint64_t)) {
    entry.observations.push_back(GetBigEndian64(value.substr(at, sizeof(uint64_t))));
  }
  return entry;
}

uint64_t ObservationHash(absl::Span<const crypto::Digest* const> members) {
  uint64_t sum = 0;
  for (const crypto::Digest* digest : members) {
    sum += GetBigEndian64(crypto::AsStringView(*digest).substr(0, sizeof(uint64_t)));
  }
  return sum;
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
  return node;
}

int Node::Position(const Identifier& id) const {
  const int n = proto_.identifiers_size();
  if (n <= kLinearLimit) {
    for (int i = 0; i < n; ++i) {
      const pb::StoredIdentifier& stored = proto_.identifiers(i);
      if (stored.value() == id.value && stored.type() == id.type) return i;
    }
    return -1;
  }
  if (index_.empty()) {
    for (int i = 0; i < n; ++i) {
      const pb::StoredIdentifier& stored = proto_.identifiers(i);
      index_.emplace(IdView(stored.type(), stored.value()), i);
    }
  }
  auto it = index_.find(IdView(id.type, id.value));
  return it == index_.end() ? -1 : static_cast<int>(it->second);
}

uint32_t Node::CountOfType(absl::string_view type) const {
  uint32_t count = 0;
  for (const pb::StoredIdentifier& stored : proto_.identifiers()) count += stored.type() == type;
  return count;
}

std::vector<Identifier> Node::Identifiers() const {
  std::vector<Identifier> ids;
  ids.reserve(proto_.identifiers_size());
  for (const auto& stored : proto_.identifiers()) ids.push_back(FromStored(stored));
  return ids;
}

void Node::AddIdentifier(const Identifier& id, int64_t first_seen_micros) {
  if (Has(id)) return;
  pb::StoredIdentifier* stored = proto_.add_identifiers();
  ToStored(id, first_seen_micros, stored);
  if (!index_.empty()) {
    index_.emplace(IdView(stored->type(), stored->value()), proto_.identifiers_size() - 1);
  }
}

bool Node::HasObservation(const pb::Observation& observation) const {
  const int n = proto_.observations_size();
  if (n <= kLinearLimit) {
    for (const pb::Observation& seen : proto_.observations()) {
      if (std::equal(seen.members().begin(), seen.members().end(),
                     observation.members().begin(), observation.members().end())) {
        return true;
      }
    }
    return false;
  }
  if (observation_keys_.empty()) {
    for (const pb::Observation& seen : proto_.observations()) {
      observation_keys_.insert(ObservationKey(seen));
    }
  }
  return observation_keys_.contains(ObservationKey(observation));
}

bool Node::Records(absl::Span<const Identifier> ids) const {
  pb::Observation observation;
  for (const Identifier& id : ids) {
    const int position = Position(id);
    if (position < 0) return false;
    observation.add_members(static_cast<uint32_t>(position));
  }
  if (observation.members_size() < 2) return false;
  std::sort(observation.mutable_members()->begin(), observation.mutable_members()->end());
  return HasObservation(observation);
}

bool Node::AddObservation(absl::Span<const Identifier> ids) {
  if (proto_.observations_size() >= static_cast<int>(kMaxObservations)) return false;
  pb::Observation observation;
  for (const Identifier& id : ids) {
    const int position = Position(id);
    if (position >= 0) observation.add_members(static_cast<uint32_t>(position));
  }
  // One identifier alone links nothing, and unmerge needs observations only for their links.
  if (observation.members_size() < 2) return false;
  std::sort(observation.mutable_members()->begin(), observation.mutable_members()->end());
  if (HasObservation(observation)) return false;
  if (!observation_keys_.empty()) observation_keys_.insert(ObservationKey(observation));
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
