#include "storage/key_file.h"

#include <sys/stat.h>

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

class KeyFileTest : public ::testing::Test {
 protected:
  void WriteFile(const std::string& text, mode_t mode = 0600) {
    std::ofstream(path_) << text;
    chmod(path_.c_str(), mode);
  }
  cdp::testing::TempDir dir_;
  std::string path_ = dir_.Sub("keys");
};

TEST_F(KeyFileTest, CreateThenLoadRoundTripsWithOwnerOnlyMode) {
  CDP_ASSERT_OK_AND_ASSIGN(KeyMaterial created, KeyFile::Create(path_));
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  CDP_ASSERT_OK_AND_ASSIGN(KeyMaterial loaded, KeyFile::Load(path_));
  EXPECT_EQ(loaded.index_key.view(), created.index_key.view());
  ASSERT_EQ(loaded.keks.size(), 1u);
  EXPECT_EQ(loaded.active_kek_version(), 1u);
  EXPECT_EQ(loaded.keks.at(1).view(), created.keks.at(1).view());
  EXPECT_NE(created.index_key.view(), created.keks.at(1).view());
}

TEST_F(KeyFileTest, CreateRefusesToOverwrite) {
  ASSERT_TRUE(KeyFile::Create(path_).ok());
  EXPECT_THAT(KeyFile::Create(path_), StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(KeyFileTest, MissingFileIsNotFound) {
  EXPECT_THAT(KeyFile::Load(path_), StatusIs(absl::StatusCode::kNotFound, HasSubstr(path_)));
}

TEST_F(KeyFileTest, GroupReadableFileIsRefused) {
  ASSERT_TRUE(KeyFile::Create(path_).ok());
  chmod(path_.c_str(), 0644);
  EXPECT_THAT(KeyFile::Load(path_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("chmod 600")));
}

TEST_F(KeyFileTest, MalformedFilesNameTheLineAndNeverQuoteKeys) {
  const std::string good_hex(64, 'a');
  struct Case {
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"", "must hold"},
      {"wrong-header 1\n", "line 1"},
      {"cdp-keys 1\nindex abc\n", "line 2: a key must be 64 hex digits"},
      {"cdp-keys 1\nindex " + good_hex + "\nkek 0 " + good_hex + "\n", "line 3"},
      {"cdp-keys 1\nindex " + good_hex + "\nkek 1 " + good_hex + "\nkek 1 " + good_hex + "\n",
       "duplicate kek version"},
      {"cdp-keys 1\nindex " + good_hex + "\n", "must hold"},
      {"cdp-keys 1\nsomething else\n", "line 2"},
  };
  for (const Case& c : cases) {
    WriteFile(c.text);
    absl::StatusOr<KeyMaterial> loaded = KeyFile::Load(path_);
    EXPECT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.expected)))
        << c.text;
    EXPECT_THAT(std::string(loaded.status().message()), Not(HasSubstr(good_hex)));
  }
}

TEST_F(KeyFileTest, SaveReplacesAtomicallyAndKeepsAllVersions) {
  CDP_ASSERT_OK_AND_ASSIGN(KeyMaterial material, KeyFile::Create(path_));
  material.keks.emplace(2, SecureBytes(std::string(32, 'x')));
  ASSERT_TRUE(KeyFile::Save(path_, material).ok());
  CDP_ASSERT_OK_AND_ASSIGN(KeyMaterial loaded, KeyFile::Load(path_));
  EXPECT_EQ(loaded.active_kek_version(), 2u);
  EXPECT_EQ(loaded.keks.size(), 2u);
  struct stat st;
  ASSERT_EQ(stat((path_ + ".tmp").c_str(), &st), -1);
}

TEST_F(KeyFileTest, FingerprintsDifferPerKeyAndHideTheKey) {
  SecureBytes a(std::string(32, 'a')), b(std::string(32, 'b'));
  EXPECT_NE(KeyFingerprint(a), KeyFingerprint(b));
  EXPECT_EQ(KeyFingerprint(a), KeyFingerprint(a));
  EXPECT_EQ(KeyFingerprint(a).find("6161"), std::string::npos);
}

}  // namespace
}  // namespace cdp::storage
