#include "storage/data_key_cache.h"

#include <algorithm>

namespace cdp::storage {

DataKeyCache::DataKeyCache(size_t capacity)
    : per_shard_capacity_(std::max<size_t>(1, (capacity + kShards - 1) / kShards)) {}

DataKeyCache::Shard& DataKeyCache::ShardFor(const ProfileId& profile) {
  // Profile ids are random, so one byte spreads them evenly.
  return shards_[static_cast<uint8_t>(profile.bytes()[0]) % kShards];
}

DataKeyCache::Lookup DataKeyCache::Get(const ProfileId& profile, DataKey* key) {
  Shard& shard = ShardFor(profile);
  absl::ReaderMutexLock lock(&shard.mu);
  auto it = shard.index.find(profile);
  if (it == shard.index.end()) return Lookup::kMiss;
  Entry& entry = *it->second;
  if (!entry.referenced.load(std::memory_order_relaxed)) {
    entry.referenced.store(true, std::memory_order_relaxed);
  }
  if (!entry.key) return Lookup::kDestroyed;
  *key = entry.key;
  return Lookup::kHit;
}

void DataKeyCache::Upsert(Shard& shard, const ProfileId& profile, DataKey key, bool replace) {
  auto it = shard.index.find(profile);
  if (it != shard.index.end()) {
    if (replace) it->second->key = std::move(key);
    return;
  }
  shard.ring.emplace_front(profile, std::move(key));
  shard.index.emplace(profile, shard.ring.begin());
  // Second chance: a referenced entry at the tail goes back to the front once, unreferenced.
  size_t passes = shard.ring.size();
  while (shard.ring.size() > per_shard_capacity_ && passes-- > 0) {
    auto last = std::prev(shard.ring.end());
    if (last->referenced.exchange(false, std::memory_order_relaxed)) {
      shard.ring.splice(shard.ring.begin(), shard.ring, last);
      continue;
    }
    shard.index.erase(last->profile);
    shard.ring.erase(last);
  }
  while (shard.ring.size() > per_shard_capacity_) {
    shard.index.erase(shard.ring.back().profile);
    shard.ring.pop_back();
  }
}

void DataKeyCache::InsertIfAbsent(const ProfileId& profile, DataKey key) {
  Shard& shard = ShardFor(profile);
  absl::MutexLock lock(&shard.mu);
  Upsert(shard, profile, std::move(key), /*replace=*/false);
}

void DataKeyCache::Put(const ProfileId& profile, DataKey key) {
  Shard& shard = ShardFor(profile);
  absl::MutexLock lock(&shard.mu);
  Upsert(shard, profile, std::move(key), /*replace=*/true);
}

void DataKeyCache::MarkDestroyed(const ProfileId& profile) {
  Shard& shard = ShardFor(profile);
  absl::MutexLock lock(&shard.mu);
  Upsert(shard, profile, nullptr, /*replace=*/true);
}

size_t DataKeyCache::size() {
  size_t total = 0;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total += shard.ring.size();
  }
  return total;
}

}  // namespace cdp::storage
