#include "identity/identity_graph.h"

#include "absl/strings/str_cat.h"
#include "common/big_endian.h"
#include "common/status_macros.h"
#include "identity/profile_node.h"
#include "storage/key_codec.h"

namespace cdp::identity {

using storage::Family;

namespace {

// Longer redirect chains than this mean a corrupt store (merges cap the depth far lower).
constexpr int kMaxRedirectHops = 1000;

absl::StatusOr<ProfileId> IdFromBytes(absl::string_view bytes) {
  absl::StatusOr<ProfileId> id = ProfileId::FromBytes(bytes);
  if (!id.ok()) return absl::DataLossError("stored profile id has the wrong size");
  return id;
}

}  // namespace

IdentityGraph::IdentityGraph(storage::Store* store, IdentityOptions options, Clock* clock)
    : store_(store),
      options_(std::move(options)),
      clock_(clock ? clock : &store->clock()),
      priority_(options_.EffectivePriorityOrder()) {}

IdentityGraph::~IdentityGraph() = default;

absl::StatusOr<std::unique_ptr<IdentityGraph>> IdentityGraph::Create(
    storage::Store* store, const IdentityOptions& options, Clock* clock) {
  CDP_RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<IdentityGraph>(new IdentityGraph(store, options, clock));
}

std::string IdentityGraph::EventKey(const ProfileId& profile, int64_t time_micros,
                                    absl::string_view message_id) const {
  return EventKey(profile, time_micros, store_->blind_index().Hash("message_id", message_id));
}

std::string IdentityGraph::EventKey(const ProfileId& profile, int64_t time_micros,
                                    const crypto::Digest& message_id_hash) {
  return storage::ProfileRecordKey(profile, time_micros,
                                   GetBigEndian64(crypto::AsStringView(message_id_hash)));
}

absl::StatusOr<absl::string_view> IdentityGraph::MessageIdHashPrefix(absl::string_view event_key) {
  // EventKey stores the hash's first 8 bytes, big-endian, as the record key's sequence number.
  if (event_key.size() != storage::kProfileRecordKeySize) {
    return absl::InvalidArgumentError("not an event key: wrong size");
  }
  return event_key.substr(storage::kProfileRecordKeySize - sizeof(uint64_t));
}

absl::StatusOr<ProfileId> IdentityGraph::FollowRedirects(const ProfileId& profile,
                                                         const storage::Snapshot* snapshot) {
  ProfileId current = profile;
  for (int hop = 0; hop < kMaxRedirectHops; ++hop) {
    CDP_ASSIGN_OR_RETURN(std::optional<storage::Record> redirect,
                         store_->Get(Family::kRedirects, storage::ProfileKey(current), snapshot));
    if (!redirect) return current;
    CDP_ASSIGN_OR_RETURN(current, IdFromBytes(redirect->value));
  }
  return absl::DataLossError(
      absl::StrCat("redirect chain from profile ", profile.ToHex(), " does not end"));
}

absl::StatusOr<std::optional<ProfileId>> IdentityGraph::CurrentProfile(const ProfileId& profile) {
  CDP_ASSIGN_OR_RETURN(ProfileId current, FollowRedirects(profile, nullptr));
  CDP_ASSIGN_OR_RETURN(std::optional<storage::Record> node,
                       store_->Get(Family::kProfiles, internal::NodeKey(current)));
  if (!node) return std::nullopt;
  return current;
}

absl::StatusOr<std::optional<ProfileId>> IdentityGraph::IndexedProfile(
    const Identifier& identifier, const storage::Snapshot* snapshot) {
  CDP_ASSIGN_OR_RETURN(
      std::optional<storage::Record> record,
      store_->Get(Family::kIdentifiers,
                  storage::DigestKey(store_->blind_index().Hash(identifier.type, identifier.value)),
                  snapshot));
  if (!record) return std::nullopt;
  CDP_ASSIGN_OR_RETURN(internal::IndexEntry entry, internal::DecodeIndexEntry(record->value));
  return entry.profile;
}

absl::StatusOr<std::optional<ProfileId>> IdentityGraph::FindProfile(const Identifier& identifier) {
  CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> indexed, IndexedProfile(identifier));
  if (!indexed) return std::nullopt;
  return CurrentProfile(*indexed);
}

absl::StatusOr<std::optional<ProfileIdentity>> IdentityGraph::GetIdentity(
    const ProfileId& profile, const storage::Snapshot* snapshot) {
  // The node first: a lookup's profile is nearly always current, and a profile with a node has
  // no redirect (see the header), so the redirect read is needed only when there is none.
  ProfileId current = profile;
  CDP_ASSIGN_OR_RETURN(std::optional<storage::Record> record,
                       store_->Get(Family::kProfiles, internal::NodeKey(current), snapshot));
  if (!record) {
    CDP_ASSIGN_OR_RETURN(current, FollowRedirects(profile, snapshot));
    if (current == profile) return std::nullopt;
    CDP_ASSIGN_OR_RETURN(record,
                         store_->Get(Family::kProfiles, internal::NodeKey(current), snapshot));
    if (!record) return std::nullopt;
  }
  // A read needs the stored fields only, not the indexes internal::Node builds for the rules.
  pb::IdentityNode node;
  if (!node.ParseFromString(record->value)) {
    return absl::DataLossError(
        absl::StrCat("identity node of profile ", current.ToHex(), " is not a valid record"));
  }
  ProfileIdentity identity;
  identity.profile = current;
  identity.identifiers.reserve(static_cast<size_t>(node.identifiers_size()));
  for (const pb::StoredIdentifier& stored : node.identifiers()) {
    identity.identifiers.push_back(internal::FromStored(stored));
  }
  for (const std::string& merged : node.merged_from()) {
    CDP_ASSIGN_OR_RETURN(ProfileId id, IdFromBytes(merged));
    identity.merged_from.push_back(id);
  }
  identity.merge_count = node.merge_count();
  identity.created_micros = node.created_micros();
  identity.updated_micros = node.updated_micros();
  return identity;
}

absl::StatusOr<std::vector<MergeRecord>> IdentityGraph::MergeHistory(const ProfileId& profile) {
  CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> current, CurrentProfile(profile));
  std::vector<MergeRecord> history;
  if (!current) return history;
  absl::Status decode_status;
  CDP_RETURN_IF_ERROR(store_->Scan(
      Family::kMerges, storage::ProfileKey(*current), {},
      [&](absl::string_view, storage::Record record) {
        pb::MergeLogEntry entry;
        if (!entry.ParseFromString(record.value)) {
          decode_status = absl::DataLossError("merge log entry is not a valid record");
          return false;
        }
        MergeRecord out;
        out.kind = entry.kind() == pb::MergeLogEntry::UNMERGE ? MergeRecord::Kind::kUnmerge
                                                               : MergeRecord::Kind::kMerge;
        out.time_micros = entry.time_micros();
        out.message_id = entry.message_id();
        auto ids = [&](const auto& repeated, std::vector<ProfileId>* into) {
          for (const std::string& bytes : repeated) {
            absl::StatusOr<ProfileId> id = IdFromBytes(bytes);
            if (!id.ok()) {
              decode_status = id.status();
              return false;
            }
            into->push_back(*id);
          }
          return true;
        };
        absl::StatusOr<ProfileId> survivor = IdFromBytes(entry.survivor());
        if (!survivor.ok()) {
          decode_status = survivor.status();
          return false;
        }
        out.survivor = *survivor;
        if (!ids(entry.absorbed(), &out.absorbed) || !ids(entry.split_into(), &out.split_into)) {
          return false;
        }
        for (const auto& stored : entry.bridging()) {
          out.bridging.push_back(internal::FromStored(stored));
        }
        if (entry.has_removed()) out.removed = internal::FromStored(entry.removed());
        out.actor = entry.actor();
        out.reason = entry.reason();
        history.push_back(std::move(out));
        return true;
      }));
  CDP_RETURN_IF_ERROR(decode_status);
  std::stable_sort(history.begin(), history.end(), [](const MergeRecord& a, const MergeRecord& b) {
    return a.time_micros < b.time_micros;
  });
  return history;
}

IdentityCounters IdentityGraph::counters() const {
  absl::MutexLock lock(&counters_mu_);
  return counters_;
}

}  // namespace cdp::identity
