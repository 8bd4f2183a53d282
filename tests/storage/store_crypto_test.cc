// Encryption at rest: tampering, moved ciphertexts, wrong or missing key files, KEK rotation and
// crypto-shredding, against a real RocksDB.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "storage/errors.h"
#include "tests/storage/store_fixture.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;

class StoreCryptoTest : public testing::StoreTestBase {
 protected:
  void SetUp() override { Open(); }
  std::string data_dir() const { return Options().data_dir; }
};

TEST_F(StoreCryptoTest, SealedValuesAreNotPlaintextOnDiskButPlainOnesAre) {
  ProfileId a = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(a), "sealed-secret");
  PutOrDie(Family::kAudit, SequenceKey(1), "plain-audit");
  Close();
  auto profiles = testing::RawFamily(data_dir(), Family::kProfiles);
  ASSERT_EQ(profiles.size(), 1u);
  EXPECT_EQ(profiles.begin()->second.find("sealed-secret"), std::string::npos);
  auto audit = testing::RawFamily(data_dir(), Family::kAudit);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_NE(audit.begin()->second.find("plain-audit"), std::string::npos);
}

TEST_F(StoreCryptoTest, PooledKeysAreDurableBeforeAnyProfileTakesThem) {
  Open();
  KeyVault& vault = store_->key_vault();
  EXPECT_EQ(vault.pooled_keys(), 0u);
  CDP_ASSERT_OK_AND_ASSIGN(const ProfileId first, vault.TakePooledKey());
  EXPECT_EQ(vault.pooled_keys(), KeyVault::kKeyPoolRefill - 1);
  CDP_ASSERT_OK_AND_ASSIGN(const ProfileId second, vault.TakePooledKey());
  EXPECT_NE(first, second);
  // A record sealed under a pooled key needs no key created in its batch.
  PutOrDie(Family::kProfiles, ProfileKey(first), "first's record");
  // An id given back is the next one taken.
  vault.ReturnPooledKey(second);
  CDP_ASSERT_OK_AND_ASSIGN(const ProfileId again, vault.TakePooledKey());
  EXPECT_EQ(again, second);

  // The keys were in the vault before any record used them: they survive a restart, and the
  // pool's untaken keys are counted there too.
  Open();
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(first)), "first's record");
  PutOrDie(Family::kProfiles, ProfileKey(second), "second's record");
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(second)), "second's record");
  auto keys = store_->key_vault().CountByKekVersion();
  ASSERT_THAT(keys, IsOk());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].second, KeyVault::kKeyPoolRefill);
}

TEST_F(StoreCryptoTest, EveryTamperedByteIsDetectedAsDataLoss) {
  ProfileId a = NewProfile();
  RecordMeta meta{.category = 3, .time_micros = 99};
  PutOrDie(Family::kProfiles, ProfileKey(a), "payload", meta);
  Close();
  const std::string original = testing::RawFamily(data_dir(), Family::kProfiles).at(ProfileKey(a));
  // Header bytes (category, time), nonce, ciphertext and tag: each one matters.
  for (size_t i = 1; i < original.size(); i += 3) {
    std::string tampered = original;
    tampered[i] ^= 0x20;
    testing::RawPut(data_dir(), Family::kProfiles, ProfileKey(a), tampered);
    Open();
    EXPECT_THAT(store_->Get(Family::kProfiles, ProfileKey(a)),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("does not authenticate")))
        << "byte " << i;
    Close();
  }
  testing::RawPut(data_dir(), Family::kProfiles, ProfileKey(a), std::string("\x07garbage", 8));
  Open();
  EXPECT_THAT(store_->Get(Family::kProfiles, ProfileKey(a)),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(StoreCryptoTest, CiphertextMovedToAnotherKeyIsDetected) {
  ProfileId a = NewProfile();
  ProfileId b = NewProfile();
  PutOrDie(Family::kEvents, ProfileRecordKey(a, 1, 1), "a-event");
  PutOrDie(Family::kEvents, ProfileRecordKey(b, 1, 1), "b-event");
  Close();
  const auto events = testing::RawFamily(data_dir(), Family::kEvents);
  const std::string a_value = events.at(ProfileRecordKey(a, 1, 1));
  // Same profile, other key; other profile; other family.
  testing::RawPut(data_dir(), Family::kEvents, ProfileRecordKey(a, 2, 2), a_value);
  testing::RawPut(data_dir(), Family::kEvents, ProfileRecordKey(b, 1, 1), a_value);
  testing::RawPut(data_dir(), Family::kConsent, ProfileRecordKey(a, 1, 1), a_value);
  Open();
  EXPECT_EQ(GetValueOrDie(Family::kEvents, ProfileRecordKey(a, 1, 1)), "a-event");
  for (auto [family, key] : {std::pair{Family::kEvents, ProfileRecordKey(a, 2, 2)},
                             std::pair{Family::kEvents, ProfileRecordKey(b, 1, 1)},
                             std::pair{Family::kConsent, ProfileRecordKey(a, 1, 1)}}) {
    EXPECT_THAT(store_->Get(family, key), StatusIs(absl::StatusCode::kDataLoss));
  }
}

TEST_F(StoreCryptoTest, MissingKeyFileForAnExistingDatabaseIsRefused) {
  Close();
  std::filesystem::remove(data_dir() + "/keys");
  EXPECT_THAT(Store::Open(Options()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("restore the key file")));
  EXPECT_FALSE(std::filesystem::exists(data_dir() + "/keys"));
}

TEST_F(StoreCryptoTest, AnotherStoresKeyFileIsRefused) {
  Close();
  const std::string other = dir_.Sub("other-keys");
  ASSERT_TRUE(KeyFile::Create(other).ok());
  std::filesystem::copy_file(other, data_dir() + "/keys",
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_THAT(Store::Open(Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("index key differs")));
}

TEST_F(StoreCryptoTest, KeyFileWithAReplacedKekIsRefused) {
  Close();
  CDP_ASSERT_OK_AND_ASSIGN(KeyMaterial keys, KeyFile::Load(data_dir() + "/keys"));
  keys.keks[1] = crypto::RandomKey();
  ASSERT_THAT(KeyFile::Save(data_dir() + "/keys", keys), IsOk());
  EXPECT_THAT(Store::Open(Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("version 1 differs")));
}

TEST_F(StoreCryptoTest, RotationRewrapsDataKeysAndKeepsEveryRecordReadable) {
  std::vector<ProfileId> profiles;
  for (int i = 0; i < 50; ++i) {
    profiles.push_back(NewProfile());
    PutOrDie(Family::kProfiles, ProfileKey(profiles.back()), absl::StrCat("p", i));
  }
  CDP_ASSERT_OK_AND_ASSIGN(RotationReport report, store_->RotateKeys());
  EXPECT_EQ(report.new_version, 2u);
  EXPECT_EQ(report.rewrapped, 50u);
  CDP_ASSERT_OK_AND_ASSIGN(auto counts, store_->key_vault().CountByKekVersion());
  EXPECT_EQ(counts, (std::vector<std::pair<uint32_t, uint64_t>>{{2, 50}}));
  Close();
  CDP_ASSERT_OK_AND_ASSIGN(KeyMaterial keys, KeyFile::Load(data_dir() + "/keys"));
  EXPECT_EQ(keys.active_kek_version(), 2u);
  Open();  // cold data-key cache: every key is unwrapped under version 2
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(profiles[i])), absl::StrCat("p", i));
  }
  ProfileId fresh = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(fresh), "after-rotation");
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(fresh)), "after-rotation");
}

TEST_F(StoreCryptoTest, ShreddedProfileIsUnreadableOthersAreNot) {
  ProfileId gone = NewProfile();
  ProfileId kept = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(gone), "gone");
  PutOrDie(Family::kEvents, ProfileRecordKey(gone, 1, 1), "gone-event");
  PutOrDie(Family::kProfiles, ProfileKey(kept), "kept");
  ASSERT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(gone)), "gone");  // key now cached

  WriteBatch batch = store_->NewBatch();
  batch.DestroyDataKey(gone);
  ASSERT_THAT(store_->Write(batch), IsOk());

  absl::StatusOr<std::optional<Record>> read = store_->Get(Family::kProfiles, ProfileKey(gone));
  EXPECT_THAT(read, StatusIs(absl::StatusCode::kNotFound, HasSubstr("destroyed")));
  EXPECT_TRUE(IsShredded(read.status()));
  absl::Status scan = store_->Scan(Family::kEvents, ProfileKey(gone), {},
                                   [](absl::string_view, Record) { return true; });
  EXPECT_TRUE(IsShredded(scan)) << scan;
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(kept)), "kept");

  Close();
  Open();
  EXPECT_TRUE(IsShredded(store_->Get(Family::kProfiles, ProfileKey(gone)).status()));
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(kept)), "kept");
}

TEST_F(StoreCryptoTest, CheckpointTakenBeforeShreddingNoLongerDecryptsThatProfile) {
  ProfileId gone = NewProfile();
  ProfileId kept = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(gone), "gone");
  PutOrDie(Family::kProfiles, ProfileKey(kept), "kept");
  const std::string backup = dir_.Sub("backup");
  ASSERT_THAT(store_->Checkpoint(backup), IsOk());
  WriteBatch batch = store_->NewBatch();
  batch.DestroyDataKey(gone);
  ASSERT_THAT(store_->Write(batch), IsOk());
  ASSERT_THAT(store_->CompactAll(), IsOk());
  Close();

  const std::string restored = dir_.Sub("restored");
  std::filesystem::create_directories(restored);
  std::filesystem::rename(backup, restored + "/db");
  std::filesystem::copy(data_dir() + "/keyvault", restored + "/keyvault");
  std::filesystem::copy_file(data_dir() + "/keys", restored + "/keys");
  StoreOptions options = Options();
  options.data_dir = restored;
  Open(options);
  EXPECT_TRUE(IsShredded(store_->Get(Family::kProfiles, ProfileKey(gone)).status()));
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(kept)), "kept");
  // The sealed record is still in the backup's files, but nothing can open it any more.
  EXPECT_EQ(testing::RawFamily(restored, Family::kProfiles).count(ProfileKey(gone)), 1u);
}

}  // namespace
}  // namespace cdp::storage
