#include "storage/resident_family.h"

#include <cstring>

#include "absl/strings/match.h"
#include "common/big_endian.h"

namespace cdp::storage {

size_t ResidentFamily::KeyHash::operator()(const Key& key) const {
  return static_cast<size_t>(GetBigEndian64(
      absl::string_view(reinterpret_cast<const char*>(key.data()), sizeof(uint64_t))));
}

ResidentFamily::ResidentFamily() : shards_(std::make_unique<Shard[]>(kShards)) {}
ResidentFamily::~ResidentFamily() = default;

std::optional<ResidentFamily::Key> ResidentFamily::ToKey(absl::string_view key) {
  if (key.size() != kKeySize) return std::nullopt;
  Key out;
  std::memcpy(out.data(), key.data(), kKeySize);
  return out;
}

bool ResidentFamily::Load(absl::string_view key, absl::string_view value) {
  if (Put(key, value)) return true;
  Disable();
  return false;
}

void ResidentFamily::Disable() {
  enabled_.store(false, std::memory_order_release);
  for (size_t i = 0; i < kShards; ++i) {
    absl::MutexLock lock(&shards_[i].mu);
    absl::flat_hash_map<Key, Value, KeyHash>().swap(shards_[i].map);
    shards_[i].value_bytes = 0;
  }
}

ResidentFamily::Lookup ResidentFamily::Get(absl::string_view key, std::string* value) const {
  const std::optional<Key> k = ToKey(key);
  if (!k) return Lookup::kDisabled;
  const Shard& shard = shards_[ShardOf(*k)];
  absl::ReaderMutexLock lock(&shard.mu);
  // Checked under the shard's lock: Disable clears the shards after clearing the flag, so a
  // reader that sees it set sees the shard as it was before.
  if (!enabled()) return Lookup::kDisabled;
  auto it = shard.map.find(*k);
  if (it == shard.map.end()) return Lookup::kAbsent;
  const char* stored = it->second.get();
  value->assign(stored + 1, static_cast<uint8_t>(stored[0]));
  return Lookup::kFound;
}

bool ResidentFamily::Put(absl::string_view key, absl::string_view value) {
  const std::optional<Key> k = ToKey(key);
  if (!k || value.size() > kMaxValueSize) return false;
  Value stored(new char[1 + value.size()]);
  stored[0] = static_cast<char>(static_cast<uint8_t>(value.size()));
  std::memcpy(stored.get() + 1, value.data(), value.size());
  Shard& shard = shards_[ShardOf(*k)];
  absl::MutexLock lock(&shard.mu);
  auto [it, inserted] = shard.map.try_emplace(*k);
  if (!inserted) shard.value_bytes -= 1 + static_cast<uint8_t>(it->second[0]);
  it->second = std::move(stored);
  shard.value_bytes += 1 + value.size();
  return true;
}

void ResidentFamily::Erase(absl::string_view key) {
  const std::optional<Key> k = ToKey(key);
  if (!k) return;  // never held
  Shard& shard = shards_[ShardOf(*k)];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(*k);
  if (it == shard.map.end()) return;
  shard.value_bytes -= 1 + static_cast<uint8_t>(it->second[0]);
  shard.map.erase(it);
}

void ResidentFamily::ErasePrefix(absl::string_view prefix) {
  for (size_t i = 0; i < kShards; ++i) {
    Shard& shard = shards_[i];
    absl::MutexLock lock(&shard.mu);
    absl::erase_if(shard.map, [&](const auto& entry) {
      const absl::string_view key(reinterpret_cast<const char*>(entry.first.data()), kKeySize);
      if (!absl::StartsWith(key, prefix)) return false;
      shard.value_bytes -= 1 + static_cast<uint8_t>(entry.second[0]);
      return true;
    });
  }
}

void ResidentFamily::Apply(const std::vector<Change>& changes) {
  for (const Change& change : changes) {
    if (!enabled()) return;
    switch (change.kind) {
      case Change::Kind::kPut:
        if (!Put(change.key, change.value)) Disable();
        break;
      case Change::Kind::kDelete:
        Erase(change.key);
        break;
      case Change::Kind::kDeletePrefix:
        ErasePrefix(change.key);
        break;
    }
  }
}

uint64_t ResidentFamily::size() const {
  uint64_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    absl::ReaderMutexLock lock(&shards_[i].mu);
    n += shards_[i].map.size();
  }
  return n;
}

uint64_t ResidentFamily::memory_bytes() const {
  uint64_t bytes = 0;
  for (size_t i = 0; i < kShards; ++i) {
    absl::ReaderMutexLock lock(&shards_[i].mu);
    const auto& map = shards_[i].map;
    bytes += map.capacity() * (sizeof(Key) + sizeof(Value) + 1) + shards_[i].value_bytes;
  }
  return bytes;
}

}  // namespace cdp::storage
