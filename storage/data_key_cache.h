#pragma once
// A bounded cache of unwrapped per-profile data keys, evicting by second chance (CLOCK): a hit
// only sets a flag under a shared lock, so concurrent readers do not serialize on the hot path. Keys are shared_ptr-owned SecureBytes,
// so an evicted key is wiped as soon as the last reader using it lets go.
//
// A destroyed profile is remembered as a tombstone entry, so that a reader who loaded the key
// just before the destruction cannot put it back into the cache afterwards.
//
// Thread safety: all methods are safe for concurrent use (sharded, one mutex per shard).

#include <array>
#include <atomic>
#include <cstddef>
#include <list>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/profile_id.h"
#include "common/secure_bytes.h"

namespace cdp::storage {

using DataKey = std::shared_ptr<const SecureBytes>;

class DataKeyCache {
 public:
  // `capacity` entries in all (rounded up to a multiple of the shard count); at least 16.
  explicit DataKeyCache(size_t capacity);

  enum class Lookup { kMiss, kHit, kDestroyed };
  // On kHit, *key holds the data key.
  Lookup Get(const ProfileId& profile, DataKey* key);

  // Inserts unless a tombstone or another key is already there (a loader racing a destroy).
  void InsertIfAbsent(const ProfileId& profile, DataKey key);
  // Inserts or replaces (a key that has just been created or committed).
  void Put(const ProfileId& profile, DataKey key);
  // Replaces any entry with a tombstone.
  void MarkDestroyed(const ProfileId& profile);

  size_t size();
  // Entries it holds at most (the capacity asked for, rounded up to a multiple of the shards).
  size_t capacity() const { return per_shard_capacity_ * kShards; }

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    Entry(const ProfileId& p, DataKey k) : profile(p), key(std::move(k)) {}
    ProfileId profile;
    DataKey key;                            // null means destroyed
    std::atomic<bool> referenced{false};   // set by hits; cleared as eviction passes
  };
  struct Shard {
    absl::Mutex mu;
    std::list<Entry> ring ABSL_GUARDED_BY(mu);  // front = newest
    absl::flat_hash_map<ProfileId, std::list<Entry>::iterator> index ABSL_GUARDED_BY(mu);
  };

  Shard& ShardFor(const ProfileId& profile);
  void Upsert(Shard& shard, const ProfileId& profile, DataKey key, bool replace);

  const size_t per_shard_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace cdp::storage
