#include "ingest/compression_watch.h"

#include <algorithm>

namespace cdp::ingest {

void CompressionWatch::Watch(uint32_t id, double baseline_ratio) {
  *this = CompressionWatch(options_);
  id_ = id;
  if (id != 0 && baseline_ratio > 0) baseline_ = baseline_ratio;
}

void CompressionWatch::Add(size_t plain_bytes, size_t compressed_bytes) {
  if (id_ == 0 || options_.window_events == 0) return;
  ++values_;
  window_plain_ += plain_bytes;
  window_compressed_ += compressed_bytes;
  if (++window_values_ < options_.window_events) return;
  last_ = static_cast<double>(window_plain_) /
          static_cast<double>(std::max<uint64_t>(window_compressed_, 1));
  window_plain_ = window_compressed_ = window_values_ = 0;
  if (baseline_ == 0) {
    baseline_ = last_;
    return;
  }
  // window × 2^id values at least, with the shift kept well inside 64 bits.
  const uint32_t shift = std::min<uint32_t>(id_, 40);
  const bool waited = (values_ >> shift) >= options_.window_events;
  if (waited && last_ < options_.stale_share * baseline_) stale_ = true;
}

}  // namespace cdp::ingest
