#include "storage/key_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "tests/support/status_matchers.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::StatusIs;

TEST(KeyCodecTest, ProfileRecordKeysSortByProfileThenTimeThenSeq) {
  ProfileId a = ProfileId::FromHex("00000000000000000000000000000001").value();
  ProfileId b = ProfileId::FromHex("00000000000000000000000000000002").value();
  std::vector<std::string> expected = {
      ProfileRecordKey(a, -5, 0),         ProfileRecordKey(a, 0, 0),
      ProfileRecordKey(a, 0, 1),          ProfileRecordKey(a, 0, 256),
      ProfileRecordKey(a, 1'000'000, 0),  ProfileRecordKey(a, INT64_MAX, UINT64_MAX),
      ProfileRecordKey(b, INT64_MIN, 0),  ProfileRecordKey(b, 1, 0)};
  std::vector<std::string> shuffled = expected;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(42));
  std::sort(shuffled.begin(), shuffled.end());
  EXPECT_EQ(shuffled, expected);
}

TEST(KeyCodecTest, ProfileRecordKeyRoundTrips) {
  ProfileId id = ProfileId::Random();
  std::string key = ProfileRecordKey(id, 1'700'000'000'123'456, 77);
  ASSERT_EQ(key.size(), kProfileRecordKeySize);
  CDP_ASSERT_OK_AND_ASSIGN(ProfileRecordKeyParts parts, ParseProfileRecordKey(key));
  EXPECT_EQ(parts.profile, id);
  EXPECT_EQ(parts.time_micros, 1'700'000'000'123'456);
  EXPECT_EQ(parts.seq, 77u);
  CDP_ASSERT_OK_AND_ASSIGN(ProfileId prefix, ParseProfilePrefix(key));
  EXPECT_EQ(prefix, id);
}

TEST(KeyCodecTest, RejectsMalformedKeys) {
  EXPECT_THAT(ParseProfileRecordKey("short"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseProfilePrefix("short"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSequenceKey("1234567"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KeyCodecTest, SequenceKeysSortNumerically) {
  EXPECT_LT(SequenceKey(9), SequenceKey(10));
  EXPECT_LT(SequenceKey(255), SequenceKey(256));
  EXPECT_EQ(ParseSequenceKey(SequenceKey(123456789)).value(), 123456789u);
}

TEST(KeyCodecTest, PrefixSuccessorBoundsThePrefixRange) {
  EXPECT_EQ(PrefixSuccessor("abc"), "abd");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixSuccessor(std::string("\xff\xff", 2)), "");
  std::string prefix = ProfileKey(ProfileId::Random());
  std::string upper = PrefixSuccessor(prefix);
  EXPECT_LT(ProfileRecordKey(ProfileId::FromBytes(prefix).value(), INT64_MAX, UINT64_MAX), upper);
}

}  // namespace
}  // namespace cdp::storage
