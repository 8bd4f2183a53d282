#include "consent/consent_ledger.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/big_endian.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "consent/consent.pb.h"
#include "consent/record_category.h"
#include "storage/key_codec.h"

namespace cdp::consent {

const char* ConsentSourceKindName(ConsentSource::Kind kind) {
  switch (kind) {
    case ConsentSource::Kind::kApi:
      return "api";
    case ConsentSource::Kind::kFeed:
      return "feed";
    case ConsentSource::Kind::kEvent:
      return "event";
    case ConsentSource::Kind::kMerge:
      return "merge";
  }
  return "unknown";
}

using storage::Family;

namespace {

// Replay order: by effective time, a denial after a grant at the same instant (so it wins).
bool ReplayOrder(const ConsentChange& a, const ConsentChange& b) {
  if (a.effective_micros != b.effective_micros) return a.effective_micros < b.effective_micros;
  return a.granted && !b.granted;
}

}  // namespace

bool ConsentState::Allowed(absl::string_view purpose) const {
  const PurposeState* state = Find(purpose);
  return state != nullptr && state->allowed;
}

const PurposeState* ConsentState::Find(absl::string_view purpose) const {
  for (const PurposeState& state : purposes) {
    if (state.purpose == purpose) return &state;
  }
  return nullptr;
}

ConsentLedger::ConsentLedger(storage::Store* store, ConsentOptions options, Clock* clock)
    : store_(store), options_(std::move(options)), clock_(clock ? clock : &store->clock()) {
  for (const Purpose& purpose : options_.purposes) {
    purposes_[purpose.name] = &purpose;
    all_purposes_.push_back(purpose.name);
  }
}

absl::StatusOr<std::unique_ptr<ConsentLedger>> ConsentLedger::Create(
    storage::Store* store, const ConsentOptions& options, Clock* clock) {
  CDP_RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<ConsentLedger>(new ConsentLedger(store, options, clock));
}

absl::Status ConsentLedger::CheckPurpose(absl::string_view purpose) const {
  if (purposes_.contains(purpose)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown purpose \"", purpose, "\" (configured: ", absl::StrJoin(all_purposes_, ", "),
      ")"));
}

absl::Status ConsentLedger::Append(storage::WriteBatch& batch, const ProfileId& profile,
                                   const ConsentChange& change) {
  CDP_RETURN_IF_ERROR(CheckPurpose(change.purpose));
  pb::ConsentRecord record;
  record.set_purpose(change.purpose);
  record.set_granted(change.granted);
  record.set_effective_micros(change.effective_micros);
  record.set_source_kind(static_cast<int32_t>(change.source.kind));
  record.set_source_detail(change.source.detail);
  record.set_notice_version(change.notice_version);
  record.set_conflict(change.conflict);
  record.set_recorded_micros(clock_->NowMicros());
  record.set_subject(change.subject);
  const uint64_t seq = GetBigEndian64(crypto::RandomBytes(8));
  return batch.Put(Family::kConsent,
                   storage::ProfileRecordKey(profile, change.effective_micros, seq),
                   {.category = kCategoryConsent, .time_micros = change.effective_micros},
                   record.SerializeAsString());
}

absl::StatusOr<std::vector<ConsentChange>> ConsentLedger::History(
    const ProfileId& profile, const storage::Snapshot* snapshot) {
  std::vector<ConsentChange> history;
  absl::Status decode_status;
  CDP_RETURN_IF_ERROR(store_->Scan(
      Family::kConsent, storage::ProfileKey(profile), {.snapshot = snapshot},
      [&](absl::string_view, storage::Record stored) {
        pb::ConsentRecord record;
        if (!record.ParseFromString(stored.value)) {
          decode_status = absl::DataLossError("consent ledger entry is not a valid record");
          return false;
        }
        ConsentChange change;
        change.purpose = record.purpose();
        change.granted = record.granted();
        change.effective_micros = record.effective_micros();
        change.source.kind = static_cast<ConsentSource::Kind>(record.source_kind());
        change.source.detail = record.source_detail();
        change.notice_version = record.notice_version();
        change.conflict = record.conflict();
        change.recorded_micros = record.recorded_micros();
        change.subject = record.subject();
        history.push_back(std::move(change));
        return true;
      }));
  CDP_RETURN_IF_ERROR(decode_status);
  std::stable_sort(history.begin(), history.end(), ReplayOrder);
  return history;
}

ConsentState ConsentLedger::Derive(absl::Span<const ConsentChange> history) const {
  std::vector<const ConsentChange*> ordered;
  for (const ConsentChange& change : history) ordered.push_back(&change);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const ConsentChange* a, const ConsentChange* b) {
                     return ReplayOrder(*a, *b);
                   });
  ConsentState state;
  for (const Purpose& purpose : options_.purposes) {
    PurposeState ps{.purpose = purpose.name,
                    .basis = purpose.basis,
                    .allowed = purpose.basis != LegalBasis::kConsent};
    for (const ConsentChange* change : ordered) {
      if (change->purpose != purpose.name) continue;
      ps.allowed = change->granted;
      ps.explicit_answer = true;
      ps.since_micros = change->effective_micros;
    }
    state.purposes.push_back(std::move(ps));
  }
  return state;
}

absl::StatusOr<ConsentState> ConsentLedger::State(const ProfileId& profile,
                                                  const storage::Snapshot* snapshot) {
  CDP_ASSIGN_OR_RETURN(std::vector<ConsentChange> history, History(profile, snapshot));
  return Derive(history);
}

absl::StatusOr<std::vector<ConsentChange>> ConsentLedger::CombineOnMerge(const ProfileId& survivor,
                                           absl::Span<const ProfileId> absorbed,
                                           storage::WriteBatch& batch) {
  std::vector<ConsentChange> combined_history;
  std::vector<ConsentState> states;
  std::vector<ProfileId> all = {survivor};
  all.insert(all.end(), absorbed.begin(), absorbed.end());
  for (const ProfileId& profile : all) {
    CDP_ASSIGN_OR_RETURN(std::vector<ConsentChange> history, History(profile));
    states.push_back(Derive(history));
    combined_history.insert(combined_history.end(), history.begin(), history.end());
  }
  std::vector<ConsentChange> appended;
  // The resolution entry must replay last, after every moved entry.
  int64_t latest = clock_->NowMicros();
  for (const ConsentChange& change : combined_history) {
    latest = std::max(latest, change.effective_micros + 1);
  }
  for (const Purpose& purpose : options_.purposes) {
    bool any_granted = false, any_denied = false;
    for (const ConsentState& state : states) {
      const PurposeState* ps = state.Find(purpose.name);
      if (ps == nullptr || !ps->explicit_answer) continue;
      (ps->allowed ? any_granted : any_denied) = true;
    }
    if (!any_granted || !any_denied) continue;  // no disagreement to resolve
    ConsentChange resolution{.purpose = purpose.name,
                             .granted = false,
                             .effective_micros = latest,
                             .source = {.kind = ConsentSource::Kind::kMerge,
                                        .detail = absl::StrCat("merge into ", survivor.ToHex())},
                             .conflict = true};
    CDP_RETURN_IF_ERROR(Append(batch, survivor, resolution));
    appended.push_back(std::move(resolution));
  }
  return appended;
}

absl::StatusOr<size_t> ConsentLedger::SplitOnUnmerge(const ProfileId& original,
                                                     const SplitOwners& owners,
                                                     storage::WriteBatch& batch) {
  // Same time and sequence under the new owner: re-sealed under its data key.
  return store_->MoveRecordsOf(
      Family::kConsent, original, batch,
      [&](const storage::Record& stored) -> absl::StatusOr<std::optional<ProfileId>> {
        pb::ConsentRecord record;
        if (!record.ParseFromString(stored.value)) {
          return absl::DataLossError("consent ledger entry is not a valid record");
        }
        const bool from_event =
            record.source_kind() == static_cast<int32_t>(ConsentSource::Kind::kEvent);
        const auto& owner_of = from_event ? owners.by_message_id : owners.by_subject;
        const std::string& owned = from_event ? record.source_detail() : record.subject();
        auto owner = owned.empty() ? owner_of.end() : owner_of.find(owned);
        if (owner == owner_of.end()) return std::nullopt;
        return owner->second;
      });
}

PreferenceChanges ConsentLedger::FromPreferences(const std::map<std::string, bool>& preferences,
                                                 const ConsentSource& source,
                                                 int64_t effective_micros) const {
  PreferenceChanges out;
  for (const auto& [category, granted] : preferences) {
    std::vector<std::string> targets;
    if (auto it = options_.category_purposes.find(category);
        it != options_.category_purposes.end()) {
      targets = it->second;
    } else if (purposes_.contains(category)) {
      targets = {category};
    } else {
      out.unknown_categories.push_back(category);
      continue;
    }
    for (const std::string& purpose : targets) {
      out.changes.push_back(ConsentChange{.purpose = purpose,
                                          .granted = granted,
                                          .effective_micros = effective_micros,
                                          .source = source});
    }
  }
  return out;
}

const std::vector<std::string>& ConsentLedger::PurposesForEvent(absl::string_view type,
                                                                absl::string_view name) const {
  if (auto it = options_.event_name_purposes.find(name);
      !name.empty() && it != options_.event_name_purposes.end()) {
    return it->second;
  }
  if (auto it = options_.event_type_purposes.find(type);
      it != options_.event_type_purposes.end()) {
    return it->second;
  }
  return options_.default_event_purposes.empty() ? all_purposes_
                                                 : options_.default_event_purposes;
}

std::vector<std::string> ConsentLedger::AllowedPurposesForEvent(const ConsentState& state,
                                                                absl::string_view type,
                                                                absl::string_view name) const {
  std::vector<std::string> allowed;
  for (const std::string& purpose : PurposesForEvent(type, name)) {
    if (state.Allowed(purpose)) allowed.push_back(purpose);
  }
  return allowed;
}

bool ConsentLedger::MayRead(const ConsentState& state, absl::string_view purpose,
                            DataKind kind) const {
  auto it = purposes_.find(purpose);
  if (it == purposes_.end() || !state.Allowed(purpose)) return false;
  const std::vector<DataKind>& kinds = it->second->data_kinds;
  return kinds.empty() || std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

}  // namespace cdp::consent
