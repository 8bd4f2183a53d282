#pragma once
// ConsentLedger: the append-only record of every consent change of a person, the state derived
// from it, and the decisions built on that state (DESIGN.md "Consent and retention").
//
// State of a purpose = its legal basis default (consent: denied; legitimate interest, contract:
// allowed) overridden by the latest change, ordered by effective time (a denial wins a tie).
// When profiles merge, explicit answers are combined per purpose and the most restrictive wins;
// a disagreement is appended as a conflict entry so the merged ledger replays to that answer.
//
// Thread safety: safe for concurrent use. Append and CombineOnMerge REQUIRE the store's
// profile_writer_mutex() held until the batch is written.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "common/profile_id.h"
#include "consent/consent_options.h"
#include "storage/store.h"

namespace cdp::consent {

struct ConsentSource {
  enum class Kind { kApi = 0, kFeed = 1, kEvent = 2, kMerge = 3 };
  Kind kind = Kind::kApi;
  std::string detail;  // actor of an API call, "file.csv:12", or the event's messageId
};

// "api", "feed", "event", "merge".
const char* ConsentSourceKindName(ConsentSource::Kind kind);

struct ConsentChange {
  std::string purpose;
  bool granted = false;
  int64_t effective_micros = 0;
  ConsentSource source;
  std::string notice_version;
  bool conflict = false;
  int64_t recorded_micros = 0;  // set by Append
  // The blind-index hash (storage::BlindIndex) of the identifier the change was made through,
  // when an API call named the person by one; empty for a profile id, an event or a merge.
  std::string subject;
};

struct PurposeState {
  std::string purpose;
  LegalBasis basis = LegalBasis::kConsent;
  bool allowed = false;
  bool explicit_answer = false;  // false: the basis default applies
  int64_t since_micros = 0;      // effective time of the deciding change, 0 for a default
};

// The state of every configured purpose, in configuration order.
struct ConsentState {
  std::vector<PurposeState> purposes;
  bool Allowed(absl::string_view purpose) const;
  const PurposeState* Find(absl::string_view purpose) const;
};

struct PreferenceChanges {
  std::vector<ConsentChange> changes;
  std::vector<std::string> unknown_categories;  // reported, not applied
};

class ConsentLedger {
 public:
  // kInvalidArgument when options do not validate. `store` must outlive the ledger.
  static absl::StatusOr<std::unique_ptr<ConsentLedger>> Create(storage::Store* store,
                                                               const ConsentOptions& options,
                                                               Clock* clock = nullptr);

  // kInvalidArgument naming an unknown purpose.
  absl::Status CheckPurpose(absl::string_view purpose) const;

  // Appends `change` to the person's ledger. kInvalidArgument for an unknown purpose.
  absl::Status Append(storage::WriteBatch& batch, const ProfileId& profile,
                      const ConsentChange& change);

  // Every change, oldest first.
  absl::StatusOr<std::vector<ConsentChange>> History(const ProfileId& profile,
                                                     const storage::Snapshot* snapshot = nullptr);
  absl::StatusOr<ConsentState> State(const ProfileId& profile,
                                     const storage::Snapshot* snapshot = nullptr);
  // Replays a history (any order) into the state of every configured purpose.
  ConsentState Derive(absl::Span<const ConsentChange> history) const;

  // Called when `absorbed` profiles merge into `survivor` (reads see the pre-merge ledgers).
  // Returns the conflict entries it appended, so callers can keep cached states current.
  absl::StatusOr<std::vector<ConsentChange>> CombineOnMerge(const ProfileId& survivor, absl::Span<const ProfileId> absorbed,
                              storage::WriteBatch& batch);

  // Who holds what after an unmerge, for SplitOnUnmerge.
  struct SplitOwners {
    absl::flat_hash_map<std::string, ProfileId> by_message_id;  // each event's part
    absl::flat_hash_map<std::string, ProfileId> by_subject;     // each identifier hash's part
  };
  // Called when `original` is split by an unmerge: a change that came with an event (source kind
  // kEvent) follows the event (by messageId); a change made through an identifier (its subject)
  // follows that identifier. Each moves to its new profile's ledger, re-sealed there. Changes
  // made for a profile id, by a feed or by a merge stay with `original`: nothing says whose they
  // were. Returns how many changes moved.
  absl::StatusOr<size_t> SplitOnUnmerge(const ProfileId& original, const SplitOwners& owners,
                                        storage::WriteBatch& batch);

  // Changes for Segment context.consent.categoryPreferences of an event.
  PreferenceChanges FromPreferences(const std::map<std::string, bool>& preferences,
                                    const ConsentSource& source, int64_t effective_micros) const;

  // The configured purposes an event is collected for.
  const std::vector<std::string>& PurposesForEvent(absl::string_view type,
                                                   absl::string_view name) const;
  // Of those, the ones the person allows: the event is stored for these only.
  std::vector<std::string> AllowedPurposesForEvent(const ConsentState& state,
                                                   absl::string_view type,
                                                   absl::string_view name) const;
  // Whether a read for `purpose` may return data of `kind` for a person in `state`.
  bool MayRead(const ConsentState& state, absl::string_view purpose, DataKind kind) const;

  const ConsentOptions& options() const { return options_; }

 private:
  ConsentLedger(storage::Store* store, ConsentOptions options, Clock* clock);

  storage::Store* store_;
  const ConsentOptions options_;
  Clock* clock_;
  absl::flat_hash_map<std::string, const Purpose*> purposes_;
  std::vector<std::string> all_purposes_;
};

}  // namespace cdp::consent
