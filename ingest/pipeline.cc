#include "ingest/pipeline.h"

#include <algorithm>
#include <chrono>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "consent/record_category.h"
#include "google/protobuf/arena.h"
#include "identity/event_envelope.h"
#include "ingest/conversation_store.h"
#include "ingest/identifier_masking.h"
#include "ingest/ingest.pb.h"
#include "ingest/profile_data.h"
#include "storage/key_codec.h"

namespace cdp::ingest {

using storage::Family;

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAccepted:
      return "accepted";
    case Outcome::kDuplicate:
      return "duplicate";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kSuppressed:
      return "suppressed";
    case Outcome::kFiltered:
      return "filtered";
  }
  return "unknown";
}

namespace {

google::protobuf::ArenaOptions CallArenaOptions() {
  google::protobuf::ArenaOptions options;
  options.start_block_size = 64 << 10;
  options.max_block_size = 1 << 20;
  return options;
}

}  // namespace

// What one Apply call has read or changed so far, so later events of the call (and merges) see
// the effect of earlier ones before anything is written.
struct Pipeline::CallState {
  storage::WriteBatch* batch = nullptr;
  // The call's profile data lives on one arena, freed at once when the call ends: a call parses
  // and rewrites the data of about one profile per event, whose maps would otherwise be as many
  // heap allocations to make and free.
  google::protobuf::Arena arena{CallArenaOptions()};
  absl::flat_hash_map<ProfileId, pb::ProfileData*> data;  // on `arena`
  absl::flat_hash_set<ProfileId> combined;  // survivors whose data a merge hook combined
  absl::flat_hash_map<ProfileId, std::vector<consent::ConsentChange>> consent;
  ProfileDataDrops dropped;  // names the profile limits kept out
};

// Combines traits, facts and consent of merged profiles into the call's caches.
class Pipeline::MergeHook final : public identity::MergeHook {
 public:
  explicit MergeHook(Pipeline* pipeline) : pipeline_(pipeline) {}

  absl::Status OnMerge(const ProfileId& survivor, absl::Span<const ProfileId> absorbed,
                       storage::WriteBatch& batch) override {
    Pipeline& p = *pipeline_;
    if (p.call_ == nullptr) return absl::InternalError("merge outside an ingest call");
    CDP_ASSIGN_OR_RETURN(std::vector<consent::ConsentChange> resolved,
                         p.deps_.consent->CombineOnMerge(survivor, absorbed, batch));
    CDP_ASSIGN_OR_RETURN(std::vector<consent::ConsentChange> history,
                         p.deps_.consent->History(survivor));
    CDP_ASSIGN_OR_RETURN(pb::ProfileData * data, p.TakeData(survivor));
    for (const ProfileId& id : absorbed) {
      CDP_ASSIGN_OR_RETURN(std::vector<consent::ConsentChange> more,
                           p.deps_.consent->History(id));
      history.insert(history.end(), more.begin(), more.end());
      CDP_ASSIGN_OR_RETURN(pb::ProfileData * absorbed_data, p.TakeData(id));
      CombineProfileData(*absorbed_data, p.options_.profile_limits, data, &p.call_->dropped);
    }
    history.insert(history.end(), resolved.begin(), resolved.end());
    p.call_->consent[survivor] = std::move(history);
    p.call_->data[survivor] = data;
    p.call_->combined.insert(survivor);
    return absl::OkStatus();
  }

  // The profile data's event total, read into the call's cache, where the merge (OnMerge) and
  // the events (PrefetchData) then find it. Resolution runs before any event of the call changes
  // profile data, so the cache holds committed data here. nullopt for a profile with no events
  // recorded in its data, which the graph then counts in the store.
  absl::StatusOr<std::vector<std::optional<uint64_t>>> EventCounts(
      absl::Span<const ProfileId> profiles) override {
    Pipeline& p = *pipeline_;
    std::vector<std::optional<uint64_t>> counts(profiles.size());
    if (p.call_ == nullptr) return counts;  // a resolution outside an ingest call
    CDP_RETURN_IF_ERROR(p.CacheData(profiles));
    for (size_t i = 0; i < profiles.size(); ++i) {
      const uint64_t total = p.call_->data.at(profiles[i])->total_events();
      if (total > 0) counts[i] = total;
    }
    return counts;
  }

  // Each part's traits and facts are rebuilt from the events it now holds, so no part keeps
  // what another person's events set.
  absl::Status OnUnmerge(absl::Span<const identity::UnmergedPart> parts,
                         storage::WriteBatch& batch) override {
    if (pipeline_->call_ != nullptr) return absl::InternalError("unmerge inside an ingest call");
    // Consent that came with an event follows the event; consent set through an identifier
    // follows the identifier.
    consent::ConsentLedger::SplitOwners owners;
    for (const identity::UnmergedPart& part : parts) {
      for (const storage::Record* record : part.events) {
        CDP_ASSIGN_OR_RETURN(identity::StoredEventView event,
                             identity::DecodeEventView(record->value));
        owners.by_message_id.emplace(std::string(event.message_id), part.profile);
      }
      for (const identity::Identifier& id : part.identifiers) {
        const crypto::Digest hash = pipeline_->deps_.store->blind_index().Hash(id.type, id.value);
        owners.by_subject.emplace(std::string(hash.begin(), hash.end()), part.profile);
      }
    }
    auto original = std::find_if(parts.begin(), parts.end(),
                                 [](const identity::UnmergedPart& p) { return p.is_original; });
    if (original == parts.end()) return absl::InternalError("unmerge without an original part");
    CDP_RETURN_IF_ERROR(
        pipeline_->deps_.consent->SplitOnUnmerge(original->profile, owners, batch).status());
    if (pipeline_->deps_.conversations != nullptr) {
      CDP_RETURN_IF_ERROR(pipeline_->deps_.conversations
                              ->SplitOnUnmerge(original->profile, owners.by_subject, batch)
                              .status());
    }
    for (const identity::UnmergedPart& part : parts) {
      if (part.events.empty()) {
        if (part.is_original) batch.Delete(Family::kProfiles, ProfileDataKey(part.profile));
        continue;
      }
      CDP_ASSIGN_OR_RETURN(pb::ProfileData data,
                           RebuildProfileData(pipeline_->deps_.store->codec(), part.events,
                                              pipeline_->options_.profile_limits));
      CDP_RETURN_IF_ERROR(batch.Put(
          Family::kProfiles, ProfileDataKey(part.profile),
          {.category = consent::kCategoryProfileData, .time_micros = data.last_seen_micros()},
          data.SerializeAsString()));
    }
    return absl::OkStatus();
  }

 private:
  Pipeline* pipeline_;
};

Pipeline::Pipeline(const Deps& deps, PipelineOptions options)
    : deps_(deps),
      options_(std::move(options)),
      sampler_(options_.dictionary),
      watch_(options_.refresh),
      hook_(std::make_unique<MergeHook>(this)) {
  if (deps_.clock == nullptr) deps_.clock = &deps_.store->clock();
}

Pipeline::~Pipeline() = default;

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(const Deps& deps,
                                                           PipelineOptions options) {
  if (!deps.store || !deps.identity || !deps.normalizer || !deps.consent) {
    return absl::InvalidArgumentError("pipeline needs a store, identity graph, normalizer and "
                                      "consent ledger");
  }
  std::unique_ptr<Pipeline> pipeline(new Pipeline(deps, std::move(options)));
  deps.identity->AddMergeHook(pipeline->hook_.get());
  return pipeline;
}

void Pipeline::SetJson(const ProfileId& profile, absl::string_view json, pb::EventBody* body) {
  if (options_.compress_events) {
    const storage::DictionaryCodec& codec = deps_.store->codec();
    const uint32_t dictionary = codec.Compress(json, body->mutable_json_compressed());
    if (dictionary != storage::DictionaryCodec::kNone) {
      body->set_json_dictionary(dictionary);
      if (watch_.watched() != dictionary) {  // the first use since it was trained or loaded
        watch_.Watch(dictionary, deps_.store->DictionaryFirstRatio(dictionary));
        baseline_recorded_ = watch_.baseline_ratio() > 0;
        resampling_ = false;
      }
      watch_.Add(json.size(), body->json_compressed().size());
      if (resampling_) sampler_.Add(profile, json);
      return;
    }
    sampler_.Add(profile, json);
  }
  body->set_json(json.data(), json.size());
}

void Pipeline::MaybeTrainDictionary() {
  if (!options_.compress_events) return;
  const uint32_t current = deps_.store->codec().current();
  if (current != storage::DictionaryCodec::kNone) {
    if (!watch_.stale() || watch_.watched() != current ||
        current >= storage::DictionaryCodec::kMaxDictionaries) {
      return;
    }
    if (!resampling_) {
      resampling_ = true;
      LogInfo("ingest", absl::StrFormat("value dictionary %d compresses events %.2fx, against "
                                        "%.2fx when it was new: sampling for a newer one",
                                        current, watch_.last_ratio(), watch_.baseline_ratio()));
      return;
    }
  }
  if (!sampler_.Ready()) return;
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::string> dictionary = sampler_.Train();
  absl::StatusOr<uint32_t> id =
      dictionary.ok() ? deps_.store->AddDictionary(*std::move(dictionary))
                      : absl::StatusOr<uint32_t>(dictionary.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!id.ok()) {
    LogWarning("ingest", absl::StrCat("no new value dictionary, events are stored as before (",
                                      id.status().ToString(), ")"));
    return;
  }
  LogInfo("ingest", absl::StrFormat("trained value dictionary %d in %.2f s: events are stored "
                                    "compressed with it from now on",
                                    *id, seconds));
}

void Pipeline::RecordBaseline() {
  if (baseline_recorded_ || watch_.baseline_ratio() == 0) return;
  baseline_recorded_ = true;  // one attempt: a failure is logged, and a restart measures it again
  const absl::Status recorded =
      deps_.store->RecordDictionaryRatio(watch_.watched(), watch_.baseline_ratio());
  if (!recorded.ok()) {
    LogWarning("ingest", absl::StrCat("cannot record how well value dictionary ", watch_.watched(),
                                      " compresses (", recorded.ToString(),
                                      "): a restart measures it again"));
  }
}

Pipeline::Compression Pipeline::compression() const {
  absl::MutexLock lock(&compression_mu_);
  return compression_;
}

absl::Status Pipeline::CacheData(absl::Span<const ProfileId> profiles) {
  std::vector<ProfileId> missing;
  std::vector<std::string> keys;
  absl::flat_hash_set<ProfileId> wanted;
  for (const ProfileId& profile : profiles) {
    if (call_->data.contains(profile) || !wanted.insert(profile).second) continue;
    missing.push_back(profile);
    keys.push_back(ProfileDataKey(profile));
  }
  CDP_ASSIGN_OR_RETURN(std::vector<std::optional<storage::Record>> records,
                       deps_.store->MultiGet(Family::kProfiles, keys));
  for (size_t i = 0; i < missing.size(); ++i) {
    pb::ProfileData* data = google::protobuf::Arena::CreateMessage<pb::ProfileData>(&call_->arena);
    call_->data[missing[i]] = data;
    if (records[i] && !data->ParseFromString(records[i]->value)) {
      return absl::DataLossError(
          absl::StrCat("profile data of ", missing[i].ToHex(), " is not a valid record"));
    }
  }
  return absl::OkStatus();
}

absl::Status Pipeline::PrefetchData(absl::Span<const identity::Resolution> resolutions) {
  std::vector<ProfileId> profiles;
  for (const identity::Resolution& resolution : resolutions) {
    if (resolution.outcome == identity::Resolution::Outcome::kResolved) {
      profiles.push_back(resolution.profile);
    }
  }
  return CacheData(profiles);
}

absl::StatusOr<pb::ProfileData*> Pipeline::TakeData(const ProfileId& profile) {
  CDP_ASSIGN_OR_RETURN(pb::ProfileData * cached, CachedData(profile));
  call_->data.erase(profile);
  return cached;
}

absl::StatusOr<pb::ProfileData*> Pipeline::CachedData(const ProfileId& profile) {
  auto it = call_->data.find(profile);
  if (it == call_->data.end()) {  // rare: PrefetchData and merges cache what a call reads
    CDP_RETURN_IF_ERROR(CacheData({&profile, 1}));
    it = call_->data.find(profile);
  }
  return it->second;
}

absl::StatusOr<std::vector<consent::ConsentChange>*> Pipeline::CachedConsent(
    const ProfileId& profile) {
  auto it = call_->consent.find(profile);
  if (it == call_->consent.end()) {
    CDP_ASSIGN_OR_RETURN(std::vector<consent::ConsentChange> history,
                         deps_.consent->History(profile));
    it = call_->consent.emplace(profile, std::move(history)).first;
  }
  return &it->second;
}

// An alias's previousId is typed as a user_id by the parser; it is usually an earlier anonymous
// id, so it is taken as one unless a profile already holds it as a user_id.
absl::Status Pipeline::RetypeAliasPreviousId(const ParsedEvent& event,
                                             identity::EventIdentity* identity) {
  if (event.type != EventType::kAlias || event.previous_id.empty()) return absl::OkStatus();
  for (identity::Identifier& id : identity->identifiers) {
    if (id.type != identity::kUserId || id.value == event.user_id) continue;
    CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> holder, deps_.identity->FindProfile(id));
    if (!holder) id.type = std::string(identity::kAnonymousId);
  }
  return absl::OkStatus();
}

absl::StatusOr<IngestSummary> Pipeline::Apply(ParseOutput parsed) {
  IngestSummary summary;
  for (Rejection& rejection : parsed.rejections) {
    summary.records.push_back({.outcome = Outcome::kRejected,
                               .source = rejection.source,
                               .position = rejection.position,
                               .reason = rejection.reason});
    ++summary.rejected;
  }
  summary.rejections = std::move(parsed.rejections);

  // What needs no store state is done before taking the writer mutex, so that concurrent calls
  // overlap it with each other's writes: messageId hashes and identifier normalization.
  const size_t n = parsed.events.size();
  std::vector<crypto::Digest> all_hashes;
  std::vector<std::string> dedup_keys;
  std::vector<identity::EventIdentity> normalized(n);
  std::vector<std::vector<std::string>> not_identifiers(n);  // "type/outcome" per event
  all_hashes.reserve(n);
  dedup_keys.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const ParsedEvent& event = parsed.events[i];
    all_hashes.push_back(deps_.store->blind_index().Hash("message_id", event.message_id));
    dedup_keys.push_back(storage::DigestKey(all_hashes.back()));
    normalized[i] = {.message_id = event.message_id, .time_micros = event.time_micros};
    for (const RawIdentifier& raw : event.identifiers) {
      identity::NormalizeResult result = deps_.normalizer->Normalize(raw.type, raw.value);
      if (result.ok()) {
        normalized[i].identifiers.push_back(std::move(result.identifier));
      } else {
        not_identifiers[i].push_back(
            absl::StrCat(raw.type, "/", identity::NormalizeOutcomeName(result.outcome)));
      }
    }
  }

  absl::ReleasableMutexLock lock(&deps_.store->profile_writer_mutex());
  storage::WriteBatch batch = deps_.store->NewBatch();
  CallState call{.batch = &batch};
  call_ = &call;
  absl::Cleanup clear_call = [this] { call_ = nullptr; };
  const int64_t now = deps_.clock->NowMicros();

  // Dedup (one MultiGet for the call) picks the records that go on to resolution.
  CDP_ASSIGN_OR_RETURN(std::vector<std::optional<storage::Record>> stored,
                       deps_.store->MultiGet(Family::kDedup, dedup_keys));
  std::vector<RecordResult> results(n);
  std::vector<size_t> fresh;  // indexes of events to resolve
  std::vector<identity::EventIdentity> identities;
  absl::flat_hash_set<std::string> seen_in_call;
  for (size_t i = 0; i < n; ++i) {
    const ParsedEvent& event = parsed.events[i];
    RecordResult& result = results[i];
    result.position = i < parsed.event_positions.size() ? parsed.event_positions[i] : i;
    result.message_id = event.message_id;
    if (stored[i] || !seen_in_call.insert(dedup_keys[i]).second) {
      result.outcome = Outcome::kDuplicate;
      continue;
    }
    for (const std::string& what : not_identifiers[i]) ++summary.identifier_rejections[what];
    CDP_RETURN_IF_ERROR(RetypeAliasPreviousId(event, &normalized[i]));
    fresh.push_back(i);
    identities.push_back(std::move(normalized[i]));
  }

  CDP_ASSIGN_OR_RETURN(std::vector<identity::Resolution> resolutions,
                       deps_.identity->Resolve(identities, batch));
  CDP_RETURN_IF_ERROR(PrefetchData(resolutions));

  absl::flat_hash_set<ProfileId> touched;
  for (size_t k = 0; k < fresh.size(); ++k) {
    const ParsedEvent& event = parsed.events[fresh[k]];
    RecordResult& result = results[fresh[k]];
    const identity::Resolution& resolution = resolutions[k];
    if (resolution.outcome == identity::Resolution::Outcome::kSuppressed) {
      result.outcome = Outcome::kSuppressed;
      continue;
    }
    if (resolution.outcome == identity::Resolution::Outcome::kNoIdentifiers) {
      result.outcome = Outcome::kRejected;
      result.reason = "no usable identifier (userId, anonymousId and the others were invalid "
                      "or blocked placeholder values)";
      summary.rejections.push_back(
          {.position = result.position, .reason = result.reason, .raw = event.json});
      continue;
    }
    const ProfileId& profile = resolution.profile;
    result.profile = profile;

    // Consent carried by the event is recorded whatever happens to the event itself.
    CDP_ASSIGN_OR_RETURN(std::vector<consent::ConsentChange> * history, CachedConsent(profile));
    bool changed_consent = false;
    if (!event.consent_preferences.empty()) {
      consent::PreferenceChanges changes = deps_.consent->FromPreferences(
          event.consent_preferences,
          {.kind = consent::ConsentSource::Kind::kEvent, .detail = event.message_id},
          event.time_micros);
      for (const std::string& category : changes.unknown_categories) {
        ++summary.unknown_consent_categories[category];
      }
      for (consent::ConsentChange& change : changes.changes) {
        CDP_RETURN_IF_ERROR(deps_.consent->Append(batch, profile, change));
        history->push_back(std::move(change));
        changed_consent = true;
      }
    }
    // The dedup entry makes a replay a duplicate. An event consent filters out leaves one only
    // when it changed the ledger (a replay must not append its changes twice); otherwise a replay
    // is filtered again and nothing of it is kept. Either way an erasure finds every entry: from
    // the stored event's key, or from the ledger change that names the messageId.
    const auto put_dedup = [&] {
      return batch.Put(Family::kDedup, dedup_keys[fresh[k]],
                       {.category = consent::kCategoryDedup, .time_micros = now},
                       std::string(profile.bytes().data(), profile.bytes().size()));
    };

    const consent::ConsentState state = deps_.consent->Derive(*history);
    const char* type_name = EventTypeName(event.type);
    std::vector<std::string> purposes =
        deps_.consent->AllowedPurposesForEvent(state, type_name, event.name);
    if (purposes.empty()) {
      if (changed_consent) CDP_RETURN_IF_ERROR(put_dedup());
      result.outcome = Outcome::kFiltered;
      continue;
    }
    CDP_RETURN_IF_ERROR(put_dedup());
    pb::EventBody body;
    body.set_type(static_cast<int32_t>(event.type));
    body.set_name(event.name);
    SetJson(profile, event.json, &body);
    body.set_identifier_spans(IdentifierSpans(event.json, event.identifiers));
    for (std::string& purpose : purposes) body.add_purposes(std::move(purpose));
    body.set_channel(event.channel);
    body.set_received_micros(now);
    CDP_RETURN_IF_ERROR(batch.Put(
        Family::kEvents,
        identity::IdentityGraph::EventKey(profile, event.time_micros, all_hashes[fresh[k]]),
        {.category = consent::EventCategory(type_name, event.name),
         .time_micros = event.time_micros},
        identity::EncodeEvent(identities[k], body.SerializeAsString())));

    CDP_ASSIGN_OR_RETURN(pb::ProfileData * data, CachedData(profile));
    ApplyTraits(event.traits, event.time_micros, event.message_id, options_.profile_limits, data,
                &call.dropped);
    RecordEvent(event, options_.profile_limits, data, &call.dropped);
    touched.insert(profile);
    result.outcome = Outcome::kAccepted;
  }
  // Profiles that absorbed others carry combined data even without an event of their own.
  touched.insert(call.combined.begin(), call.combined.end());
  for (const ProfileId& profile : touched) {
    const pb::ProfileData& data = *call.data.at(profile);
    CDP_RETURN_IF_ERROR(batch.Put(
        Family::kProfiles, ProfileDataKey(profile),
        {.category = consent::kCategoryProfileData, .time_micros = data.last_seen_micros()},
        data.SerializeAsString()));
  }
  summary.dropped = call.dropped;
  CDP_ASSIGN_OR_RETURN(storage::PendingWrite pending, deps_.store->WriteVisible(batch));
  RecordBaseline();
  MaybeTrainDictionary();
  {
    absl::MutexLock published(&compression_mu_);
    compression_ = {watch_.watched(), watch_.baseline_ratio(), watch_.last_ratio()};
  }
  // The next call may read and build while this one waits for the WAL sync, and concurrent calls
  // share syncs (group commit). Nothing is acknowledged before the batch is durable.
  call_ = nullptr;
  std::move(clear_call).Cancel();
  lock.Release();
  CDP_RETURN_IF_ERROR(deps_.store->WaitDurable(std::move(pending)));
  if (summary.dropped.any()) {  // counts only: names may carry personal data
    LogWarning("ingest", absl::StrFormat(
                             "profiles at their limits kept out %d trait, %d event and %d group "
                             "names of accepted events (ingest.max_traits_per_profile, "
                             "max_event_names_per_profile, max_groups_per_profile)",
                             summary.dropped.traits, summary.dropped.event_names,
                             summary.dropped.groups));
  }

  for (RecordResult& result : results) {
    switch (result.outcome) {
      case Outcome::kAccepted: ++summary.accepted; break;
      case Outcome::kDuplicate: ++summary.duplicate; break;
      case Outcome::kRejected: ++summary.rejected; break;
      case Outcome::kSuppressed: ++summary.suppressed; break;
      case Outcome::kFiltered: ++summary.filtered; break;
    }
    summary.records.push_back(std::move(result));
  }
  std::stable_sort(summary.records.begin(), summary.records.end(),
                   [](const RecordResult& a, const RecordResult& b) {
                     return a.position < b.position;
                   });
  return summary;
}

}  // namespace cdp::ingest
