#pragma once
// ResidentFamily: an exact in-memory copy of one column family whose keys are 32-byte digests
// (the blind index: identifier hash -> index entry), so that a point read of it costs a hash
// lookup instead of a RocksDB read of a cached block (~3.7 µs per key at 1M people, half of
// identity resolution's time; see docs/performance.md). Internal to storage/: Store keeps it in
// step with the database.
//
// Contract with Store:
//   - Load fills it from a scan of the family at open, before any write;
//   - every WriteBatch records its changes to the family (Put with the exact stored bytes,
//     Delete, DeletePrefix) in order, and Store::Write applies them here right after the
//     database has committed the batch, holding write_mutex() across both so that the copy
//     applies batches in the database's commit order;
//   - when a write carrying changes fails, the database's state is uncertain (a WAL record
//     whose sync failed may still be replayed by a reopen): Store calls Disable and every read
//     goes to the database again until the next open;
//   - reads without a snapshot come from here; snapshot reads go to the database. A reader may
//     see a value a moment older than the database's (between commit and apply), never a value
//     that was not committed.
// Values are the stored envelopes (header and body), so a read opens them exactly as a value
// from the database. A key that is not 32 bytes or a value longer than kMaxValueSize cannot be
// held: the change disables the copy instead (no writer does that today).
//
// Thread safety: all methods are safe for concurrent use. The table is split into shards, each
// under its own reader-writer lock, so a writer (and a shard's rehash) holds up only the readers
// of that shard.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace cdp::storage {

class ResidentFamily {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kMaxValueSize = 255;

  // One change of a WriteBatch to the family, in batch order.
  struct Change {
    enum class Kind : uint8_t { kPut, kDelete, kDeletePrefix };
    Kind kind;
    std::string key;    // the key, or the prefix of kDeletePrefix
    std::string value;  // the stored bytes of kPut
  };

  ResidentFamily();
  ~ResidentFamily();
  ResidentFamily(const ResidentFamily&) = delete;
  ResidentFamily& operator=(const ResidentFamily&) = delete;

  // Adds one stored record during the load at open (no readers yet). Returns false, and disables
  // the copy, when the record cannot be held.
  bool Load(absl::string_view key, absl::string_view value);

  // Whether the copy answers reads: false after Disable.
  bool enabled() const { return enabled_.load(std::memory_order_acquire); }
  // Stops the copy from answering reads and frees it. Irreversible for this ResidentFamily.
  void Disable();

  enum class Lookup { kFound, kAbsent, kDisabled };
  // kFound with the stored bytes under `key` in *value, kAbsent, or kDisabled when the copy
  // cannot answer (after Disable, or for a key it cannot hold): read the database instead.
  Lookup Get(absl::string_view key, std::string* value) const;

  // Applies a committed batch's changes in order. REQUIRES: write_mutex() held across the
  // database write and this call.
  void Apply(const std::vector<Change>& changes);
  absl::Mutex& write_mutex() { return write_mu_; }

  // Records held and the memory they take (table slots and value bytes), approximately.
  uint64_t size() const;
  uint64_t memory_bytes() const;

 private:
  using Key = std::array<uint8_t, kKeySize>;
  struct KeyHash {
    size_t operator()(const Key& key) const;  // the digest's own first 8 bytes: keyed, uniform
  };
  // A stored value: its length in the first byte, then the bytes.
  using Value = std::unique_ptr<char[]>;
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<Key, Value, KeyHash> map ABSL_GUARDED_BY(mu);
    uint64_t value_bytes ABSL_GUARDED_BY(mu) = 0;
  };

  static std::optional<Key> ToKey(absl::string_view key);
  static size_t ShardOf(const Key& key) { return key[8] % kShards; }
  // Puts one record; false when it cannot be held.
  bool Put(absl::string_view key, absl::string_view value);
  void Erase(absl::string_view key);
  void ErasePrefix(absl::string_view prefix);

  std::atomic<bool> enabled_{true};
  absl::Mutex write_mu_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace cdp::storage
