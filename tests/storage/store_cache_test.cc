// Where the store's blocks are cached: in the block cache when reads copy blocks
// (StoreOptions::mmap_reads off), or, for the sealed families and the key vault, in the OS page
// cache through memory-mapped files (on, the default).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "common/proc_status.h"
#include "tests/storage/store_fixture.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::IsOk;
using ::testing::ElementsAre;

class StoreCacheTest : public testing::StoreTestBase {
 protected:
  StoreOptions WithMmap(bool mmap_reads) const {
    StoreOptions options = Options();
    options.mmap_reads = mmap_reads;
    return options;
  }

  // One profile with two events, its profile record and a plain (compressed-family) record, all
  // compacted into SST files so that reads after a reopen go to the files.
  void WriteAndCompact() {
    Open(WithMmap(true));
    profile_ = NewProfile();
    PutOrDie(Family::kEvents, ProfileRecordKey(profile_, 1, 0), std::string(4000, 'e'));
    PutOrDie(Family::kEvents, ProfileRecordKey(profile_, 2, 0), std::string(3000, 'f'));
    PutOrDie(Family::kProfiles, ProfileKey(profile_), std::string(4000, 'p'));
    PutOrDie(Family::kRedirects, ProfileKey(plain_profile_), std::string(4000, 'r'));
    ASSERT_THAT(store_->CompactAll(), IsOk());
    Close();
  }

  uint64_t CacheUsage() { return Stats().block_cache_usage_bytes; }

  // How many SST files of the store's database ("db") or key vault ("keyvault") this process
  // has mapped (from /proc/self/maps).
  int MappedTableFiles(const std::string& database = "db") const {
    std::ifstream maps("/proc/self/maps");
    const std::string db_dir = Options().data_dir + "/" + database + "/";
    int mapped = 0;
    for (std::string line; std::getline(maps, line);) {
      if (line.find(db_dir) != std::string::npos && line.ends_with(".sst")) ++mapped;
    }
    return mapped;
  }

  // The events of profile_, newest first.
  std::vector<std::string> EventsNewestFirst() {
    std::vector<std::string> values;
    absl::Status status = store_->Scan(Family::kEvents, ProfileKey(profile_),
                                       {.reverse = true}, [&](absl::string_view, Record record) {
                                         values.push_back(record.value);
                                         return true;
                                       });
    EXPECT_THAT(status, IsOk());
    return values;
  }

  ProfileId profile_;
  ProfileId plain_profile_ = ProfileId::Random();
};

// Copying reads: events and the other families have block caches of their own; the stats count
// both.
TEST_F(StoreCacheTest, CopiedReadsCacheEventsAndOtherFamilies) {
  WriteAndCompact();
  Open(WithMmap(false));  // empty caches
  EXPECT_EQ(MappedTableFiles(), 0);
  EXPECT_EQ(MappedTableFiles("keyvault"), 0);
  const uint64_t before = CacheUsage();
  EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileRecordKey(profile_, 1, 0)),
            std::string(4000, 'e'));
  const uint64_t after_event = CacheUsage();
  EXPECT_GT(after_event, before);
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(profile_)), std::string(4000, 'p'));
  const uint64_t after_both = CacheUsage();
  EXPECT_GT(after_both, after_event);
  EXPECT_LE(after_both, Options().block_cache_bytes);
}

// Mapped reads: the sealed families are read in place and never enter the block cache; the
// compressed families still do.
TEST_F(StoreCacheTest, MappedReadsLeaveSealedFamiliesToThePageCache) {
  WriteAndCompact();
  Open(WithMmap(true));
  const uint64_t before = CacheUsage();
  EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileRecordKey(profile_, 1, 0)),
            std::string(4000, 'e'));
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(profile_)), std::string(4000, 'p'));
  EXPECT_THAT(EventsNewestFirst(), ElementsAre(std::string(3000, 'f'), std::string(4000, 'e')));
  EXPECT_EQ(CacheUsage(), before);
  EXPECT_GT(MappedTableFiles(), 0);
  EXPECT_EQ(GetValueOrDie(Family::kRedirects, ProfileKey(plain_profile_)), std::string(4000, 'r'));
  EXPECT_GT(CacheUsage(), before);
}

// The key vault's files are read like the sealed families': in place when mapped, through the
// store's block cache when copied. 500 data keys fill several vault blocks; the profile whose id
// sorts first has its key in the first block, apart from the vault's meta record that opening
// reads. Writing a record of that profile needs its key and reads no other file.
TEST_F(StoreCacheTest, TheKeyVaultIsReadLikeTheSealedFamilies) {
  Open(WithMmap(true));
  std::vector<ProfileId> profiles(500);
  WriteBatch batch = store_->NewBatch();
  for (ProfileId& profile : profiles) {
    profile = ProfileId::Random();
    ASSERT_THAT(batch.CreateDataKey(profile), IsOk());
  }
  ASSERT_THAT(store_->Write(batch), IsOk());
  ASSERT_THAT(store_->key_vault().Purge(), IsOk());
  const ProfileId first = *std::min_element(profiles.begin(), profiles.end());
  const std::string key = ProfileKey(first);

  for (bool mmap_reads : {true, false}) {
    SCOPED_TRACE(mmap_reads ? "mapped" : "copied");
    Open(WithMmap(mmap_reads));  // empty key and block caches
    EXPECT_EQ(MappedTableFiles("keyvault") > 0, mmap_reads);
    const uint64_t before = CacheUsage();
    PutOrDie(Family::kProfiles, key, "written");
    EXPECT_EQ(CacheUsage() > before, !mmap_reads);
    EXPECT_EQ(GetValueOrDie(Family::kProfiles, key), "written");
  }
}

// The data-key cache keeps the keys of as many profiles as it is sized for; a profile beyond it
// costs a vault read each time it is read again, which the store's stats count so that an
// operator can see a cache smaller than the people served.
TEST_F(StoreCacheTest, AKeyCacheSmallerThanTheProfilesReadShowsInVaultReads) {
  Open();
  std::vector<ProfileId> profiles(200);
  WriteBatch batch = store_->NewBatch();
  for (ProfileId& profile : profiles) {
    profile = ProfileId::Random();
    ASSERT_THAT(batch.CreateDataKey(profile), IsOk());
    ASSERT_THAT(batch.Put(Family::kProfiles, ProfileKey(profile), {}, "data"), IsOk());
  }
  ASSERT_THAT(store_->Write(batch), IsOk());

  for (size_t capacity : {size_t{16}, size_t{1024}}) {
    SCOPED_TRACE(capacity);
    StoreOptions options = Options();
    options.data_key_cache_capacity = capacity;
    Open(options);  // an empty key cache
    const auto read_all = [&] {
      for (const ProfileId& profile : profiles) {
        EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(profile)), "data");
      }
      return Stats();
    };
    const StoreStats first = read_all();
    EXPECT_EQ(first.data_key_cache_capacity, capacity);
    EXPECT_EQ(first.data_key_vault_reads, profiles.size());  // every key read once
    const StoreStats second = read_all();
    if (capacity < profiles.size()) {
      EXPECT_EQ(second.data_key_cache_keys, capacity);
      EXPECT_GT(second.data_key_vault_reads, first.data_key_vault_reads);
    } else {
      EXPECT_EQ(second.data_key_cache_keys, profiles.size());
      EXPECT_EQ(second.data_key_vault_reads, first.data_key_vault_reads);
    }
  }
}

TEST(DataKeyCacheDefaultTest, SizedToASixteenthOfMemoryAndAtLeastAMillionKeys) {
  const size_t capacity = DefaultDataKeyCacheCapacity();
  EXPECT_GE(capacity, 1'000'000u);
  EXPECT_EQ(capacity, std::max<uint64_t>(1'000'000, PhysicalMemoryBytes() / 16 /
                                                        kDataKeyCacheBytesPerKey));
  EXPECT_EQ(StoreOptions().data_key_cache_capacity, capacity);
}

// The same files read either way give the same records, including after a write on top.
TEST_F(StoreCacheTest, MappedAndCopiedReadsSeeTheSameRecords) {
  WriteAndCompact();
  for (bool mmap_reads : {false, true, false}) {
    SCOPED_TRACE(mmap_reads ? "mapped" : "copied");
    Open(WithMmap(mmap_reads));
    EXPECT_THAT(EventsNewestFirst(), ElementsAre(std::string(3000, 'f'), std::string(4000, 'e')));
    EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(profile_)), std::string(4000, 'p'));
    EXPECT_EQ(GetValueOrDie(Family::kRedirects, ProfileKey(plain_profile_)),
              std::string(4000, 'r'));
  }
  PutOrDie(Family::kProfiles, ProfileKey(profile_), "updated");
  ASSERT_THAT(store_->CompactAll(), IsOk());
  Open(WithMmap(true));
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(profile_)), "updated");
}

}  // namespace
}  // namespace cdp::storage
