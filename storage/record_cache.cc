#include "storage/record_cache.h"

#include <cstring>
#include <new>
#include <string>

#include "absl/hash/hash.h"
#include "rocksdb/cache.h"

namespace cdp::storage {
namespace {

// RocksDB's HyperClockCache takes 16-byte keys only: the cache key is a 128-bit hash of
// (epoch, family, key), and the entry keeps all three to confirm a hit.
constexpr size_t kCacheKeySize = 16;
// Typical charge of an entry (header, a 32-byte digest or a profile key, a small value): sizes
// the clock cache's fixed table.
constexpr size_t kEstimatedEntryCharge = 160;

// One allocation: the header, then the key, then the value.
struct Entry {
  uint64_t epoch;
  RecordMeta meta;
  uint32_t key_size;
  uint32_t value_size;
  Family family;
  bool present;

  const char* key_data() const { return reinterpret_cast<const char*>(this + 1); }
  const char* value_data() const { return key_data() + key_size; }
  bool Matches(uint64_t e, Family f, absl::string_view k) const {
    return epoch == e && family == f && absl::string_view(key_data(), key_size) == k;
  }
};

Entry* NewEntry(uint64_t epoch, Family family, absl::string_view key,
                const std::optional<Record>& record) {
  const size_t value_size = record ? record->value.size() : 0;
  void* memory = ::operator new(sizeof(Entry) + key.size() + value_size);
  auto* entry = new (memory) Entry{.epoch = epoch,
                                   .meta = record ? record->meta : RecordMeta{},
                                   .key_size = static_cast<uint32_t>(key.size()),
                                   .value_size = static_cast<uint32_t>(value_size),
                                   .family = family,
                                   .present = record.has_value()};
  char* data = reinterpret_cast<char*>(entry + 1);
  std::memcpy(data, key.data(), key.size());
  if (value_size > 0) std::memcpy(data + key.size(), record->value.data(), value_size);
  return entry;
}

void DeleteEntry(const rocksdb::Slice&, void* value) { ::operator delete(value); }

struct CacheKey {
  char bytes[kCacheKeySize];
  rocksdb::Slice slice() const { return rocksdb::Slice(bytes, kCacheKeySize); }
};

CacheKey MakeCacheKey(uint64_t epoch, Family family, absl::string_view key) {
  const uint64_t h1 = absl::HashOf(epoch, static_cast<uint8_t>(family), key);
  const uint64_t h2 =
      absl::HashOf(key, static_cast<uint8_t>(family), epoch, uint64_t{0x9e3779b97f4a7c15});
  CacheKey out;
  std::memcpy(out.bytes, &h1, sizeof(h1));
  std::memcpy(out.bytes + sizeof(h1), &h2, sizeof(h2));
  return out;
}

}  // namespace

RecordCache::RecordCache(size_t capacity_bytes)
    : cache_(rocksdb::HyperClockCacheOptions(capacity_bytes, kEstimatedEntryCharge)
                 .MakeSharedCache()) {}

RecordCache::~RecordCache() = default;

size_t RecordCache::Stripe(Family family, absl::string_view key) const {
  return absl::HashOf(static_cast<uint8_t>(family), key) % kStripes;
}

std::optional<std::optional<Record>> RecordCache::Lookup(Family family,
                                                         absl::string_view key) const {
  const uint64_t epoch = epoch_.load();
  rocksdb::Cache::Handle* handle = cache_->Lookup(MakeCacheKey(epoch, family, key).slice());
  if (handle == nullptr) return std::nullopt;
  std::optional<std::optional<Record>> result;
  const auto* entry = static_cast<const Entry*>(cache_->Value(handle));
  if (entry->Matches(epoch, family, key)) {  // else a 128-bit hash collision: a miss
    result.emplace();
    if (entry->present) {
      result->emplace(Record{.meta = entry->meta,
                             .value = std::string(entry->value_data(), entry->value_size)});
    }
  }
  cache_->Release(handle);
  return result;
}

RecordCache::Ticket RecordCache::Prepare(Family family, absl::string_view key) const {
  return Ticket{.epoch = epoch_.load(), .generation = generations_[Stripe(family, key)].load()};
}

void RecordCache::Insert(Family family, absl::string_view key,
                         const std::optional<Record>& record, const Ticket& ticket) {
  std::atomic<uint64_t>& generation = generations_[Stripe(family, key)];
  if (epoch_.load() != ticket.epoch || generation.load() != ticket.generation) return;
  const CacheKey cache_key = MakeCacheKey(ticket.epoch, family, key);
  Entry* entry = NewEntry(ticket.epoch, family, key, record);
  const size_t charge = sizeof(Entry) + entry->key_size + entry->value_size;
  // The cache owns the entry from here, also when the insert fails (it deletes it then).
  if (!cache_->Insert(cache_key.slice(), entry, charge, &DeleteEntry).ok()) return;
  // An invalidation between the check above and the insert may have erased nothing, so the
  // offer, possibly older than the write that invalidated, goes again.
  if (generation.load() != ticket.generation) cache_->Erase(cache_key.slice());
}

void RecordCache::Invalidate(Family family, absl::string_view key) {
  generations_[Stripe(family, key)].fetch_add(1);
  cache_->Erase(MakeCacheKey(epoch_.load(), family, key).slice());
}

void RecordCache::InvalidateAll() { epoch_.fetch_add(1); }

size_t RecordCache::usage() const { return cache_->GetUsage(); }

}  // namespace cdp::storage
