// Identity resolution throughput on a store of many people, on a stream where 20% of events
// bridge channels (bench/feed_generator.h describes the population and the stream).
//
// The store is built once per process, on first use, in a fresh temporary directory that is
// removed at exit: every person's profiles (one, or two unlinked ones for a "split" person), then
// the identifier sets of their ordinary events (FeedGenerator::HistorySets: people who have been
// active before, so the stream's ordinary events bring nothing new) are resolved through
// IdentityGraph::Resolve in batches of ~1000 events, each batch written with a synced
// Store::Write under the profile writer mutex; then CompactAll, sync, a reopen of the store (as
// after a restart: it loads the resident blind index from disk), and one untimed
// Resolve pass over the stream so that the block cache and the data-key cache are warm. The
// preload rate is printed to stderr.
//
//   BM_Resolve       Resolve of 1000 events into a batch that is discarded: the store does not
//                    change, so bridging events merge again on every pass
//   BM_ResolveWrite  Resolve of 1000 events + Store::Write (synced): merges become durable
// items_per_second counts identifiers resolved; events_per_s counts events.
//
// Environment (all optional):
//   CDP_BENCH_PEOPLE          people preloaded; default 1000000 (use e.g. 20000 for a smoke run)
//   CDP_BENCH_EVENTS          events in the pre-normalized stream (replayed when exhausted);
//                             default 200000
//   CDP_BENCH_BLOCK_CACHE_MB  RocksDB block cache; default 1024
//   CDP_BENCH_EVENT_CACHE_PERCENT  share of it for event blocks; default 1: this benchmark
//                             reads no events, so the budget goes where it reads (the
//                             store's default, 50, would halve it)
//   CDP_BENCH_DATA_KEY_CACHE  data keys kept unwrapped; default the store's (1,000,000)
//   CDP_BENCH_RESIDENT_INDEX  0 turns the in-memory blind index off; default on
//   CDP_BENCH_DIR             parent of the temporary store; default the system temp dir
//
// Goal (docs/performance.md "Identity"): 200K identifier resolutions/s on 2 cores.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "bench/feed_generator.h"
#include "benchmark/benchmark.h"
#include "identity/identity_graph.h"
#include "identity/normalizer.h"
#include "storage/store.h"

namespace cdp::identity {
namespace {

using ::cdp::bench::EnvSize;
using ::cdp::bench::CheckOk;
using ::cdp::bench::SecondsSince;
using ::cdp::bench::LoadAverage;
using ::cdp::bench::EnvFlag;
using ::cdp::bench::ProcStatusMib;

constexpr size_t kEventsPerBatch = 1000;
constexpr int64_t kBaseMicros = 1'795'000'000'000'000;

class IdentityStore {
 public:
  static IdentityStore& Instance() {
    static IdentityStore instance;  // destroyed at exit, which removes the directory
    return instance;
  }

  ~IdentityStore() {
    graph_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  storage::Store& store() { return *store_; }
  IdentityGraph& graph() { return *graph_; }
  // The next kEventsPerBatch events of the stream (wrapping), and their identifier count.
  absl::Span<const EventIdentity> NextBatch(size_t* identifiers) {
    if (next_ + kEventsPerBatch > stream_.size()) next_ = 0;
    absl::Span<const EventIdentity> batch(stream_.data() + next_, kEventsPerBatch);
    *identifiers = identifier_counts_[next_ / kEventsPerBatch];
    next_ += kEventsPerBatch;
    return batch;
  }

 private:
  IdentityStore() { Load(); }

  EventIdentity Normalized(const std::vector<bench::FeedIdentifier>& raw, std::string message_id,
                           int64_t time_micros) {
    EventIdentity event{.message_id = std::move(message_id), .time_micros = time_micros};
    for (const bench::FeedIdentifier& id : raw) {
      NormalizeResult result = normalizer_->Normalize(id.type, id.value);
      if (!result.ok()) {
        CheckOk(absl::InvalidArgumentError(
                    absl::StrCat("generated ", id.type, " does not normalize: ", result.reason)),
                "normalize");
      }
      event.identifiers.push_back(std::move(result.identifier));
    }
    return event;
  }

  void ResolveAndWrite(absl::Span<const EventIdentity> events) {
    absl::MutexLock lock(&store_->profile_writer_mutex());
    storage::WriteBatch batch = store_->NewBatch();
    CheckOk(graph_->Resolve(events, batch).status(), "resolve");
    CheckOk(store_->Write(batch), "write");
  }

  void Load() {
    const size_t people = EnvSize("CDP_BENCH_PEOPLE", 1'000'000);
    const size_t stream_events = std::max(
        kEventsPerBatch, EnvSize("CDP_BENCH_EVENTS", 200'000) / kEventsPerBatch * kEventsPerBatch);
    const size_t cache_mb = EnvSize("CDP_BENCH_BLOCK_CACHE_MB", 1024);
    dir_ = ::cdp::bench::MakeTempDir("cdp-identity-bench");
    storage::StoreOptions store_options;
    store_options.data_dir = dir_;
    store_options.block_cache_bytes = cache_mb << 20;
    store_options.event_cache_percent = static_cast<uint32_t>(
        EnvSize("CDP_BENCH_EVENT_CACHE_PERCENT", 1));
    store_options.data_key_cache_capacity =
        EnvSize("CDP_BENCH_DATA_KEY_CACHE", store_options.data_key_cache_capacity);
    store_options.resident_identifiers = EnvFlag("CDP_BENCH_RESIDENT_INDEX", true);
    IdentityOptions options;
    options.custom_types = {bench::kCrmType};
    auto normalizer = Normalizer::Create(options);
    CheckOk(normalizer.status(), "normalizer");
    normalizer_ = *std::move(normalizer);
    auto open_store = [&] {
      graph_.reset();
      store_.reset();
      auto opened = storage::Store::Open(store_options);
      CheckOk(opened.status(), "open");
      store_ = *std::move(opened);
      auto graph = IdentityGraph::Create(store_.get(), options);
      CheckOk(graph.status(), "graph");
      graph_ = *std::move(graph);
    };
    open_store();

    bench::FeedGenerator feed(people, 42, kBaseMicros);
    std::fprintf(stderr, "identity bench setup: load average %s\n", LoadAverage().c_str());
    const auto load_start = std::chrono::steady_clock::now();
    std::vector<EventIdentity> pending, history;
    size_t profiles = 0, batches = 0;
    for (size_t person = 0; person < people; ++person) {
      int part = 0;
      for (const auto& ids : feed.PreloadProfiles(person)) {
        pending.push_back(Normalized(ids, absl::StrCat("pre-", person, "-", part++),
                                     kBaseMicros - int64_t{86'400'000'000}));
        ++profiles;
      }
      for (const auto& ids : feed.HistorySets(person)) {
        history.push_back(Normalized(ids, absl::StrCat("pre-", person, "-", part++),
                                     kBaseMicros - int64_t{43'200'000'000}));
      }
      if (pending.size() >= kEventsPerBatch || person + 1 == people) {
        ResolveAndWrite(pending);  // the profiles first, so no history set creates one
        for (size_t first = 0; first < history.size(); first += kEventsPerBatch) {
          const size_t n = std::min(kEventsPerBatch, history.size() - first);
          ResolveAndWrite(absl::Span<const EventIdentity>(history.data() + first, n));
        }
        pending.clear();
        history.clear();
        if (++batches % 100 == 0) {
          std::fprintf(stderr, "identity bench setup: %zu people, %.0f profiles/s\n", person + 1,
                       static_cast<double>(profiles) / SecondsSince(load_start));
        }
      }
    }
    const double load_seconds = SecondsSince(load_start);
    const IdentityCounters after_load = graph_->counters();
    const auto compact_start = std::chrono::steady_clock::now();
    CheckOk(store_->CompactAll(), "compact");
    const double compact_seconds = SecondsSince(compact_start);
    ::sync();
    // Measured as after a restart: the open loads the resident index from disk.
    const auto reopen_start = std::chrono::steady_clock::now();
    open_store();
    const double reopen_seconds = SecondsSince(reopen_start);

    // The stream, normalized up front: normalization is the pipeline's cost, not resolution's.
    size_t bridges = 0;
    for (const bench::FeedEvent& event : feed.Events(stream_events)) {
      bridges += event.shape >= bench::FeedEvent::Shape::kBridgeSplit ? 1 : 0;
      stream_.push_back(Normalized(feed.Identifiers(event), absl::StrCat("m", event.sequence),
                                   event.time_micros));
    }
    size_t identifiers = 0;
    for (size_t i = 0; i < stream_.size(); ++i) {
      identifiers += stream_[i].identifiers.size();
      if ((i + 1) % kEventsPerBatch == 0) {
        identifier_counts_.push_back(identifiers);
        identifiers = 0;
      }
    }
    // Warm the caches with one untimed pass (nothing written).
    const auto warm_start = std::chrono::steady_clock::now();
    for (size_t first = 0; first < stream_.size(); first += kEventsPerBatch) {
      absl::MutexLock lock(&store_->profile_writer_mutex());
      storage::WriteBatch batch = store_->NewBatch();
      CheckOk(
          graph_
              ->Resolve(absl::Span<const EventIdentity>(stream_.data() + first, kEventsPerBatch),
                        batch)
              .status(),
          "warm resolve");
    }
    const double warm_seconds = SecondsSince(warm_start);
    auto stats = store_->Stats();
    CheckOk(stats.status(), "stats");
    std::fprintf(stderr,
                 "identity bench setup: %zu people as %zu profiles (%llu created) in %zu synced "
                 "batches: %.1f s, %.0f profiles/s, %.0f people/s; compact %.1f s; reopen %.1f s "
                 "(resident index %s: %llu entries, %.0f MiB); stream %zu "
                 "events (%.1f%% bridging); warm pass %.1f s; live SST %.0f MiB; block cache "
                 "%zu MiB, %.0f MiB used; VmRSS %.0f MiB; load average %s\n",
                 people, profiles, static_cast<unsigned long long>(after_load.created), batches,
                 load_seconds, static_cast<double>(profiles) / load_seconds,
                 static_cast<double>(people) / load_seconds, compact_seconds, reopen_seconds,
                 stats->resident_index_enabled ? "on" : "off",
                 static_cast<unsigned long long>(stats->resident_index_entries),
                 static_cast<double>(stats->resident_index_bytes) / (1 << 20), stream_.size(),
                 100.0 * static_cast<double>(bridges) / static_cast<double>(stream_.size()),
                 warm_seconds, static_cast<double>(stats->live_sst_bytes) / (1 << 20), cache_mb,
                 static_cast<double>(stats->block_cache_usage_bytes) / (1 << 20),
                 ProcStatusMib("VmRSS"), LoadAverage().c_str());
  }

  std::string dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<IdentityGraph> graph_;
  std::vector<EventIdentity> stream_;
  std::vector<size_t> identifier_counts_;  // per batch of kEventsPerBatch
  size_t next_ = 0;
};

void Report(benchmark::State& state, size_t events, size_t identifiers,
            const IdentityCounters& before, const IdentityCounters& after) {
  state.SetItemsProcessed(static_cast<int64_t>(identifiers));
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["ids_per_event"] =
      static_cast<double>(identifiers) / static_cast<double>(std::max<size_t>(1, events));
  state.counters["merges_per_1k"] = 1000.0 * static_cast<double>(after.merges - before.merges) /
                                    static_cast<double>(std::max<size_t>(1, events));
  state.counters["created_per_1k"] = 1000.0 * static_cast<double>(after.created - before.created) /
                                     static_cast<double>(std::max<size_t>(1, events));
}

// Resolves batches of 1000 events; with `write`, each batch is also written (synced), otherwise
// the identity writes go into a batch that is dropped.
void RunResolve(benchmark::State& state, bool write) {
  IdentityStore& fixture = IdentityStore::Instance();
  const IdentityCounters before = fixture.graph().counters();
  size_t events = 0, identifiers = 0;
  for (auto _ : state) {
    size_t batch_identifiers = 0;
    absl::Span<const EventIdentity> batch_events = fixture.NextBatch(&batch_identifiers);
    absl::MutexLock lock(&fixture.store().profile_writer_mutex());
    storage::WriteBatch batch = fixture.store().NewBatch();
    auto resolved = fixture.graph().Resolve(batch_events, batch);
    absl::Status status = resolved.status();
    if (status.ok() && write) status = fixture.store().Write(batch);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(batch.byte_size());
    events += batch_events.size();
    identifiers += batch_identifiers;
  }
  Report(state, events, identifiers, before, fixture.graph().counters());
}

void BM_Resolve(benchmark::State& state) { RunResolve(state, /*write=*/false); }
BENCHMARK(BM_Resolve)->Unit(benchmark::kMillisecond)->UseRealTime();

// Resolve + synced Store::Write of each batch of 1000 events.
void BM_ResolveWrite(benchmark::State& state) { RunResolve(state, /*write=*/true); }
BENCHMARK(BM_ResolveWrite)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace cdp::identity

BENCHMARK_MAIN();
