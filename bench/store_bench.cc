// Benchmarks of reads from a warm store: Store::Get of a random existing event (RocksDB read,
// data-key cache lookup and AES-256-GCM open) and the "last 20 events of a profile" reverse Scan:
// BM_StoreScanLast20/0 by reverse iteration, /1 told the profile's size
// (ScanOptions::expected_records), which reads a profile of up to 64 records forward.
//
// The store is built once per process, on first use, in a fresh temporary directory that is
// removed at exit: `profiles` profiles with a data key each and `events_per_profile` sealed
// events of ~500 B each, written in synced batches of ~1000 records, then compacted and read once
// in full so that the block cache and the data-key cache are warm. The load rate is printed to
// stderr and reported as counters of the Get benchmark.
//
// Environment (all optional):
//   CDP_BENCH_RECORDS             events to load; default 1000000 (use e.g. 20000 for a smoke run)
//   CDP_BENCH_EVENTS_PER_PROFILE  events per profile; default 10
//   CDP_BENCH_BLOCK_CACHE_MB      RocksDB block cache; default 1024, which holds the whole 1M-event
//                                 data set (the store's own default is 256 MiB, which does not)
//   CDP_BENCH_DIR                 parent of the temporary store; default the system temp dir
//
// Budget (docs/performance.md): read + open under 10 us.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "common/profile_id.h"
#include "storage/family.h"
#include "storage/key_codec.h"
#include "storage/record.h"
#include "storage/store.h"

namespace cdp::storage {
namespace {

using ::cdp::bench::EnvSize;
using ::cdp::bench::CheckOk;
using ::cdp::bench::SecondsSince;

constexpr int64_t kFirstEventMicros = 1'700'000'000'000'000;
constexpr int64_t kEventSpacingMicros = 60'000'000;
constexpr size_t kRecordsPerBatch = 1000;
constexpr size_t kValueBytes = 500;

// An event body of kValueBytes, shaped like a small tracked event.
std::string EventValue() {
  std::string value =
      R"({"type":"track","event":"Order Completed","properties":{"order_id":"50314b8e","total":27.5,)"
      R"("currency":"EUR","products":[{"sku":"45790-32","name":"Monopoly","price":19}]},"pad":")";
  value.resize(kValueBytes - 2, 'x');
  value += "\"}";
  return value;
}

// The process-wide warm store shared by the benchmarks below (built lazily so that a filter that
// selects only the crypto benchmarks does not pay for the load).
class WarmStore {
 public:
  static WarmStore& Instance() {
    // Destroyed at exit, which removes the temporary directory.
    static WarmStore instance;
    return instance;
  }

  ~WarmStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Store& store() { return *store_; }
  size_t events_per_profile() const { return events_per_profile_; }

  std::string EventKey(size_t profile, size_t event) const {
    return ProfileRecordKey(profiles_[profile],
                            kFirstEventMicros + static_cast<int64_t>(event) * kEventSpacingMicros,
                            profile * events_per_profile_ + event);
  }
  size_t RandomProfile(std::mt19937_64& rng) const {
    return std::uniform_int_distribution<size_t>(0, profiles_.size() - 1)(rng);
  }
  std::string RandomEventKey(std::mt19937_64& rng) const {
    return EventKey(RandomProfile(rng),
                    std::uniform_int_distribution<size_t>(0, events_per_profile_ - 1)(rng));
  }
  const ProfileId& profile(size_t index) const { return profiles_[index]; }

  void AddLoadCounters(benchmark::State& state) const {
    state.counters["load_records"] = static_cast<double>(records_);
    state.counters["load_records_per_s"] = static_cast<double>(records_) / load_seconds_;
  }

 private:
  WarmStore() { Load(); }

  void Load() {
    const size_t records = EnvSize("CDP_BENCH_RECORDS", 1'000'000);
    events_per_profile_ = EnvSize("CDP_BENCH_EVENTS_PER_PROFILE", 10);
    const size_t cache_mb = EnvSize("CDP_BENCH_BLOCK_CACHE_MB", 1024);
    const size_t profile_count = (records + events_per_profile_ - 1) / events_per_profile_;
    const size_t profiles_per_batch = std::max<size_t>(1, kRecordsPerBatch / events_per_profile_);

    dir_ = ::cdp::bench::MakeTempDir("cdp-storage-bench");
    StoreOptions options;
    options.data_dir = dir_;
    options.block_cache_bytes = cache_mb << 20;
    absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(options);
    CheckOk(opened.status(), "open");
    store_ = *std::move(opened);

    const std::string value = EventValue();
    profiles_.reserve(profile_count);
    size_t batches = 0;
    double write_seconds = 0;  // inside Store::Write; the rest is building (sealing) batches
    const auto load_start = std::chrono::steady_clock::now();
    for (size_t first = 0; first < profile_count; first += profiles_per_batch) {
      WriteBatch batch = store_->NewBatch();
      for (size_t p = first; p < std::min(profile_count, first + profiles_per_batch); ++p) {
        profiles_.push_back(ProfileId::Random());
        CheckOk(batch.CreateDataKey(profiles_[p]), "create data key");
        for (size_t e = 0; e < events_per_profile_; ++e) {
          const RecordMeta meta{
              .category = 1,
              .time_micros = kFirstEventMicros + static_cast<int64_t>(e) * kEventSpacingMicros};
          CheckOk(batch.Put(Family::kEvents, EventKey(p, e), meta, value), "put");
        }
      }
      const auto write_start = std::chrono::steady_clock::now();
      CheckOk(store_->Write(batch), "write");
      write_seconds += SecondsSince(write_start);
      ++batches;
    }
    load_seconds_ = SecondsSince(load_start);
    records_ = profile_count * events_per_profile_;

    const auto compact_start = std::chrono::steady_clock::now();
    CheckOk(store_->CompactAll(), "compact");
    const double compact_seconds = SecondsSince(compact_start);
    // Let the kernel finish writing back the load before anything is measured.
    ::sync();

    // Read everything once: fills the block cache and checks that every record opens.
    const auto warm_start = std::chrono::steady_clock::now();
    size_t seen = 0;
    CheckOk(store_->Scan(Family::kEvents, "", {},
                         [&](absl::string_view, Record record) {
                           seen += record.value.size() == kValueBytes ? 1 : 0;
                           return true;
                         }),
            "warm scan");
    const double warm_seconds = SecondsSince(warm_start);
    if (seen != records_) {
      CheckOk(absl::DataLossError(absl::StrCat("read back ", seen, " of ", records_)), "warm");
    }
    absl::StatusOr<StoreStats> stats = store_->Stats();
    CheckOk(stats.status(), "stats");
    std::fprintf(stderr,
                 "store bench setup: %zu records (%zu profiles x %zu events, %zu B values) in "
                 "%zu synced batches: %.1f s, %.0f records/s, %.2f ms/batch (%.2f ms building, "
                 "%.2f ms in Store::Write); compact %.1f s; warm scan %.1f s; live SST %.0f MiB; "
                 "block cache %zu MiB, %.0f MiB used\n",
                 records_, profile_count, events_per_profile_, kValueBytes, batches, load_seconds_,
                 static_cast<double>(records_) / load_seconds_,
                 load_seconds_ * 1e3 / static_cast<double>(batches),
                 (load_seconds_ - write_seconds) * 1e3 / static_cast<double>(batches),
                 write_seconds * 1e3 / static_cast<double>(batches), compact_seconds, warm_seconds,
                 static_cast<double>(stats->live_sst_bytes) / (1 << 20), cache_mb,
                 static_cast<double>(stats->block_cache_usage_bytes) / (1 << 20));
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::vector<ProfileId> profiles_;
  size_t events_per_profile_ = 10;
  size_t records_ = 0;
  double load_seconds_ = 0;
};

// Point read of a random existing event: RocksDB Get, data-key cache hit, AES-GCM open.
void BM_StoreGet(benchmark::State& state) {
  WarmStore& warm = WarmStore::Instance();
  std::mt19937_64 rng(1 + static_cast<uint64_t>(state.thread_index()));
  for (auto _ : state) {
    const std::string key = warm.RandomEventKey(rng);
    absl::StatusOr<std::optional<Record>> record = warm.store().Get(Family::kEvents, key);
    if (!record.ok() || !record->has_value()) {
      state.SkipWithError("Get did not return an existing record");
      break;
    }
    benchmark::DoNotOptimize((*record)->value.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  if (state.thread_index() == 0) warm.AddLoadCounters(state);
}
BENCHMARK(BM_StoreGet);
BENCHMARK(BM_StoreGet)->Threads(2)->UseRealTime();

// Point read of an absent event of an existing profile (answered by the bloom filters).
void BM_StoreGetAbsent(benchmark::State& state) {
  WarmStore& warm = WarmStore::Instance();
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    const std::string key =
        ProfileRecordKey(warm.profile(warm.RandomProfile(rng)), kFirstEventMicros - 1, 0);
    absl::StatusOr<std::optional<Record>> record = warm.store().Get(Family::kEvents, key);
    if (!record.ok() || record->has_value()) {
      state.SkipWithError("Get of an absent key did not return nullopt");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_StoreGetAbsent);

// "Last 20 events of a profile": one reverse prefix scan, every record delivered opened. Arg 1
// tells the scan how many records the profile holds.
void BM_StoreScanLast20(benchmark::State& state) {
  WarmStore& warm = WarmStore::Instance();
  std::mt19937_64 rng(1 + static_cast<uint64_t>(state.thread_index()));
  const size_t expected = std::min<size_t>(20, warm.events_per_profile());
  ScanOptions last_20;
  last_20.reverse = true;
  last_20.limit = 20;
  if (state.range(0) == 1) last_20.expected_records = warm.events_per_profile();
  size_t delivered = 0;
  for (auto _ : state) {
    const ProfileId& profile = warm.profile(warm.RandomProfile(rng));
    size_t count = 0;
    const absl::Status status = warm.store().Scan(Family::kEvents, profile.bytes(), last_20,
                                                  [&](absl::string_view, Record record) {
                                                    benchmark::DoNotOptimize(record.value.data());
                                                    ++count;
                                                    return true;
                                                  });
    if (!status.ok() || count != expected) {
      state.SkipWithError("Scan did not return the profile's last events");
      break;
    }
    delivered += count;
  }
  state.SetItemsProcessed(static_cast<int64_t>(delivered));
  state.counters["records_per_scan"] =
      benchmark::Counter(static_cast<double>(expected), benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_StoreScanLast20)->Arg(0)->Arg(1);
BENCHMARK(BM_StoreScanLast20)->Arg(0)->Arg(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace cdp::storage
