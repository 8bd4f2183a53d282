#pragma once
// ConversationStore: the state CX services (chatbots, agent desktops) keep per person and
// conversation, so that a customer who moves from chat to email to voice keeps their context.
// getContext returns the open ones (ContextReader).
//
// A conversation is keyed by an id the caller chooses and lives in the conversations family under
// `profile id | blind-index hash of the conversation id` (sealed with the person's data key; the
// id itself never appears in a key). A Get is one point lookup; merges move the records to the
// survivor like every profile-prefixed family (identity keeps the suffix after the profile id).
// If both merged profiles hold the same conversation id, the absorbed profile's record replaces
// the survivor's (identity moves records after the merge hooks run).
//
// Semantics:
//   Put     creates the conversation or updates it: `state` keys are merged into the existing
//           state (set keys replace their values), `remove_keys` are removed, a non-empty
//           channel replaces the channel, and the expiry becomes now + ttl_seconds (every put
//           extends it). A put to a closed conversation is kFailedPrecondition: closing is
//           final, continue under a new conversation id. An expired conversation counts as
//           absent, so a put under its id starts a new one.
//   Close   marks the conversation closed; closing a closed one is a no-op.
//   Get     the conversation, open or closed; nullopt when absent or expired.
//   ListOpen open, unexpired conversations, newest update first. It reads every conversation the
//           person holds (they are keyed by hash, not time); closed and expired ones leave with
//           their expiry, so the count stays bounded by the put rate times the TTL.
// Every call takes any id of the person: a merged-away id is followed to the survivor.
//
// Expiry: the record's envelope time is its expiry (category kCategoryConversation), so
// consent::RetentionPolicy hides expired conversations on read and the compaction filter drops
// them from the files; the reads here also filter by expiry, so a store opened without a
// retention policy never returns an expired conversation either.
//
// Limits (kInvalidArgument naming the limit, never quoting an id, key or value): see the
// constants below. The id, channel, state keys and values must be valid UTF-8.
//
// Thread safety: safe for concurrent use. Writers serialize on the store's
// profile_writer_mutex() (DESIGN.md's single sequencing writer), so a merge committing at the
// same time cannot lose a conversation: the put lands on the profile that is current under the
// lock. Reads take no lock.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "common/profile_id.h"
#include "identity/identity_graph.h"
#include "storage/store.h"

namespace cdp::ingest {

inline constexpr size_t kMaxConversationIdBytes = 128;  // ids are 1..128 bytes
inline constexpr size_t kMaxChannelBytes = 64;
inline constexpr size_t kMaxStateEntries = 64;    // also bounds remove_keys
inline constexpr size_t kMaxStateKeyBytes = 128;  // keys are 1..128 bytes
inline constexpr size_t kMaxStateValueBytes = 4 << 10;
inline constexpr size_t kMaxStateBytes = 64 << 10;  // keys plus values, after the update
inline constexpr int64_t kDefaultConversationTtlSeconds = 24 * 3600;
inline constexpr int64_t kMaxConversationTtlSeconds = 366 * 24 * 3600;
inline constexpr size_t kDefaultMaxConversations = 20;

struct ConversationUpdate {
  std::string conversation_id;  // required
  // The channel this update came from; empty keeps the conversation's current channel.
  std::string channel;
  // Keys merged into the state (replacing their values); a key may not also be in remove_keys.
  std::map<std::string, std::string> state;
  // Keys removed from the state; absent keys are ignored.
  std::vector<std::string> remove_keys;
  // Seconds from now until the conversation expires, 1..kMaxConversationTtlSeconds. Default 1 day.
  int64_t ttl_seconds = kDefaultConversationTtlSeconds;
  // The blind-index hash of the identifier the caller named the person by; empty for a profile
  // id (the conversation keeps the subject it had).
  std::string subject;
};

// The checks Put makes on an update before touching the store: kInvalidArgument naming the
// limit. Lets a caller refuse a bad update before doing anything else.
absl::Status ValidateConversationUpdate(const ConversationUpdate& update);

struct ConversationView {
  ProfileId profile;  // the current profile holding it
  std::string conversation_id;
  std::string channel;
  std::map<std::string, std::string> state;
  int64_t created_micros = 0;
  int64_t updated_micros = 0;
  int64_t expires_micros = 0;
  bool closed = false;
  int64_t closed_micros = 0;  // 0 while open
  // The blind-index hash of the identifier of the latest put that named the person by one: an
  // unmerge gives the conversation to the profile that keeps that identifier. Never shown.
  std::string subject;

  bool operator==(const ConversationView&) const = default;
};

class ConversationStore {
 public:
  // `clock` null = the store's clock. All pointers must outlive this object.
  ConversationStore(storage::Store* store, identity::IdentityGraph* identity,
                    const Clock* clock = nullptr);

  // Applies `update` and returns the conversation as stored. With `batch` null, takes the profile
  // writer mutex and writes a synced batch of its own. With a batch, adds the write to it:
  // REQUIRES the caller to hold store->profile_writer_mutex() until the batch is written, and at
  // most one Put per conversation in one batch (each reads committed state, as does the
  // profile lookup: the profile must exist before the batch).
  // Errors: kInvalidArgument (a limit, named), kNotFound (no such profile), kFailedPrecondition
  // (the conversation is closed), the store's errors.
  absl::StatusOr<ConversationView> Put(const ProfileId& profile, const ConversationUpdate& update,
                                       storage::WriteBatch* batch = nullptr);

  // Called when `original` is split by an unmerge (a merge hook, with its batch): a conversation
  // whose subject `owner_by_subject` maps to another profile moves there, re-sealed under its
  // key. The others stay. Returns how many moved.
  absl::StatusOr<size_t> SplitOnUnmerge(
      const ProfileId& original,
      const absl::flat_hash_map<std::string, ProfileId>& owner_by_subject,
      storage::WriteBatch& batch);

  // Closes the conversation (takes the profile writer mutex, one synced write). kNotFound when
  // the profile or an unexpired conversation with that id does not exist.
  absl::Status Close(const ProfileId& profile, absl::string_view conversation_id);

  // nullopt when the profile or an unexpired conversation with that id does not exist.
  absl::StatusOr<std::optional<ConversationView>> Get(const ProfileId& profile,
                                                      absl::string_view conversation_id,
                                                      const storage::Snapshot* snapshot = nullptr);

  // Open, unexpired conversations, newest update first, at most `max_conversations`; empty when
  // the profile does not exist.
  absl::StatusOr<std::vector<ConversationView>> ListOpen(
      const ProfileId& profile, const storage::Snapshot* snapshot = nullptr,
      size_t max_conversations = kDefaultMaxConversations);

  // ListOpen for a profile id the caller has just resolved as current from `snapshot`
  // (ContextReader): no redirect walk.
  absl::StatusOr<std::vector<ConversationView>> ListOpenOfCurrent(
      const ProfileId& current, const storage::Snapshot* snapshot, size_t max_conversations);

  // Every conversation the store still holds for the person, closed ones and (on a store without
  // a retention policy) expired ones included, newest update first: for the subject export.
  absl::StatusOr<std::vector<ConversationView>> ListAll(
      const ProfileId& profile, const storage::Snapshot* snapshot = nullptr);

 private:
  absl::StatusOr<ProfileId> CurrentOrNotFound(const ProfileId& profile);
  std::string Key(const ProfileId& profile, absl::string_view conversation_id) const;
  absl::StatusOr<std::optional<ConversationView>> Load(const ProfileId& current,
                                                       absl::string_view conversation_id,
                                                       const storage::Snapshot* snapshot);
  absl::Status Write(const ConversationView& conversation, storage::WriteBatch& batch);
  // REQUIRES: the update checked, the profile writer mutex held until `batch` is written.
  absl::StatusOr<ConversationView> PutLocked(const ProfileId& profile,
                                             const ConversationUpdate& update,
                                             storage::WriteBatch& batch);
  // REQUIRES: `current` has no redirect.
  absl::StatusOr<std::vector<ConversationView>> List(const ProfileId& current,
                                                     const storage::Snapshot* snapshot,
                                                     bool open_only, size_t max_conversations);

  storage::Store* store_;
  identity::IdentityGraph* identity_;
  const Clock* clock_;
};

}  // namespace cdp::ingest
