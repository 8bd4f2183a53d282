#include "ingest/conversation_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "consent/record_category.h"
#include "ingest/ingest.pb.h"
#include "ingest/internal/text.h"
#include "storage/key_codec.h"

namespace cdp::ingest {
namespace {

using storage::Family;

constexpr int64_t kMicrosPerSecond = 1'000'000;

// Errors name the field and the limit, never the text itself.
absl::Status CheckText(absl::string_view what, absl::string_view text, size_t min_bytes,
                       size_t max_bytes, absl::string_view limit) {
  if (text.size() < min_bytes || text.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is ", text.size(), " bytes; it must be ",
                                                   min_bytes, " to ", max_bytes, " (", limit, ")"));
  }
  if (!internal::IsValidUtf8(text)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid UTF-8"));
  }
  return absl::OkStatus();
}

absl::Status CheckId(absl::string_view conversation_id) {
  return CheckText("conversation id", conversation_id, 1, kMaxConversationIdBytes,
                   "kMaxConversationIdBytes");
}

absl::Status CheckKey(absl::string_view key) {
  return CheckText("a state key", key, 1, kMaxStateKeyBytes, "kMaxStateKeyBytes");
}

absl::Status CheckCount(absl::string_view what, size_t count) {
  if (count <= kMaxStateEntries) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, " ", count, " state keys, more than ",
                                                 "kMaxStateEntries (", kMaxStateEntries, ")"));
}


// The limits on the state as a whole, after the update is merged in.
absl::Status CheckState(const std::map<std::string, std::string>& state) {
  CDP_RETURN_IF_ERROR(CheckCount("the state would hold", state.size()));
  size_t bytes = 0;
  for (const auto& [key, value] : state) bytes += key.size() + value.size();
  if (bytes > kMaxStateBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the state would be ", bytes,
                                                   " bytes (keys plus values), more than ",
                                                   "kMaxStateBytes (", kMaxStateBytes, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ConversationView> Decode(const ProfileId& profile, const std::string& value) {
  pb::Conversation stored;
  if (!stored.ParseFromString(value)) {
    return absl::DataLossError("stored conversation is not a valid record");
  }
  ConversationView view{
      .profile = profile,
      .conversation_id = stored.conversation_id(),
      .channel = stored.channel(),
      .state = std::map<std::string, std::string>(stored.state().begin(), stored.state().end()),
      .created_micros = stored.created_micros(),
      .updated_micros = stored.updated_micros(),
      .expires_micros = stored.expires_micros(),
      .closed = stored.closed(),
      .closed_micros = stored.closed_micros(),
      .subject = stored.subject()};
  return view;
}

std::string Encode(const ConversationView& view) {
  pb::Conversation stored;
  stored.set_conversation_id(view.conversation_id);
  stored.set_channel(view.channel);
  stored.mutable_state()->insert(view.state.begin(), view.state.end());
  stored.set_created_micros(view.created_micros);
  stored.set_updated_micros(view.updated_micros);
  stored.set_expires_micros(view.expires_micros);
  stored.set_closed(view.closed);
  stored.set_closed_micros(view.closed_micros);
  stored.set_subject(view.subject);
  return stored.SerializeAsString();
}

}  // namespace

absl::Status ValidateConversationUpdate(const ConversationUpdate& update) {
  CDP_RETURN_IF_ERROR(CheckId(update.conversation_id));
  CDP_RETURN_IF_ERROR(
      CheckText("channel", update.channel, 0, kMaxChannelBytes, "kMaxChannelBytes"));
  if (update.ttl_seconds < 1 || update.ttl_seconds > kMaxConversationTtlSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("ttl_seconds is ", update.ttl_seconds,
                                                   "; it must be 1 to ", kMaxConversationTtlSeconds,
                                                   " (kMaxConversationTtlSeconds)"));
  }
  CDP_RETURN_IF_ERROR(CheckCount("the update sets", update.state.size()));
  for (const auto& [key, value] : update.state) {
    CDP_RETURN_IF_ERROR(CheckKey(key));
    CDP_RETURN_IF_ERROR(
        CheckText("a state value", value, 0, kMaxStateValueBytes, "kMaxStateValueBytes"));
  }
  CDP_RETURN_IF_ERROR(CheckCount("the update removes", update.remove_keys.size()));
  for (const std::string& key : update.remove_keys) {
    CDP_RETURN_IF_ERROR(CheckKey(key));
    if (update.state.contains(key)) {
      return absl::InvalidArgumentError("a state key is both set and removed by the update");
    }
  }
  return absl::OkStatus();
}

ConversationStore::ConversationStore(storage::Store* store, identity::IdentityGraph* identity,
                                     const Clock* clock)
    : store_(store), identity_(identity), clock_(clock != nullptr ? clock : &store->clock()) {}

absl::StatusOr<ProfileId> ConversationStore::CurrentOrNotFound(const ProfileId& profile) {
  CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> current, identity_->CurrentProfile(profile));
  if (!current) return absl::NotFoundError(absl::StrCat("no profile ", profile.ToHex()));
  return *current;
}

std::string ConversationStore::Key(const ProfileId& profile,
                                   absl::string_view conversation_id) const {
  return storage::ProfileChildKey(
      profile, storage::DigestKey(store_->blind_index().Hash("conversation_id", conversation_id)));
}

absl::StatusOr<std::optional<ConversationView>> ConversationStore::Load(
    const ProfileId& current, absl::string_view conversation_id,
    const storage::Snapshot* snapshot) {
  CDP_ASSIGN_OR_RETURN(
      std::optional<storage::Record> record,
      store_->Get(Family::kConversations, Key(current, conversation_id), snapshot));
  if (!record) return std::nullopt;
  CDP_ASSIGN_OR_RETURN(ConversationView view, Decode(current, record->value));
  if (view.conversation_id != conversation_id) {
    return absl::DataLossError("stored conversation holds another conversation id");
  }
  if (consent::ConversationExpired(view.expires_micros, clock_->NowMicros())) return std::nullopt;
  return view;
}

absl::Status ConversationStore::Write(const ConversationView& conversation,
                                      storage::WriteBatch& batch) {
  return batch.Put(
      Family::kConversations, Key(conversation.profile, conversation.conversation_id),
      {.category = consent::kCategoryConversation, .time_micros = conversation.expires_micros},
      Encode(conversation));
}

absl::StatusOr<ConversationView> ConversationStore::Put(const ProfileId& profile,
                                                        const ConversationUpdate& update,
                                                        storage::WriteBatch* batch) {
  CDP_RETURN_IF_ERROR(ValidateConversationUpdate(update));
  if (batch != nullptr) return PutLocked(profile, update, *batch);
  absl::MutexLock lock(&store_->profile_writer_mutex());
  storage::WriteBatch own = store_->NewBatch();
  CDP_ASSIGN_OR_RETURN(ConversationView view, PutLocked(profile, update, own));
  CDP_RETURN_IF_ERROR(store_->Write(own));
  return view;
}

absl::StatusOr<ConversationView> ConversationStore::PutLocked(const ProfileId& profile,
                                                              const ConversationUpdate& update,
                                                              storage::WriteBatch& batch) {
  CDP_ASSIGN_OR_RETURN(ProfileId current, CurrentOrNotFound(profile));
  CDP_ASSIGN_OR_RETURN(std::optional<ConversationView> existing,
                       Load(current, update.conversation_id, nullptr));
  const int64_t now = clock_->NowMicros();
  ConversationView conversation;
  if (existing) {
    if (existing->closed) {
      return absl::FailedPreconditionError(
          "the conversation is closed; continue under a new conversation id");
    }
    conversation = *std::move(existing);
  } else {
    conversation.profile = current;
    conversation.conversation_id = update.conversation_id;
    conversation.created_micros = now;
  }
  if (!update.channel.empty()) conversation.channel = update.channel;
  if (!update.subject.empty()) conversation.subject = update.subject;
  for (const std::string& key : update.remove_keys) conversation.state.erase(key);
  for (const auto& [key, value] : update.state) conversation.state.insert_or_assign(key, value);
  CDP_RETURN_IF_ERROR(CheckState(conversation.state));
  conversation.updated_micros = now;
  conversation.expires_micros = now + update.ttl_seconds * kMicrosPerSecond;
  CDP_RETURN_IF_ERROR(Write(conversation, batch));
  return conversation;
}

absl::StatusOr<size_t> ConversationStore::SplitOnUnmerge(
    const ProfileId& original,
    const absl::flat_hash_map<std::string, ProfileId>& owner_by_subject,
    storage::WriteBatch& batch) {
  // Same key suffix (the conversation id's hash) under the new owner, re-sealed there.
  return store_->MoveRecordsOf(
      Family::kConversations, original, batch,
      [&](const storage::Record& stored) -> absl::StatusOr<std::optional<ProfileId>> {
        CDP_ASSIGN_OR_RETURN(ConversationView view, Decode(original, stored.value));
        auto owner = view.subject.empty() ? owner_by_subject.end()
                                          : owner_by_subject.find(view.subject);
        if (owner == owner_by_subject.end()) return std::nullopt;
        return owner->second;
      });
}

absl::Status ConversationStore::Close(const ProfileId& profile, absl::string_view conversation_id) {
  CDP_RETURN_IF_ERROR(CheckId(conversation_id));
  absl::MutexLock lock(&store_->profile_writer_mutex());
  CDP_ASSIGN_OR_RETURN(ProfileId current, CurrentOrNotFound(profile));
  CDP_ASSIGN_OR_RETURN(std::optional<ConversationView> conversation,
                       Load(current, conversation_id, nullptr));
  if (!conversation) {
    return absl::NotFoundError(
        absl::StrCat("profile ", current.ToHex(), " has no conversation with that id"));
  }
  if (conversation->closed) return absl::OkStatus();
  const int64_t now = clock_->NowMicros();
  conversation->closed = true;
  conversation->closed_micros = now;
  conversation->updated_micros = now;
  storage::WriteBatch batch = store_->NewBatch();
  CDP_RETURN_IF_ERROR(Write(*conversation, batch));
  return store_->Write(batch);
}

absl::StatusOr<std::optional<ConversationView>> ConversationStore::Get(
    const ProfileId& profile, absl::string_view conversation_id,
    const storage::Snapshot* snapshot) {
  CDP_RETURN_IF_ERROR(CheckId(conversation_id));
  CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> current, identity_->CurrentProfile(profile));
  if (!current) return std::nullopt;
  return Load(*current, conversation_id, snapshot);
}

absl::StatusOr<std::vector<ConversationView>> ConversationStore::ListOpen(
    const ProfileId& profile, const storage::Snapshot* snapshot, size_t max_conversations) {
  CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> current, identity_->CurrentProfile(profile));
  if (!current) return std::vector<ConversationView>();
  return List(*current, snapshot, /*open_only=*/true, max_conversations);
}

absl::StatusOr<std::vector<ConversationView>> ConversationStore::ListOpenOfCurrent(
    const ProfileId& current, const storage::Snapshot* snapshot, size_t max_conversations) {
  return List(current, snapshot, /*open_only=*/true, max_conversations);
}

absl::StatusOr<std::vector<ConversationView>> ConversationStore::ListAll(
    const ProfileId& profile, const storage::Snapshot* snapshot) {
  CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> current, identity_->CurrentProfile(profile));
  if (!current) return std::vector<ConversationView>();
  return List(*current, snapshot, /*open_only=*/false, SIZE_MAX);
}

absl::StatusOr<std::vector<ConversationView>> ConversationStore::List(
    const ProfileId& current, const storage::Snapshot* snapshot, bool open_only,
    size_t max_conversations) {
  std::vector<ConversationView> conversations;
  if (max_conversations == 0) return conversations;
  const int64_t now = clock_->NowMicros();
  absl::Status decode_status;
  CDP_RETURN_IF_ERROR(store_->Scan(
      Family::kConversations, storage::ProfileKey(current), {.snapshot = snapshot},
      [&](absl::string_view, storage::Record record) {
        absl::StatusOr<ConversationView> view = Decode(current, record.value);
        if (!view.ok()) {
          decode_status = view.status();
          return false;
        }
        if (open_only &&
            (view->closed || consent::ConversationExpired(view->expires_micros, now))) {
          return true;
        }
        conversations.push_back(*std::move(view));
        return true;
      }));
  CDP_RETURN_IF_ERROR(decode_status);
  std::sort(conversations.begin(), conversations.end(),
            [](const ConversationView& a, const ConversationView& b) {
              if (a.updated_micros != b.updated_micros) return a.updated_micros > b.updated_micros;
              return a.conversation_id < b.conversation_id;
            });
  if (conversations.size() > max_conversations) conversations.resize(max_conversations);
  return conversations;
}

}  // namespace cdp::ingest
