// Corrupt databases and full disks give distinct, clear errors, never crashes or wrong data.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/storage/fault_fs.h"
#include "tests/storage/store_fixture.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;

class StoreFaultsTest : public testing::StoreTestBase {};

void FlipBytesInMiddle(const std::string& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  for (std::streamoff pos = size / 8; pos < size / 2; pos += 97) {
    f.seekg(pos);
    char c;
    f.read(&c, 1);
    c ^= 0x5a;
    f.seekp(pos);
    f.write(&c, 1);
  }
}

TEST_F(StoreFaultsTest, CorruptTableFileIsReportedAsDataLoss) {
  Open();
  ProfileId a = NewProfile();
  for (int i = 0; i < 200; ++i) {
    PutOrDie(Family::kEvents, ProfileRecordKey(a, i, 0), std::string(200, 'e'));
  }
  ASSERT_THAT(store_->CompactAll(), IsOk());
  Close();
  int corrupted = 0;
  for (const auto& entry : std::filesystem::directory_iterator(Options().data_dir + "/db")) {
    if (entry.path().extension() == ".sst") {
      FlipBytesInMiddle(entry.path());
      ++corrupted;
    }
  }
  ASSERT_GT(corrupted, 0);
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(Options());
  if (!store.ok()) {
    EXPECT_THAT(store, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corruption")));
    return;
  }
  absl::Status scan = (*store)->Scan(Family::kEvents, ProfileKey(a), {},
                                     [](absl::string_view, Record) { return true; });
  EXPECT_THAT(scan, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corruption")));
}

TEST_F(StoreFaultsTest, CorruptManifestRefusesToOpen) {
  Open();
  NewProfile();
  Close();
  for (const auto& entry : std::filesystem::directory_iterator(Options().data_dir + "/db")) {
    if (entry.path().filename().string().starts_with("MANIFEST")) {
      std::ofstream(entry.path(), std::ios::trunc) << "not a manifest at all, just garbage bytes";
    }
  }
  EXPECT_THAT(Store::Open(Options()), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(StoreFaultsTest, FullDiskFailsTheWriteClearlyAndReadsStillWork) {
  const StoreOptions options = FaultyOptions();
  Open(options);
  ProfileId a = NewProfile();
  PutOrDie(Family::kProfiles, ProfileKey(a), "before");

  fault_fs_->SetDiskFull(true);
  WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(batch.Put(Family::kProfiles, ProfileKey(a), {}, "during"), IsOk());
  EXPECT_THAT(store_->Write(batch), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(a)), "before");
  fault_fs_->SetDiskFull(false);
  Close();
  Open(options);
  EXPECT_EQ(GetValueOrDie(Family::kProfiles, ProfileKey(a)), "before");
}

}  // namespace
}  // namespace cdp::storage
