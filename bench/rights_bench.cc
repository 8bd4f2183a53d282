// Subject-rights benchmarks: erase and export of a person with many events (issue goal: erase of
// a person with 10,000 events under 100 ms, export of the same person under 1 s).
//
//   CDP_BENCH_EVENTS_PER_PERSON  events of each person (default 10000)
//   CDP_BENCH_PERSONS            people loaded, each erased once (default 5)
//   CDP_BENCH_DIR                parent of the temporary store
//
// Every person is ingested through the real pipeline (identity resolution, consent, sealing).
// An erasure can run once per person, so BM_Erase runs exactly CDP_BENCH_PERSONS iterations.
// The record-database compaction that follows each erasure runs in the background and is waited
// for outside the timed region.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/stack.h"
#include "bench/bench_util.h"
#include "ingest/segment_parser.h"

namespace cdp::bench {
namespace {

class RightsStore {
 public:
  static RightsStore& Instance() {
    static RightsStore instance;
    return instance;
  }
  ~RightsStore() {
    stack_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  rights::SubjectRights& rights() { return *stack_->rights; }
  size_t persons() const { return persons_; }
  size_t events_per_person() const { return events_per_person_; }
  identity::Identifier Person(size_t i) const { return {"user_id", absl::StrCat("person-", i)}; }

 private:
  RightsStore() {
    persons_ = EnvSize("CDP_BENCH_PERSONS", 5);
    events_per_person_ = EnvSize("CDP_BENCH_EVENTS_PER_PERSON", 10'000);
    dir_ = MakeTempDir("cdp-rights-bench");
    auto stack = api::Stack::Open(
        {.data_dir = dir_, .block_cache_bytes = storage::StoreOptions().block_cache_bytes});
    CheckOk(stack.status(), "open");
    stack_ = *std::move(stack);
    auto parser = ingest::SegmentParser::Create(ingest::ParserOptions()).value();
    const auto start = std::chrono::steady_clock::now();
    for (size_t p = 0; p < persons_; ++p) {
      for (size_t first = 0; first < events_per_person_; first += 1000) {
        std::string lines;
        for (size_t e = first; e < std::min(events_per_person_, first + 1000); ++e) {
          absl::StrAppend(&lines, R"({"type":"track","messageId":"p)", p, "-", e,
                          R"(","userId":"person-)", p, R"(","anonymousId":"anon-)", p, "-", e % 7,
                          R"(","event":"Viewed Product","properties":{"sku":"SKU-)", e,
                          R"(","price":19.99,"note":"a typical small event body"},)",
                          R"("context":{"channel":"web","traits":{"email":"person-)", p,
                          R"(@example.com"}},"timestamp":"2026-11-01T00:00:00Z"})", "\n");
        }
        CheckOk(stack_->pipeline->Apply(parser->ParseNdjson(lines, "bench")).status(), "ingest");
      }
    }
    std::printf("rights bench: %zu people x %zu events loaded in %.1f s (load %s)\n", persons_,
                events_per_person_, SecondsSince(start), LoadAverage().c_str());
  }

  std::string dir_;
  size_t persons_ = 0, events_per_person_ = 0;
  std::unique_ptr<api::Stack> stack_;
};

// Exports person 0 into a sink that only counts bytes.
void BM_Export(benchmark::State& state) {
  RightsStore& s = RightsStore::Instance();
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    CheckOk(s.rights().ExportByIdentifier(s.Person(0), {.actor = "bench", .reason = "bench"},
                                          [&](absl::string_view chunk) {
                                            bytes += chunk.size();
                                            return absl::OkStatus();
                                          }),
            "export");
  }
  state.counters["events"] = static_cast<double>(s.events_per_person());
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Export)->Unit(benchmark::kMillisecond)->Iterations(5)->UseRealTime();

// Erases a different person each iteration (export runs first and uses person 0, so erasing
// starts from person 0 only after it).
void BM_Erase(benchmark::State& state) {
  RightsStore& s = RightsStore::Instance();
  size_t next = 0;
  for (auto _ : state) {
    auto receipt = s.rights().EraseByIdentifier(s.Person(next++),
                                                {.actor = "bench", .reason = "bench"});
    CheckOk(receipt.status(), "erase");
    if (receipt->events != s.events_per_person()) CheckOk(absl::InternalError("count"), "erase");
    // The background compaction of the erased ranges is not part of the caller's wait; let it
    // finish outside the timing so iterations do not pile compactions on each other.
    state.PauseTiming();
    s.rights().WaitForCompactions();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_Erase)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(static_cast<int64_t>(EnvSize("CDP_BENCH_PERSONS", 5)))
    ->UseRealTime();

}  // namespace
}  // namespace cdp::bench

BENCHMARK_MAIN();
