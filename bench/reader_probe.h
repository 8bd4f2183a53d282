#pragma once
// The data path of a context lookup without Thrift: ingest::ContextReader::ByIdentifier called
// directly on the server's stack, on one thread, for people picked uniformly at random by email,
// purpose "support", default options, identifiers masked as for the benchmark's cx token
// (CDP_BENCH_MASK=0: in full). Its CPU time per call is what the server spends on the
// lookup itself; the rest of a getContext's server CPU is Thrift, the socket and scheduling.
//
// Thread safety: runs on the calling thread; the stack may serve calls at the same time.

#include <cstddef>

#include "absl/status/statusor.h"
#include "api/stack.h"

namespace cdp::bench {

struct ReaderProbeResult {
  size_t calls = 0;
  size_t found = 0;
  double cpu_us_per_call = 0;   // the calling thread's CPU time
  double wall_us_per_call = 0;
  double p50_us = 0, p99_us = 0;  // wall time per call
};

// Calls ByIdentifier for `seconds`. Fails on the first error the reader returns.
absl::StatusOr<ReaderProbeResult> ProbeReader(api::Stack& stack, size_t people, double seconds);

struct BatchProbeResult {
  size_t batches = 0;                         // of each kind
  double alone_p50_us = 0, alone_p99_us = 0;  // wall time per batch, on the caller alone
  double pool_p50_us = 0, pool_p99_us = 0;    // the same batch spread over an api::LookupPool
  int helpers = 0;
};

// A getContexts without Thrift: `batch` ByIdentifier lookups, alternately on the calling thread
// alone and spread over an api::LookupPool (the server's default size), for `seconds` in all.
// Alternating the two makes other load on the machine weigh on both alike.
absl::StatusOr<BatchProbeResult> ProbeReaderBatch(api::Stack& stack, size_t people, size_t batch,
                                                  double seconds);

}  // namespace cdp::bench
