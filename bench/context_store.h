#pragma once
// The store the context benchmark (bench/context_bench.cc) looks people up in: `people` people of
// bench/feed_generator.h with ~`events_per_person` events each, ingested through the real
// pipeline (SegmentParser + Pipeline::Apply, one synced write per call) in large calls, then
// compacted. It is kept in a directory so that later runs skip the load:
//
//   DIR/cdp.conf   server configuration (Protobuf text): the custom identifier type crm_id the
//                  feed uses, a cx token, metrics off. `cdp serve --config DIR/cdp.conf
//                  --data-dir DIR/data` serves the same store as the in-process server.
//   DIR/cx.token   the cx token (mode 0600)
//   DIR/data/      the server's data directory
//   DIR/loaded     written last, after a complete load: "<people> <events_per_person>"
//
// Per person: the feed's preload identify event(s); for a "split" person (two unlinked
// profiles) a web login that merges them; then page, screen, track and identify events of the
// web, app and server channels up to events_per_person, oldest first. So every person is one
// profile holding events_per_person events, found by its email.
//
// Thread safety: set-up code, not thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "api/stack.h"

namespace cdp::bench {

struct ContextStoreOptions {
  std::string dir;                // the cache directory (created when absent)
  size_t people = 100000;         // people stored
  size_t events_per_person = 20;  // events each, identify events included (at least 3)
  size_t call_events = 5000;      // events per Pipeline::Apply call while loading
};

struct ContextStoreFiles {
  std::string config_path;  // DIR/cdp.conf
  std::string data_dir;     // DIR/data
  std::string token;        // the cx token
  bool loaded = false;      // DIR/loaded matches the options: nothing to load
};

// Creates DIR, cdp.conf and cx.token when absent and tells whether the store is already loaded.
// A directory that holds other files than these is refused (kFailedPrecondition) rather than
// overwritten; a load that did not complete is wiped (DIR/data removed) so it starts over.
absl::StatusOr<ContextStoreFiles> PrepareContextStore(const ContextStoreOptions& options);

struct LoadReport {
  uint64_t events = 0;
  uint64_t calls = 0;
  double load_seconds = 0;     // generation, parsing and Apply
  double apply_seconds = 0;    // Pipeline::Apply alone
  double compact_seconds = 0;  // Store::CompactAll after the load
};

// Ingests the people into `stack` (opened on files.data_dir), compacts, and writes DIR/loaded.
// Prints progress to stderr. Fails when any event is not accepted.
absl::StatusOr<LoadReport> LoadContextStore(api::Stack& stack, const ContextStoreOptions& options);

// Bytes of the files under `dir` (0 when it does not exist).
uint64_t DirectoryBytes(const std::string& dir);

// Maps every file under `dir` read-only and reads it in (MAP_POPULATE) for as long as the object
// lives: a server that has run for a while holds the pages of its store it touched, and this
// makes a benchmark start from that state. Hosts that page out cold unmapped page cache (DAMON
// on this machine class, see docs/performance.md) otherwise leave a store read by an earlier
// process mostly on disk, and page out again what was read but not yet mapped.
class ResidentFiles {
 public:
  explicit ResidentFiles(const std::string& dir);
  ~ResidentFiles();
  ResidentFiles(const ResidentFiles&) = delete;
  ResidentFiles& operator=(const ResidentFiles&) = delete;

  uint64_t bytes() const { return bytes_; }

 private:
  std::vector<std::pair<void*, size_t>> mappings_;
  uint64_t bytes_ = 0;
};

}  // namespace cdp::bench
