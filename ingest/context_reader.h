#pragma once
// ContextReader: assembles everything a CX service may see about one person, for one stated
// purpose: identifiers, traits, computed facts, the last N events, open conversations and the
// consent state. Everything, from the identifier index to the last conversation, is read from
// one snapshot taken first, so a lookup sees a merge either wholly or not at all (when a merge
// commits right after the snapshot and retires the merged-away profile's data key, the lookup
// starts over on a fresh snapshot). Each record is read once: a lookup is a handful of point
// reads and three short scans (consent, events, conversations).
//
// Consent is enforced here, at read time: a purpose the person has not allowed returns no
// personal data, a purpose limited to some data kinds returns only those, events come back only
// if they were stored for the purpose, and expired traits never return. Open, unexpired
// conversations (ingest/conversation_store.h) are data kind "conversations".
//
// Identifier values: the identifier list comes back in full (masking it for roles that may not
// see identifiers is the caller's job; a purpose that does not allow the identifiers data kind
// gets none). Inside traits and event JSON they are masked (ingest/identifier_masking.h) when
// the request asks for it (ContextRequest::mask_identifiers) or the purpose does not allow the
// identifiers data kind.
//
// Thread safety: safe for concurrent use; takes no writer lock.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "consent/consent_ledger.h"
#include "consent/retention_policy.h"
#include "identity/identity_graph.h"
#include "ingest/conversation_store.h"
#include "ingest/identifier_masking.h"
#include "storage/store.h"

namespace cdp::ingest {

struct ContextRequest {
  std::string purpose;             // required: a configured purpose
  size_t max_events = 20;          // newest first; 0 = none
  // Only events of this name (track name, page/screen name). With a filter, at most
  // max(1000, 20 * max_events) of the newest events are examined.
  std::string event_name;
  size_t max_conversations = kDefaultMaxConversations;  // open ones, newest update first
  // Mask identifier values inside traits and event JSON (IdentifierMasker). The identifier list
  // itself is returned in full: masking it is the caller's, who also tells the type.
  bool mask_identifiers = false;
};

struct TraitView {
  std::string name;
  std::string json;
  int64_t set_micros = 0;
  std::string source;  // messageId of the event that set it
};

struct EventView {
  std::string message_id;
  std::string type;
  std::string name;
  int64_t time_micros = 0;
  std::string channel;
  std::string json;
};

struct EventCountView {
  std::string event;
  uint64_t count = 0;
  int64_t last_micros = 0;
};

struct PersonContext {
  ProfileId profile;
  bool purpose_allowed = false;  // false: only the profile id and consent state are filled
  std::vector<identity::Identifier> identifiers;
  std::vector<TraitView> traits;
  int64_t first_seen_micros = 0;
  int64_t last_seen_micros = 0;
  uint64_t total_events = 0;
  std::vector<EventCountView> event_counts;
  std::vector<std::string> channels;
  std::vector<std::string> groups;
  std::vector<EventView> recent_events;
  std::vector<ConversationView> conversations;  // open, unexpired; newest update first
  consent::ConsentState consent;
};

class ContextReader {
 public:
  // `retention` may be null (no trait TTL). All pointers must outlive the reader. `masker` knows
  // the ingest options' custom identifier paths.
  ContextReader(storage::Store* store, identity::IdentityGraph* identity,
                consent::ConsentLedger* consent, const consent::RetentionPolicy* retention,
                IdentifierMasker masker = {})
      : store_(store),
        identity_(identity),
        consent_(consent),
        retention_(retention),
        masker_(std::move(masker)),
        conversations_(store, identity) {}

  // nullopt when no profile holds the identifier. kInvalidArgument for an unknown purpose.
  absl::StatusOr<std::optional<PersonContext>> ByIdentifier(const identity::Identifier& id,
                                                            const ContextRequest& request);
  // nullopt when the profile (after following merges) does not exist.
  absl::StatusOr<std::optional<PersonContext>> ByProfile(const ProfileId& profile,
                                                         const ContextRequest& request);

 private:
  // Resolves the person with `resolve(snapshot)` and reads them from the same snapshot, starting
  // over with a fresh one when a concurrent merge or erase shredded what the snapshot saw.
  template <typename Resolve>
  absl::StatusOr<std::optional<PersonContext>> Lookup(const ContextRequest& request,
                                                      Resolve resolve);
  // Reads the person whose identity was resolved from `snapshot`.
  absl::StatusOr<PersonContext> Read(identity::ProfileIdentity identity,
                                     const storage::Snapshot& snapshot,
                                     const ContextRequest& request);

  storage::Store* store_;
  identity::IdentityGraph* identity_;
  consent::ConsentLedger* consent_;
  const consent::RetentionPolicy* retention_;
  IdentifierMasker masker_;
  ConversationStore conversations_;
};

}  // namespace cdp::ingest
