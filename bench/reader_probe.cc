#include "bench/reader_probe.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "api/lookup_pool.h"
#include "bench/bench_util.h"
#include "bench/feed_generator.h"

namespace cdp::bench {
namespace {

// As the benchmark's cx token gets them: identifiers masked in traits and events, unless
// CDP_BENCH_MASK=0.
bool MaskedProbe() {
  const char* value = std::getenv("CDP_BENCH_MASK");
  return value == nullptr || std::string(value) != "0";
}

}  // namespace

absl::StatusOr<ReaderProbeResult> ProbeReader(api::Stack& stack, size_t people, double seconds) {
  std::mt19937_64 rng(4242);
  std::uniform_int_distribution<size_t> pick(0, people - 1);
  const ingest::ContextRequest request{.purpose = "support", .mask_identifiers = MaskedProbe()};
  // Made up front so that the CPU time measured is the lookups'. The server lower-cases emails
  // (identity::Normalizer); the feed types them mixed case.
  std::vector<identity::Identifier> emails(std::min<size_t>(people, 1 << 16));
  for (identity::Identifier& email : emails) {
    email = {"email", absl::AsciiStrToLower(FeedGenerator::Email(pick(rng)))};
  }
  std::vector<double> latency_us;
  latency_us.reserve(1 << 20);
  ReaderProbeResult result;
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = ThreadCpuSeconds();
  while (SecondsSince(start) < seconds) {
    const identity::Identifier& email = emails[result.calls % emails.size()];
    const auto call_start = std::chrono::steady_clock::now();
    auto context = stack.reader->ByIdentifier(email, request);
    latency_us.push_back(SecondsSince(call_start) * 1e6);
    if (!context.ok()) return context.status();
    ++result.calls;
    if (context->has_value()) ++result.found;
  }
  const double cpu = ThreadCpuSeconds() - cpu_start;
  const double wall = SecondsSince(start);
  if (result.calls == 0) return result;
  std::sort(latency_us.begin(), latency_us.end());
  result.cpu_us_per_call = cpu * 1e6 / static_cast<double>(result.calls);
  result.wall_us_per_call = wall * 1e6 / static_cast<double>(result.calls);
  result.p50_us = latency_us[latency_us.size() / 2];
  result.p99_us = latency_us[latency_us.size() * 99 / 100];
  return result;
}

absl::StatusOr<BatchProbeResult> ProbeReaderBatch(api::Stack& stack, size_t people, size_t batch,
                                                  double seconds) {
  std::mt19937_64 rng(4343);
  std::uniform_int_distribution<size_t> pick(0, people - 1);
  const ingest::ContextRequest request{.purpose = "support", .mask_identifiers = MaskedProbe()};
  api::LookupPool pool;
  api::LookupPool alone({.helpers = 0});
  std::vector<identity::Identifier> emails(batch);
  std::vector<absl::Status> failed(batch);
  std::vector<double> pool_us, alone_us;
  BatchProbeResult result;
  result.helpers = pool.helpers();
  const auto start = std::chrono::steady_clock::now();
  while (SecondsSince(start) < seconds) {
    for (api::LookupPool* p : {&alone, &pool}) {
      for (identity::Identifier& email : emails) {
        email = {"email", absl::AsciiStrToLower(FeedGenerator::Email(pick(rng)))};
      }
      const auto batch_start = std::chrono::steady_clock::now();
      p->ForEach(batch, [&](size_t i) {
        auto context = stack.reader->ByIdentifier(emails[i], request);
        if (!context.ok()) failed[i] = context.status();
      });
      (p == &pool ? pool_us : alone_us).push_back(SecondsSince(batch_start) * 1e6);
      for (const absl::Status& status : failed) {
        if (!status.ok()) return status;
      }
    }
    ++result.batches;
  }
  std::sort(pool_us.begin(), pool_us.end());
  std::sort(alone_us.begin(), alone_us.end());
  result.pool_p50_us = pool_us[pool_us.size() / 2];
  result.pool_p99_us = pool_us[pool_us.size() * 99 / 100];
  result.alone_p50_us = alone_us[alone_us.size() / 2];
  result.alone_p99_us = alone_us[alone_us.size() * 99 / 100];
  return result;
}

}  // namespace cdp::bench
