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
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE(node.Records({Device(i), Email(i)})) << i;
    EXPECT_FALSE(node.Records({Email(i)})) << i;
    EXPECT_FALSE(node.Records({Email(i), Device(i), Email(n)})) << i;  // one not held
  }
  if (n > 1) {
    EXPECT_FALSE(node.Records({Email(0), Device(1)}));
  }

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

TEST(IndexEntryTest, EncodesObservationHashesAndReadsEntriesWrittenWithout) {
  IndexEntry entry{.profile = ProfileId::Random(), .no_bridge = true, .observations = {1, ~0ull}};
  auto decoded = DecodeIndexEntry(EncodeIndexEntry(entry));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->profile, entry.profile);
  EXPECT_TRUE(decoded->no_bridge);
  EXPECT_THAT(decoded->observations, ::testing::ElementsAre(1u, ~0ull));

  // The 17-byte form of entries written before the hashes: none listed.
  const std::string old_form = EncodeIndexEntry({.profile = entry.profile, .no_bridge = false});
  EXPECT_EQ(old_form.size(), ProfileId::kSize + 1);
  decoded = DecodeIndexEntry(old_form);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_FALSE(decoded->no_bridge);
  EXPECT_TRUE(decoded->observations.empty());

  // At most kMaxAnchoredObservations are written; partial or longer values are data loss.
  entry.observations.assign(kMaxAnchoredObservations + 3, 5);
  const std::string full = EncodeIndexEntry(entry);
  EXPECT_EQ(full.size(), ProfileId::kSize + 1 + 8 * kMaxAnchoredObservations);
  EXPECT_FALSE(DecodeIndexEntry(full.substr(0, full.size() - 1)).ok());
  EXPECT_FALSE(DecodeIndexEntry(full + std::string(8, '\0')).ok());
  EXPECT_FALSE(DecodeIndexEntry(full.substr(0, ProfileId::kSize)).ok());
}

TEST(IndexEntryTest, ObservationHashIgnoresOrderAndTellsSetsApart) {
  crypto::Digest a{}, b{}, c{};
  a[0] = 1;
  b[7] = 2;
  c[3] = 3;
  EXPECT_EQ(ObservationHash({&a, &b}), ObservationHash({&b, &a}));
  EXPECT_NE(ObservationHash({&a, &b}), ObservationHash({&a, &c}));
  EXPECT_NE(ObservationHash({&a, &b}), ObservationHash({&a, &b, &c}));
}

}  // namespace
}  // namespace cdp::identity::internal
