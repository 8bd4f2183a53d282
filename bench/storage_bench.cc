// Benchmarks of the storage primitives on the hot path of every read and write:
//   - AES-256-GCM seal and open of one record (crypto::AesGcmSeal / AesGcmOpen), and the random
//     nonce each seal draws,
//   - a hit in the data-key cache (storage::DataKeyCache::Get),
//   - blind-index hashing of a short identifier (storage::BlindIndex::Hash).
// The warm-store benchmarks (Store::Get, reverse Scan) are in store_bench.cc.
//
// Budget (docs/performance.md): seal or open of 1 KB under 1.5 us.
//
//   build-bench/bin/storage_bench --benchmark_filter='AesGcm|BlindIndex'

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/crypto.h"
#include "common/secure_bytes.h"
#include "storage/blind_index.h"
#include "storage/data_key_cache.h"
#include "storage/family.h"
#include "storage/key_codec.h"
#include "storage/record.h"

namespace cdp::storage {
namespace {

// Associated data shaped like the store's: family (1) | event key (32) | envelope header (13).
std::string RecordAad() {
  std::string aad(1, static_cast<char>(Family::kEvents));
  aad += ProfileRecordKey(ProfileId::Random(), 1'700'000'000'000'000, 42);
  envelope::AppendHeader(envelope::Format::kSealed, {.category = 1, .time_micros = 0}, &aad);
  return aad;
}

void BM_AesGcmSeal(benchmark::State& state) {
  const SecureBytes key = crypto::RandomKey();
  const std::string aad = RecordAad();
  const std::string plaintext = crypto::RandomBytes(static_cast<size_t>(state.range(0)));
  std::string out;
  out.reserve(plaintext.size() + crypto::kGcmOverhead);
  for (auto _ : state) {
    out.clear();
    if (!crypto::AesGcmSeal(key, aad, plaintext, &out).ok()) {
      state.SkipWithError("AesGcmSeal failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_AesGcmSeal)->Arg(256)->Arg(1024)->Arg(4096);

void BM_AesGcmOpen(benchmark::State& state) {
  const SecureBytes key = crypto::RandomKey();
  const std::string aad = RecordAad();
  const std::string plaintext = crypto::RandomBytes(static_cast<size_t>(state.range(0)));
  std::string sealed;
  if (!crypto::AesGcmSeal(key, aad, plaintext, &sealed).ok()) {
    state.SkipWithError("AesGcmSeal failed");
    return;
  }
  std::string out;
  out.reserve(plaintext.size());
  for (auto _ : state) {
    out.clear();
    if (!crypto::AesGcmOpen(key, aad, sealed, &out).ok()) {
      state.SkipWithError("AesGcmOpen failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  if (out != plaintext) state.SkipWithError("AesGcmOpen returned the wrong plaintext");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_AesGcmOpen)->Arg(256)->Arg(1024)->Arg(4096);

// The fresh random 96-bit nonce that every seal draws (part of BM_AesGcmSeal, shown alone).
void BM_RandomNonce(benchmark::State& state) {
  for (auto _ : state) {
    std::string nonce = crypto::RandomBytes(crypto::kGcmNonceSize);
    benchmark::DoNotOptimize(nonce.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RandomNonce);

// A hit in the cache of unwrapped data keys, which every sealed read and write does once, with
// `range(0)` profiles cached and looked up at random.
void BM_DataKeyCacheHit(benchmark::State& state) {
  const size_t profiles = static_cast<size_t>(state.range(0));
  // Twice the entries: the cache is 16 LRU shards of capacity / 16, so a full one would evict.
  DataKeyCache cache(2 * profiles);
  std::vector<ProfileId> ids;
  ids.reserve(profiles);
  for (size_t i = 0; i < profiles; ++i) {
    ids.push_back(ProfileId::Random());
    cache.Put(ids.back(), std::make_shared<const SecureBytes>(crypto::RandomKey()));
  }
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<size_t> pick(0, profiles - 1);
  for (auto _ : state) {
    DataKey key;
    if (cache.Get(ids[pick(rng)], &key) != DataKeyCache::Lookup::kHit) {
      state.SkipWithError("data key cache missed");
      break;
    }
    benchmark::DoNotOptimize(key.get());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DataKeyCacheHit)->Arg(1000)->Arg(100'000)->Arg(1'000'000);

// One identifier lookup or write hashes its normalized value once.
void BM_BlindIndexHash(benchmark::State& state) {
  const BlindIndex index(crypto::RandomKey());
  const std::string type = state.range(0) == 0 ? "email" : "phone";
  const std::string value = state.range(0) == 0 ? "alice.smith@example.com" : "+14155550123";
  for (auto _ : state) {
    crypto::Digest digest = index.Hash(type, value);
    benchmark::DoNotOptimize(digest);
  }
  state.SetLabel(type);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BlindIndexHash)->Arg(0)->Arg(1);

}  // namespace
}  // namespace cdp::storage

BENCHMARK_MAIN();
