#pragma once
// The retention hook: storage asks a policy supplied from above (consent/ implements it) whether
// a record has expired. Storage consults it in two places:
//   - on every read: an expired record is never returned, even before it is physically gone;
//   - in a RocksDB compaction filter: an expired record is dropped when its file is compacted.
// The policy sees only the plaintext envelope header (family, category, time), never the value,
// so it works without data keys.

#include <cstdint>

#include "storage/family.h"
#include "storage/record.h"

namespace cdp::storage {

class RetentionPolicy {
 public:
  virtual ~RetentionPolicy() = default;

  // True when a record of `family` with `meta` has expired at `now_micros`.
  // Called concurrently from reader and compaction threads: must be thread-safe, fast, and must
  // not call back into the store.
  virtual bool IsExpired(Family family, const RecordMeta& meta, int64_t now_micros) const = 0;
};

}  // namespace cdp::storage
