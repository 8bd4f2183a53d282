#include "common/profile_id.h"

#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace cdp {
namespace {

using ::cdp::testing::StatusIs;

TEST(ProfileIdTest, HexRoundTrips) {
  ProfileId id = ProfileId::Random();
  EXPECT_FALSE(id.IsNil());
  CDP_ASSERT_OK_AND_ASSIGN(ProfileId parsed, ProfileId::FromHex(id.ToHex()));
  EXPECT_EQ(parsed, id);
  EXPECT_EQ(id.ToHex().size(), 32u);
}

TEST(ProfileIdTest, RejectsMalformedInput) {
  EXPECT_THAT(ProfileId::FromHex("abc"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ProfileId::FromHex(std::string(32, 'g')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ProfileId::FromBytes("short"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ProfileIdTest, DefaultIsNil) { EXPECT_TRUE(ProfileId().IsNil()); }

}  // namespace
}  // namespace cdp
