// internal::Node: identifiers and observations searched linearly while small and through hash
// indexes once grown, with the same answers either way, also after moves and a decode.

#include "identity/profile_node.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cdp::identity::internal {
namespace {

Identifier Email(int i) { return {"email", absl::StrCat("person", i, "@example.com")}; }
Identifier Device(int i) { return {"device_id", absl::StrCat("device-", i)}; }

class ProfileNodeTest : public ::testing::TestWithParam<int> {};

TEST_P(ProfileNodeTest, FindsCountsAndDeduplicatesAtAnySize) {
  const int n = GetParam();
  Node node = Node::New(ProfileId::Random(), 1);
  for (int i = 0; i < n; ++i) {
    node.AddIdentifier(Email(i), i);
    node.AddIdentifier(Device(i), i);
    node.AddIdentifier(Email(i), i);  // already held
  }
  EXPECT_EQ(node.identifier_count(), static_cast<size_t>(2 * n));
  EXPECT_EQ(node.CountOfType("email"), static_cast<uint32_t>(n));
  EXPECT_EQ(node.CountOfType("phone"), 0u);
  for (int i = 0; i < n; ++i) {
    const std::vector<Identifier> pair = {Email(i), Device(i)};
    EXPECT_TRUE(node.AddObservation(pair)) << i;
    EXPECT_FALSE(node.AddObservation({Device(i), Email(i)})) << i;  // same set, other order
    EXPECT_FALSE(node.AddObservation({Email(i)})) << i;             // alone: links nothing
  }
  EXPECT_EQ(node.proto().observations_size(), n);

  // Moved, then decoded from its encoding: the same answers.
  Node moved = std::move(node);
  auto decoded = Node::Decode(moved.id(), moved.Encode());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  for (const Node* current : {&moved, &*decoded}) {
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(current->Has(Email(i))) << i;
      EXPECT_TRUE(current->Has(Device(i))) << i;
    }
    EXPECT_FALSE(current->Has(Email(n)));
    EXPECT_FALSE(current->Has({"phone", Email(0).value}));  // same value, other type
  }
  EXPECT_FALSE(decoded->AddObservation({Email(0), Device(0)}));
  EXPECT_TRUE(decoded->AddObservation({Email(0), Device(n > 1 ? 1 : 0)}) == (n > 1));
  decoded->AddIdentifier(Email(n), 7);
  EXPECT_TRUE(decoded->Has(Email(n)));
  EXPECT_EQ(decoded->identifier_count(), static_cast<size_t>(2 * n + 1));
}

// 3 stays linear; 40 passes the linear limit for both identifiers and observations.
INSTANTIATE_TEST_SUITE_P(Sizes, ProfileNodeTest, ::testing::Values(1, 3, 40));

}  // namespace
}  // namespace cdp::identity::internal
