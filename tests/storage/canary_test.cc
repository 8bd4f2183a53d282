// Canary: after a profile, its events and its identifiers holding distinctive values are written,
// no byte sequence of those values may appear in any file under the data directory: SST, WAL,
// MANIFEST, key vault or key file. The positive control proves the scan would find them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/storage/store_fixture.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::IsOk;
using ::testing::IsEmpty;

constexpr char kEmail[] = "zebra.canary.4471@example.org";
constexpr char kPhone[] = "+15550104471";
constexpr char kTrait[] = "Xylophone-Quasar-8812";

class CanaryTest : public testing::StoreTestBase {
 protected:
  void WritePerson() {
    ProfileId person = NewProfile();
    WriteBatch batch = store_->NewBatch();
    const std::string profile = absl::StrCat("{\"email\":\"", kEmail, "\",\"phone\":\"", kPhone,
                                             "\",\"favourite\":\"", kTrait, "\"}");
    ASSERT_THAT(batch.Put(Family::kProfiles, ProfileKey(person), {}, profile), IsOk());
    for (int i = 0; i < 100; ++i) {
      ASSERT_THAT(batch.Put(Family::kEvents, ProfileRecordKey(person, i, 0), {},
                            absl::StrCat("{\"event\":\"Order\",\"email\":\"", kEmail, "\",\"n\":",
                                         i, ",\"note\":\"", kTrait, "\"}")),
                  IsOk());
    }
    for (const char* id : {kEmail, kPhone}) {
      ASSERT_THAT(batch.Put(Family::kIdentifiers,
                            DigestKey(store_->blind_index().Hash("email", id)), {},
                            std::string(person.bytes())),
                  IsOk());
    }
    ASSERT_THAT(store_->Write(batch), IsOk());
  }

  void ExpectNoPlaintext() {
    for (const char* needle : {kEmail, kPhone, kTrait}) {
      EXPECT_THAT(testing::FilesContaining(Options().data_dir, needle), IsEmpty()) << needle;
    }
  }
};

TEST_F(CanaryTest, NoPlaintextInWalWhileOpen) {
  Open();
  WritePerson();
  ExpectNoPlaintext();
}

TEST_F(CanaryTest, NoPlaintextInSstOrManifestAfterCompactionAndClose) {
  Open();
  WritePerson();
  ASSERT_THAT(store_->CompactAll(), IsOk());
  Close();
  ExpectNoPlaintext();
}

TEST_F(CanaryTest, PositiveControlFindsPlaintextInAPlainFamily) {
  Open();
  PutOrDie(Family::kAudit, SequenceKey(1), kTrait);
  EXPECT_THAT(testing::FilesContaining(Options().data_dir, kTrait), ::testing::Not(IsEmpty()));
}

}  // namespace
}  // namespace cdp::storage
