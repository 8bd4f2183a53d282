#include "storage/data_key_cache.h"

#include <gtest/gtest.h>

namespace cdp::storage {
namespace {

DataKey MakeKey(char fill) { return std::make_shared<const SecureBytes>(std::string(32, fill)); }

TEST(DataKeyCacheTest, HitAfterPutMissOtherwise) {
  DataKeyCache cache(64);
  ProfileId a = ProfileId::Random();
  DataKey key;
  EXPECT_EQ(cache.Get(a, &key), DataKeyCache::Lookup::kMiss);
  cache.Put(a, MakeKey('a'));
  ASSERT_EQ(cache.Get(a, &key), DataKeyCache::Lookup::kHit);
  EXPECT_EQ(key->view(), std::string(32, 'a'));
}

TEST(DataKeyCacheTest, StaysWithinCapacity) {
  DataKeyCache cache(32);
  for (int i = 0; i < 1000; ++i) cache.Put(ProfileId::Random(), MakeKey('x'));
  EXPECT_LE(cache.size(), 32u);
}

TEST(DataKeyCacheTest, RecentlyUsedKeyGetsASecondChance) {
  DataKeyCache cache(16);  // one entry per shard
  ProfileId hot = ProfileId::Random();
  cache.Put(hot, MakeKey('h'));
  DataKey key;
  ASSERT_EQ(cache.Get(hot, &key), DataKeyCache::Lookup::kHit);  // referenced
  // A newcomer in the same shard evicts the cold tail, not the referenced key.
  ProfileId same_shard;
  do {
    same_shard = ProfileId::Random();
  } while (static_cast<uint8_t>(same_shard.bytes()[0]) % 16 !=
           static_cast<uint8_t>(hot.bytes()[0]) % 16);
  cache.Put(same_shard, MakeKey('n'));
  EXPECT_LE(cache.size(), 16u);
  EXPECT_EQ(cache.Get(hot, &key), DataKeyCache::Lookup::kHit);
}

TEST(DataKeyCacheTest, TombstoneBlocksLateInsertOfALoadedKey) {
  DataKeyCache cache(64);
  ProfileId a = ProfileId::Random();
  cache.MarkDestroyed(a);
  cache.InsertIfAbsent(a, MakeKey('a'));  // a reader that loaded the key before the destroy
  DataKey key;
  EXPECT_EQ(cache.Get(a, &key), DataKeyCache::Lookup::kDestroyed);
  cache.Put(a, MakeKey('b'));  // an explicit new key replaces the tombstone
  EXPECT_EQ(cache.Get(a, &key), DataKeyCache::Lookup::kHit);
}

TEST(DataKeyCacheTest, EvictedKeyStaysValidForItsHolder) {
  DataKeyCache cache(16);
  ProfileId a = ProfileId::Random();
  cache.Put(a, MakeKey('a'));
  DataKey held;
  ASSERT_EQ(cache.Get(a, &held), DataKeyCache::Lookup::kHit);
  for (int i = 0; i < 1000; ++i) cache.Put(ProfileId::Random(), MakeKey('x'));
  EXPECT_EQ(held->view(), std::string(32, 'a'));
}

}  // namespace
}  // namespace cdp::storage
