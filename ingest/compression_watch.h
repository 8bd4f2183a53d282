#pragma once
// CompressionWatch: tells the pipeline when the store's newest value dictionary
// (storage/dictionary_codec.h) has fallen behind the events it compresses, so that the pipeline
// samples the feed again and trains a newer one.
//
// A dictionary knows the events it was trained on. A feed that starts with something else (a CRM
// backfill of identify calls before the live track and page stream), or that changes later (a new
// app, new properties), compresses worse with it than it could. The watch takes the ratio
// (plain bytes / compressed bytes) the dictionary reaches on the first `window_events` values after
// it became the newest as its baseline, then the ratio of each following window of as many
// values. The dictionary is stale once a window falls below `stale_share` of the baseline, and
// once at least `window_events × 2^id` values were compressed with dictionary `id`: dictionaries
// are kept for as long as the store lives (events made with them stay readable), so each later
// one must wait twice as long as the one before, which bounds them to about log2(events / window)
// even on a feed that swings back and forth.
//
// The pipeline records each baseline in the store (Store::RecordDictionaryRatio) and hands it back
// to Watch after a restart, so a store that restarts between a backfill and the live feed still
// compares the feed with what the dictionary reached on the backfill. The count of values is not
// kept: after a restart the wait of window × 2^id values starts again.
//
// Thread safety: none; the pipeline calls it under the profile writer mutex.

#include <cstddef>
#include <cstdint>

namespace cdp::ingest {

struct CompressionWatchOptions {
  // Values per measuring window. Default 20,000.
  uint64_t window_events = 20'000;
  // A window below this share of the baseline ratio makes the dictionary stale. Default 0.8.
  double stale_share = 0.8;
};

class CompressionWatch {
 public:
  explicit CompressionWatch(CompressionWatchOptions options = {}) : options_(options) {}

  // Starts over for dictionary `id` (0: none), now the newest, with `baseline_ratio` as its
  // baseline when it was measured before (0: measure it on the first window).
  void Watch(uint32_t id, double baseline_ratio = 0);
  uint32_t watched() const { return id_; }

  // Counts one value compressed with the watched dictionary.
  void Add(size_t plain_bytes, size_t compressed_bytes);

  // See the file comment. Stays true until the next Watch.
  bool stale() const { return stale_; }
  // Ratios of the baseline window and of the last complete window; 0 until measured.
  double baseline_ratio() const { return baseline_; }
  double last_ratio() const { return last_; }

 private:
  CompressionWatchOptions options_;
  uint32_t id_ = 0;
  uint64_t values_ = 0;  // compressed with the watched dictionary
  uint64_t window_plain_ = 0, window_compressed_ = 0, window_values_ = 0;
  double baseline_ = 0, last_ = 0;
  bool stale_ = false;
};

}  // namespace cdp::ingest
