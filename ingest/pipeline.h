#pragma once
// Pipeline: applies parsed events to the store: dedup, identifier normalization, identity
// resolution, consent, events, traits and computed facts, in one atomic, synced write per call.
//
// Every record of a call gets exactly one outcome:
//   accepted    stored (for the purposes the person allows)
//   duplicate   its messageId was seen within the dedup window (or earlier in the call)
//   rejected    with its position and a reason (parse errors, no usable identifier)
//   suppressed  it names an erased person's identifier; nothing is stored
//   filtered    the person allows none of the purposes the event is collected for; consent
//               changes it carried are still recorded
// Apply returns only after the write is durable; on error the caller may retry the same records
// (they are idempotent by messageId): nothing of the call was applied, or (when the WAL sync
// failed) the store reopens and keeps what reached the disk, which a retry then finds.
//
// Thread safety: Apply may be called concurrently; calls serialize on the store's
// profile_writer_mutex() (the single sequencing writer of DESIGN.md), after hashing messageIds and
// normalizing identifiers outside it, so concurrent calls overlap that work with each other. The
// mutex is released once the call's batch is applied (Store::WriteVisible) and before its WAL sync
// (Store::WaitDurable): the next call works while this one waits for the disk, and concurrent
// calls share syncs (group commit).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "consent/consent_ledger.h"
#include "identity/identity_graph.h"
#include "identity/normalizer.h"
#include "ingest/compression_watch.h"
#include "ingest/dictionary_sampler.h"
#include "ingest/ingest.pb.h"
#include "ingest/parse_output.h"
#include "ingest/profile_data.h"
#include "storage/store.h"

namespace cdp::ingest {

class ConversationStore;

enum class Outcome { kAccepted, kDuplicate, kRejected, kSuppressed, kFiltered };
const char* OutcomeName(Outcome outcome);

struct RecordResult {
  Outcome outcome = Outcome::kRejected;
  std::string source;
  uint64_t position = 0;     // line (NDJSON, CSV) or batch index, as the parser reported it
  std::string message_id;    // empty for records rejected before parsing
  ProfileId profile;         // accepted and filtered records
  std::string reason;        // rejected records; never holds a field value
};

struct IngestSummary {
  uint64_t accepted = 0, duplicate = 0, rejected = 0, suppressed = 0, filtered = 0;
  std::vector<RecordResult> records;  // sorted by position
  // Every rejected record with its raw form, for the dead-letter file: the parser's rejections
  // first, then the records the pipeline rejected.
  std::vector<Rejection> rejections;
  // Identifier values that were not identifiers, by "type/outcome" ("email/invalid").
  std::map<std::string, uint64_t> identifier_rejections;
  // Consent categories on events that map to no purpose.
  std::map<std::string, uint64_t> unknown_consent_categories;
  // Trait, event and group names not kept because a profile was at its limits
  // (PipelineOptions::profile_limits); the events themselves were accepted.
  ProfileDataDrops dropped;

  uint64_t total() const { return accepted + duplicate + rejected + suppressed + filtered; }
};

struct PipelineOptions {
  // Store each event's JSON compressed with the store's value dictionary (3.4× smaller on the
  // benchmark feed: on disk, in the WAL and in the block cache). The first events are stored as
  // they are and sampled (see DictionarySamplerOptions); then a dictionary is trained on them
  // (privacy rules in dictionary_sampler.h) and recorded. Events stored either way stay
  // readable. Default true.
  bool compress_events = true;
  DictionarySamplerOptions dictionary;
  // When the newest dictionary has fallen behind the feed (see CompressionWatch), the events
  // that follow are sampled again, still stored compressed, and a newer dictionary is trained on
  // them: a store whose first events were a backfill of one kind learns the live feed too.
  CompressionWatchOptions refresh;
  // Caps on the distinct trait, event and group names one profile keeps (profile_data.h).
  ProfileDataLimits profile_limits;
};

class Pipeline {
 public:
  struct Deps {
    storage::Store* store = nullptr;
    identity::IdentityGraph* identity = nullptr;
    const identity::Normalizer* normalizer = nullptr;
    consent::ConsentLedger* consent = nullptr;
    // Optional: when set, an unmerge also gives conversations to the part that keeps the
    // identifier they were put through. Must outlive the pipeline.
    ConversationStore* conversations = nullptr;
    Clock* clock = nullptr;  // null = the store's clock
  };
  // kInvalidArgument when a dependency is missing. Registers itself as a merge hook of the graph,
  // so it must outlive every Resolve of that graph.
  static absl::StatusOr<std::unique_ptr<Pipeline>> Create(const Deps& deps,
                                                          PipelineOptions options = {});
  ~Pipeline();

  // Applies `parsed` (its rejections are carried into the summary as rejected records).
  absl::StatusOr<IngestSummary> Apply(ParseOutput parsed);

  // How the newest value dictionary compresses event JSON, as measured since this pipeline
  // first used it (CompressionWatch), as of the last Apply; ratios are 0 until a window was
  // measured. Never waits for an Apply in progress.
  struct Compression {
    uint32_t dictionary = 0;  // 0: none yet
    double baseline_ratio = 0;
    double last_ratio = 0;
  };
  Compression compression() const;

 private:
  class MergeHook;
  struct CallState;
  Pipeline(const Deps& deps, PipelineOptions options);
  // Sets the body's JSON, compressed when the store has a dictionary, else as it is (then
  // offered to the sampler).
  void SetJson(const ProfileId& profile, absl::string_view json, pb::EventBody* body);
  // Trains and records a dictionary once the sample is complete: the store's first, or a newer
  // one when the watch found the newest stale (then it starts the sampling). Failures are logged:
  // events stay stored as they were and sampling starts over.
  void MaybeTrainDictionary();
  // Records the watched dictionary's baseline ratio in the store once it is measured, so that
  // after a restart the watch compares with it instead of measuring a new one.
  void RecordBaseline();
  // Reads, in one MultiGet, the profile data of every one of `profiles` the call has not cached
  // yet (an absent record caches as empty), so that CachedData finds it.
  absl::Status CacheData(absl::Span<const ProfileId> profiles);
  // CacheData for every resolved profile.
  absl::Status PrefetchData(absl::Span<const identity::Resolution> resolutions);
  // The profile's data, taken out of the call's cache (read first if not there); it stays on the
  // call's arena.
  absl::StatusOr<pb::ProfileData*> TakeData(const ProfileId& profile);
  // The profile's data in the call's cache (read first if not there).
  absl::StatusOr<pb::ProfileData*> CachedData(const ProfileId& profile);
  absl::StatusOr<std::vector<consent::ConsentChange>*> CachedConsent(const ProfileId& profile);
  absl::Status RetypeAliasPreviousId(const ParsedEvent& event, identity::EventIdentity* identity);

  Deps deps_;
  PipelineOptions options_;
  mutable absl::Mutex compression_mu_;
  Compression compression_ ABSL_GUARDED_BY(compression_mu_);  // published after each Apply
  DictionarySampler sampler_;  // guarded by the profile writer mutex, as the next two
  CompressionWatch watch_;     // of the newest dictionary
  bool resampling_ = false;    // sampling for a dictionary to follow a stale one
  bool baseline_recorded_ = false;  // the watched dictionary's baseline is in the store
  std::unique_ptr<MergeHook> hook_;
  CallState* call_ = nullptr;  // the Apply in progress; guarded by the profile writer mutex
};

}  // namespace cdp::ingest
