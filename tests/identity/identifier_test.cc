#include "identity/identifier.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/container/flat_hash_set.h"

namespace cdp::identity {
namespace {

TEST(IdentifierTest, BuiltinNamesRoundTrip) {
  ASSERT_EQ(BuiltinTypeNames().size(), 5u);
  for (BuiltinType type : {BuiltinType::kUserId, BuiltinType::kAnonymousId, BuiltinType::kEmail,
                           BuiltinType::kPhone, BuiltinType::kDeviceId}) {
    EXPECT_EQ(ParseBuiltinType(BuiltinTypeName(type)), type);
  }
  EXPECT_EQ(BuiltinTypeName(BuiltinType::kUserId), "user_id");
  EXPECT_EQ(BuiltinTypeName(BuiltinType::kAnonymousId), "anonymous_id");
  EXPECT_EQ(BuiltinTypeName(BuiltinType::kDeviceId), "device_id");
}

TEST(IdentifierTest, ParseBuiltinTypeRejectsOtherNames) {
  EXPECT_FALSE(ParseBuiltinType("crm_id").has_value());
  EXPECT_FALSE(ParseBuiltinType("Email").has_value());
  EXPECT_FALSE(ParseBuiltinType("").has_value());
}

TEST(IdentifierTest, TypeNameSyntax) {
  struct Case {
    std::string name;
    bool valid;
  };
  const Case cases[] = {
      {"crm_id", true},
      {"loyalty_id", true},
      {"a", true},
      {"x9_", true},
      {std::string(32, 'a'), true},
      {std::string(33, 'a'), false},
      {"", false},
      {"CRM", false},
      {"crm-id", false},
      {"crm id", false},
      {"crm.id", false},
      {"\xC3\xA9", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsValidTypeName(c.name), c.valid) << "name: " << c.name;
  }
}

TEST(IdentifierTest, EqualityAndHashCoverTypeAndValue) {
  Identifier a{"email", "ann@example.com"};
  Identifier b{"email", "ann@example.com"};
  Identifier c{"user_id", "ann@example.com"};
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  absl::flat_hash_set<Identifier> set = {a, b, c};
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace cdp::identity
