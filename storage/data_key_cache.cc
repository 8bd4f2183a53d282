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
  absl::MutexLock lock(&shard.mu);
  auto it = shard.index.find(profile);
  if (it == shard.index.end()) return Lookup::kMiss;
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  if (!it->second->key) return Lookup::kDestroyed;
  *key = it->second->key;
  return Lookup::kHit;
}

void DataKeyCache::Upsert(Shard& shard, const ProfileId& profile, DataKey key, bool replace) {
  auto it = shard.index.find(profile);
  if (it != shard.index.end()) {
    if (!replace) return;
    it->second->key = std::move(key);
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return;
  }
  shard.lru.push_front(Entry{profile, std::move(key)});
  shard.index.emplace(profile, shard.lru.begin());
  while (shard.lru.size() > per_shard_capacity_) {
    shard.index.erase(shard.lru.back().profile);
    shard.lru.pop_back();
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
    total += shard.lru.size();
  }
  return total;
}

}  // namespace cdp::storage
