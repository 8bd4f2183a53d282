// Sustained durable ingest: Segment NDJSON parsed by SegmentParser and applied by Pipeline::Apply
// (dedup, normalization, identity resolution, consent, sealed events and traits, one synced
// write per call) on a store of many people. Feed: bench/feed_generator.h (people with web, app,
// email, phone and CRM identifiers; events shuffled and out of order; 20% bridging channels).
//
// The store is built once per process, on first use, in a fresh temporary directory that is
// removed at exit: every person's profiles (one, or two unlinked ones for a "split" person) are
// ingested as identify events through the same Pipeline, in calls of CDP_BENCH_CALL_EVENTS, then
// compacted. The preload rate and peak memory are printed to stderr.
//
//   BM_Parse   SegmentParser::ParseNdjson of calls of the stream (no store)
//   BM_MaskEvent/0  IdentifierMasker::MaskEvent of one stored event's JSON, parsing it (a cx
//              lookup's cost per older event returned; includes copying the JSON)
//   BM_MaskEvent/1  MaskEventAt the identifier spans found at ingest (per newer event)
//   BM_Ingest  the whole stream once, one Apply per call: the NDJSON text of a call is generated
//              untimed, then parse + Apply are timed (manual time). Counters: events_per_s end
//              to end, apply_events_per_s (Apply alone), parse_events_per_s, peak_rss_mib
//              (VmHWM of the process, preload included; it counts the pages of memory-mapped
//              SST files, which are page cache), peak_anon_mib (the largest RssAnon, the
//              process's own memory, sampled before the stream and after each of its calls),
//              and the newest value dictionary with the compression of event JSON it reached
//              (json_dictionary, json_ratio: its last window of 20,000 events; 0 when not
//              measured)
//   BM_IngestParallel  the same stream applied by CDP_BENCH_CALLERS threads at once, each taking
//              the next call (as the server runs concurrent ingest calls from several feeds): all
//              NDJSON texts are generated first, untimed; events_per_s is over the wall time of
//              parse + Apply on every thread; cpu_us_per_event counts the whole process;
//              end_anon_mib is RssAnon after the stream. Run it alone (--benchmark_filter):
//              after BM_Ingest the fixture's split people are merged already.
//
// Environment (all optional):
//   CDP_BENCH_PEOPLE          people preloaded; default 1000000 (use e.g. 20000 for a smoke run)
//   CDP_BENCH_EVENTS          events in the measured stream; default 1000000
//   CDP_BENCH_CALL_EVENTS     events per Apply call; default 1000
//   CDP_BENCH_CALLERS         BM_IngestParallel's threads; default 2
//   CDP_BENCH_BLOCK_CACHE_MB  RocksDB block cache; default 256 (the store's default)
//   CDP_BENCH_EVENT_CACHE_PERCENT  share of it for event blocks; default 1: ingest reads events
//                             only to move them on a merge, so the budget goes where it
//                             reads (the store's default, 50, would halve it)
//   CDP_BENCH_WRITE_BUFFER_MB memtable size per column family; default 32 (the store's default)
//   CDP_BENCH_RESIDENT_INDEX  0 turns the in-memory blind index off; default on
//   CDP_BENCH_COMPRESS        0 stores event JSON uncompressed (PipelineOptions::compress_events);
//                             default on
//   CDP_BENCH_MMAP            0 reads every family through the block cache
//                             (StoreOptions::mmap_reads); default on
//   CDP_BENCH_DIR             parent of the temporary store; default the system temp dir
//
// Goal (docs/performance.md "Ingest"): 100,000 events/s, peak memory under 2 GiB, 1M people.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/feed_generator.h"
#include "benchmark/benchmark.h"
#include "consent/consent_ledger.h"
#include "identity/identity_graph.h"
#include "identity/normalizer.h"
#include "ingest/identifier_masking.h"
#include "ingest/pipeline.h"
#include "ingest/segment_parser.h"
#include "storage/store.h"

namespace cdp::ingest {
namespace {

using ::cdp::bench::EnvSize;
using ::cdp::bench::CheckOk;
using ::cdp::bench::SecondsSince;
using ::cdp::bench::LoadAverage;
using ::cdp::bench::ProcStatusMib;
using ::cdp::bench::EnvFlag;
using ::cdp::bench::ProcessCpuSeconds;

constexpr int64_t kBaseMicros = 1'795'000'000'000'000;

// NDJSON text of `events`.
std::string Ndjson(const bench::FeedGenerator& feed, const bench::FeedEvent* events, size_t n) {
  std::string text;
  for (size_t i = 0; i < n; ++i) absl::StrAppend(&text, feed.ToJson(events[i]), "\n");
  return text;
}

class IngestStore {
 public:
  static IngestStore& Instance() {
    static IngestStore instance;  // destroyed at exit, which removes the directory
    return instance;
  }

  ~IngestStore() {
    pipeline_.reset();
    ledger_.reset();
    graph_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Pipeline& pipeline() { return *pipeline_; }
  SegmentParser& parser() { return *parser_; }
  bench::FeedGenerator& feed() { return *feed_; }
  identity::IdentityGraph& graph() { return *graph_; }
  size_t call_events() const { return call_events_; }

 private:
  IngestStore() { Load(); }

  void Load() {
    const size_t people = EnvSize("CDP_BENCH_PEOPLE", 1'000'000);
    call_events_ = EnvSize("CDP_BENCH_CALL_EVENTS", 1000);
    const size_t cache_mb = EnvSize("CDP_BENCH_BLOCK_CACHE_MB", 256);
    dir_ = ::cdp::bench::MakeTempDir("cdp-ingest-bench");
    storage::StoreOptions store_options;
    store_options.data_dir = dir_;
    store_options.block_cache_bytes = cache_mb << 20;
    store_options.event_cache_percent = static_cast<uint32_t>(
        EnvSize("CDP_BENCH_EVENT_CACHE_PERCENT", 1));
    store_options.write_buffer_bytes = EnvSize("CDP_BENCH_WRITE_BUFFER_MB", 32) << 20;
    store_options.resident_identifiers = EnvFlag("CDP_BENCH_RESIDENT_INDEX", true);
    store_options.mmap_reads = EnvFlag("CDP_BENCH_MMAP", true);
    auto opened = storage::Store::Open(store_options);
    CheckOk(opened.status(), "open");
    store_ = *std::move(opened);
    identity::IdentityOptions identity_options;
    identity_options.custom_types = {bench::kCrmType};
    auto normalizer = identity::Normalizer::Create(identity_options);
    CheckOk(normalizer.status(), "normalizer");
    normalizer_ = *std::move(normalizer);
    auto graph = identity::IdentityGraph::Create(store_.get(), identity_options);
    CheckOk(graph.status(), "graph");
    graph_ = *std::move(graph);
    auto ledger = consent::ConsentLedger::Create(store_.get(), consent::ConsentOptions{});
    CheckOk(ledger.status(), "consent");
    ledger_ = *std::move(ledger);
    auto pipeline = Pipeline::Create({.store = store_.get(),
                                      .identity = graph_.get(),
                                      .normalizer = normalizer_.get(),
                                      .consent = ledger_.get()},
                                     {.compress_events = EnvFlag("CDP_BENCH_COMPRESS", true)});
    CheckOk(pipeline.status(), "pipeline");
    pipeline_ = *std::move(pipeline);
    auto parser = SegmentParser::Create(ParserOptions{});
    CheckOk(parser.status(), "parser");
    parser_ = *std::move(parser);
    feed_ = std::make_unique<bench::FeedGenerator>(people, 42, kBaseMicros);

    std::fprintf(stderr, "ingest bench setup: load average %s\n", LoadAverage().c_str());
    const auto load_start = std::chrono::steady_clock::now();
    std::string text;
    size_t lines = 0, in_call = 0, calls = 0, accepted = 0;
    double apply_seconds = 0;
    for (size_t person = 0; person < people; ++person) {
      for (const std::string& line : feed_->PreloadLines(person)) {
        absl::StrAppend(&text, line, "\n");
        ++in_call;
      }
      if (in_call >= call_events_ || person + 1 == people) {
        ParseOutput parsed = parser_->ParseNdjson(text, "preload.ndjson", lines + 1);
        lines += in_call;
        const auto apply_start = std::chrono::steady_clock::now();
        auto summary = pipeline_->Apply(std::move(parsed));
        apply_seconds += SecondsSince(apply_start);
        CheckOk(summary.status(), "preload apply");
        if (summary->accepted != in_call) {
          const std::string reason =
              summary->records.empty() ? "" : summary->records.front().reason;
          CheckOk(absl::InternalError(absl::StrCat("accepted ", summary->accepted, " of ", in_call,
                                                   "; first reason: ", reason)),
                  "preload");
        }
        accepted += summary->accepted;
        text.clear();
        in_call = 0;
        if (++calls % 100 == 0) {
          std::fprintf(stderr, "ingest bench setup: %zu people, %.0f events/s\n", person + 1,
                       static_cast<double>(lines) / SecondsSince(load_start));
        }
      }
    }
    const double load_seconds = SecondsSince(load_start);
    const auto compact_start = std::chrono::steady_clock::now();
    CheckOk(store_->CompactAll(), "compact");
    const double compact_seconds = SecondsSince(compact_start);
    ::sync();
    auto stats = store_->Stats();
    CheckOk(stats.status(), "stats");
    std::fprintf(stderr,
                 "ingest bench setup: %zu people as %zu identify events in %zu calls: %.1f s, "
                 "%.0f events/s (Apply alone %.0f events/s); compact %.1f s; live SST %.0f MiB; "
                 "VmHWM %.0f MiB, VmRSS %.0f MiB; load average %s\n",
                 people, accepted, calls, load_seconds,
                 static_cast<double>(accepted) / load_seconds,
                 static_cast<double>(accepted) / apply_seconds, compact_seconds,
                 static_cast<double>(stats->live_sst_bytes) / (1 << 20), ProcStatusMib("VmHWM"),
                 ProcStatusMib("VmRSS"), LoadAverage().c_str());
  }

  std::string dir_;
  size_t call_events_ = 1000;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<identity::Normalizer> normalizer_;
  std::unique_ptr<identity::IdentityGraph> graph_;
  std::unique_ptr<consent::ConsentLedger> ledger_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<SegmentParser> parser_;
  std::unique_ptr<bench::FeedGenerator> feed_;
};

// Parsing alone, on calls of a stream shaped like the measured one (its own generator).
void BM_Parse(benchmark::State& state) {
  const size_t call_events = EnvSize("CDP_BENCH_CALL_EVENTS", 1000);
  bench::FeedGenerator feed(EnvSize("CDP_BENCH_PEOPLE", 1'000'000), 7, kBaseMicros);
  const std::vector<bench::FeedEvent> events = feed.Events(20 * call_events);
  std::vector<std::string> calls;
  size_t bytes = 0;
  for (size_t first = 0; first < events.size(); first += call_events) {
    calls.push_back(Ndjson(feed, events.data() + first, call_events));
    bytes += calls.back().size();
  }
  auto parser = SegmentParser::Create(ParserOptions{});
  if (!parser.ok()) {
    state.SkipWithError(parser.status().ToString().c_str());
    return;
  }
  size_t parsed_events = 0, rejected = 0, next = 0;
  for (auto _ : state) {
    ParseOutput out = (*parser)->ParseNdjson(calls[next], "bench.ndjson");
    parsed_events += out.events.size();
    rejected += out.rejections.size();
    next = (next + 1) % calls.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(parsed_events));
  state.counters["rejected"] = static_cast<double>(rejected);
  state.counters["bytes_per_event"] =
      static_cast<double>(bytes) / static_cast<double>(events.size());
}
BENCHMARK(BM_Parse)->Unit(benchmark::kMillisecond);

// Masking the identifiers of one stored event's JSON, as a lookup does for the cx role
// (ingest/identifier_masking.h), over the stored JSON of a stream shaped like the measured one:
// by parsing it (events stored before identifier spans; state.range(0) == 0) or at the spans
// found at ingest (1).
void BM_MaskEvent(benchmark::State& state) {
  const bool at_spans = state.range(0) == 1;
  bench::FeedGenerator feed(EnvSize("CDP_BENCH_PEOPLE", 1'000'000), 7, kBaseMicros);
  const std::vector<bench::FeedEvent> events = feed.Events(10'000);
  auto parser = SegmentParser::Create(ParserOptions{});
  if (!parser.ok()) {
    state.SkipWithError(parser.status().ToString().c_str());
    return;
  }
  std::vector<std::pair<std::string, std::string>> stored;  // JSON, spans
  for (ParsedEvent& event :
       (*parser)->ParseNdjson(Ndjson(feed, events.data(), events.size()), "bench.ndjson").events) {
    std::string spans = IdentifierSpans(event.json, event.identifiers);
    stored.emplace_back(std::move(event.json), std::move(spans));
  }
  const IdentifierMasker masker;
  std::string json;
  size_t next = 0;
  for (auto _ : state) {
    json = stored[next].first;
    const absl::Status masked =
        at_spans ? MaskEventAt(stored[next].second, &json) : masker.MaskEvent(&json);
    if (!masked.ok()) {
      state.SkipWithError("an event did not mask");
      return;
    }
    next = (next + 1) % stored.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_MaskEvent)->Arg(0)->Arg(1);

// The whole measured stream, once.
void BM_Ingest(benchmark::State& state) {
  IngestStore& fixture = IngestStore::Instance();
  const size_t total = EnvSize("CDP_BENCH_EVENTS", 1'000'000);
  const size_t call_events = fixture.call_events();
  const identity::IdentityCounters before = fixture.graph().counters();
  for (auto _ : state) {
    const std::vector<bench::FeedEvent> events = fixture.feed().Events(total);
    double parse_seconds = 0, apply_seconds = 0;
    size_t bridges = 0, bytes = 0;
    IngestSummary totals;
    std::string first_reason;
    double peak_anon_mib = ProcStatusMib("RssAnon");
    std::fprintf(stderr, "ingest bench: %zu events, load average %s\n", total,
                 LoadAverage().c_str());
    for (size_t first = 0; first < events.size(); first += call_events) {
      const size_t n = std::min(call_events, events.size() - first);
      for (size_t i = first; i < first + n; ++i) {
        bridges += events[i].shape >= bench::FeedEvent::Shape::kBridgeSplit ? 1 : 0;
      }
      const std::string text = Ndjson(fixture.feed(), events.data() + first, n);
      bytes += text.size();
      const auto parse_start = std::chrono::steady_clock::now();
      ParseOutput parsed = fixture.parser().ParseNdjson(text, "feed.ndjson", first + 1);
      parse_seconds += SecondsSince(parse_start);
      const auto apply_start = std::chrono::steady_clock::now();
      auto summary = fixture.pipeline().Apply(std::move(parsed));
      apply_seconds += SecondsSince(apply_start);
      peak_anon_mib = std::max(peak_anon_mib, ProcStatusMib("RssAnon"));  // untimed
      if (!summary.ok()) {
        state.SkipWithError(summary.status().ToString().c_str());
        return;
      }
      totals.accepted += summary->accepted;
      totals.duplicate += summary->duplicate;
      totals.rejected += summary->rejected;
      totals.suppressed += summary->suppressed;
      totals.filtered += summary->filtered;
      if (first_reason.empty() && summary->rejected > 0) {
        for (const RecordResult& record : summary->records) {
          if (record.outcome == Outcome::kRejected) {
            first_reason = record.reason;
            break;
          }
        }
      }
      if ((first / call_events + 1) % 100 == 0) {
        std::fprintf(stderr, "ingest bench: %zu events, %.0f events/s end to end\n", first + n,
                     static_cast<double>(first + n) / (parse_seconds + apply_seconds));
      }
    }
    state.SetIterationTime(parse_seconds + apply_seconds);
    const identity::IdentityCounters after = fixture.graph().counters();
    const double n = static_cast<double>(events.size());
    state.counters["events"] = n;
    state.counters["events_per_s"] = n / (parse_seconds + apply_seconds);
    state.counters["apply_events_per_s"] = n / apply_seconds;
    state.counters["parse_events_per_s"] = n / parse_seconds;
    state.counters["bridging_pct"] = 100.0 * static_cast<double>(bridges) / n;
    state.counters["bytes_per_event"] = static_cast<double>(bytes) / n;
    state.counters["accepted"] = static_cast<double>(totals.accepted);
    state.counters["filtered"] = static_cast<double>(totals.filtered);
    state.counters["rejected"] = static_cast<double>(totals.rejected);
    state.counters["duplicate"] = static_cast<double>(totals.duplicate);
    state.counters["merges"] = static_cast<double>(after.merges - before.merges);
    state.counters["created"] = static_cast<double>(after.created - before.created);
    state.counters["cap_hits"] = static_cast<double>(after.cap_hits - before.cap_hits);
    state.counters["peak_rss_mib"] = ProcStatusMib("VmHWM");
    state.counters["peak_anon_mib"] = peak_anon_mib;
    state.counters["rss_mib"] = ProcStatusMib("VmRSS");
    const Pipeline::Compression compression = fixture.pipeline().compression();
    state.counters["json_dictionary"] = compression.dictionary;
    state.counters["json_ratio"] = compression.last_ratio;
    if (!first_reason.empty()) {
      std::fprintf(stderr, "ingest bench: first rejection: %s\n", first_reason.c_str());
    }
    std::fprintf(stderr, "ingest bench: done, load average %s\n", LoadAverage().c_str());
  }
}
BENCHMARK(BM_Ingest)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

void BM_IngestParallel(benchmark::State& state) {
  IngestStore& fixture = IngestStore::Instance();
  const size_t total = EnvSize("CDP_BENCH_EVENTS", 1'000'000);
  const size_t callers = EnvSize("CDP_BENCH_CALLERS", 2);
  const size_t call_events = fixture.call_events();
  const identity::IdentityCounters before = fixture.graph().counters();
  for (auto _ : state) {
    const std::vector<bench::FeedEvent> events = fixture.feed().Events(total);
    std::vector<std::string> texts;
    for (size_t first = 0; first < events.size(); first += call_events) {
      texts.push_back(Ndjson(fixture.feed(), events.data() + first,
                             std::min(call_events, events.size() - first)));
    }
    std::fprintf(stderr, "ingest bench: %zu events on %zu callers, load average %s\n", total,
                 callers, LoadAverage().c_str());
    std::atomic<size_t> next{0}, accepted{0};
    std::atomic<bool> failed{false};
    const double cpu_before = ProcessCpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (size_t t = 0; t < callers; ++t) {
      threads.emplace_back([&] {
        auto parser = SegmentParser::Create(ParserOptions{});  // one per thread
        CheckOk(parser.status(), "parser");
        for (size_t call; !failed && (call = next.fetch_add(1)) < texts.size();) {
          ParseOutput parsed =
              (*parser)->ParseNdjson(texts[call], "feed.ndjson", call * call_events + 1);
          absl::StatusOr<IngestSummary> summary = fixture.pipeline().Apply(std::move(parsed));
          if (!summary.ok()) {
            std::fprintf(stderr, "ingest bench: %s\n", summary.status().ToString().c_str());
            failed = true;
            return;
          }
          accepted += summary->accepted;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    const double seconds = SecondsSince(start);
    const double cpu_seconds = ProcessCpuSeconds() - cpu_before;
    if (failed) {
      state.SkipWithError("an Apply call failed");
      return;
    }
    state.SetIterationTime(seconds);
    const double n = static_cast<double>(events.size());
    state.counters["callers"] = static_cast<double>(callers);
    state.counters["events"] = n;
    state.counters["accepted"] = static_cast<double>(accepted.load());
    state.counters["events_per_s"] = n / seconds;
    state.counters["cpu_us_per_event"] = cpu_seconds * 1e6 / n;  // background work included
    state.counters["merges"] =
        static_cast<double>(fixture.graph().counters().merges - before.merges);
    state.counters["end_anon_mib"] = ProcStatusMib("RssAnon");  // the texts included
  }
}
BENCHMARK(BM_IngestParallel)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace
}  // namespace cdp::ingest

BENCHMARK_MAIN();
