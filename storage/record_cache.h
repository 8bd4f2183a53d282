#pragma once
// RecordCache: opened records of the small families that every event and every lookup reads by
// key (blind index, profile records, redirects, suppression list), kept in memory so that a read
// that hits costs a hash lookup instead of a RocksDB point read (block cache, in-block search)
// plus an AES-GCM open. Internal to storage/: Store consults it on reads without a snapshot and
// invalidates it on every write.
//
// What it holds: for a key, either the opened record or the fact that the key is absent (most
// suppression and dedup lookups miss, and a miss through RocksDB costs as much as a hit).
// Records are held as plaintext, as the data-key cache holds keys: in the server's memory, never
// on disk. A hit is checked against the retention policy by the caller, like a read.
//
// Consistency: the cache never serves a value older than the last completed write of its key.
//   - Every write invalidates the keys it touches after it is applied, whether it succeeded or
//     not (a failed write may still have reached the database); writes that touch whole ranges
//     (a prefix delete) or make records unreadable (a destroyed data key) invalidate everything.
//   - A reader takes a Ticket before it reads the database and offers what it read with it;
//     Insert drops the offer when an invalidation of that key (or of everything) came in
//     between, so a slow reader never puts back a value a writer has just replaced.
// Memory is bounded by the capacity: entries are charged for key, value and bookkeeping, and the
// least recently used go first (RocksDB's sharded LRU cache).
//
// Thread safety: safe for concurrent use.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/strings/string_view.h"
#include "storage/family.h"
#include "storage/record.h"

namespace rocksdb {
class Cache;
}

namespace cdp::storage {

class RecordCache {
 public:
  // Whether records of `family` are cached: the families read by key on the hot paths, whose
  // records are small. Events (scanned, most of the bytes), dedup entries (read once per
  // message id, so a cache would only ever hold misses), and the append-only logs are not.
  static constexpr bool Caches(Family family) {
    return family == Family::kIdentifiers || family == Family::kProfiles ||
           family == Family::kRedirects || family == Family::kSuppression;
  }

  // `capacity_bytes` > 0.
  explicit RecordCache(size_t capacity_bytes);
  ~RecordCache();
  RecordCache(const RecordCache&) = delete;
  RecordCache& operator=(const RecordCache&) = delete;

  // nullopt: not cached. Otherwise the cached answer: a record, or nullopt for a known absence.
  std::optional<std::optional<Record>> Lookup(Family family, absl::string_view key) const;

  // Taken before reading `key` from the database, handed back to Insert.
  struct Ticket {
    uint64_t epoch = 0;
    uint64_t generation = 0;
  };
  Ticket Prepare(Family family, absl::string_view key) const;
  // Caches what a read that started with `ticket` found (nullopt: the key is absent), unless the
  // key was invalidated since the ticket was taken.
  void Insert(Family family, absl::string_view key, const std::optional<Record>& record,
              const Ticket& ticket);

  // Forgets `key` (a write to it was applied or attempted).
  void Invalidate(Family family, absl::string_view key);
  // Forgets everything.
  void InvalidateAll();

  // Bytes charged for the entries held.
  size_t usage() const;

 private:
  static constexpr size_t kStripes = 256;
  size_t Stripe(Family family, absl::string_view key) const;

  std::shared_ptr<rocksdb::Cache> cache_;
  // Bumped by InvalidateAll; part of every cache key, so older entries are unreachable at once
  // (they age out of the LRU).
  std::atomic<uint64_t> epoch_{0};
  // Bumped by Invalidate of any key of the stripe, before the entry is erased.
  mutable std::array<std::atomic<uint64_t>, kStripes> generations_{};
};

}  // namespace cdp::storage
