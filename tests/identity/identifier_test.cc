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

TEST(IdentifierTest, MaskedValuesKeepOnlyWhatHelpsRecognizeThem) {
  EXPECT_EQ(MaskIdentifierValue("email", "ann.lee@example.com"), "a***@example.com");
  EXPECT_EQ(MaskIdentifierValue("email", "@example.com"), "@e***");  // nothing before the @
  EXPECT_EQ(MaskIdentifierValue("phone", "+16505550100"), "***00");
  EXPECT_EQ(MaskIdentifierValue("phone", "+165"), "***");
  EXPECT_EQ(MaskIdentifierValue("user_id", "user-12345"), "us***");
  EXPECT_EQ(MaskIdentifierValue("crm_id", "12345678"), "***");  // 8 characters or fewer
}

TEST(IdentifierTest, MaskingNeverSplitsAUtf8Character) {
  // "é" and "ø" are two bytes each, "日本" three each.
  EXPECT_EQ(MaskIdentifierValue("email", "\xC3\xA9lise@example.fr"), "\xC3\xA9***@example.fr");
  EXPECT_EQ(MaskIdentifierValue("phone", "tel 12 \xC3\xB8\xC3\xB8"), "***\xC3\xB8\xC3\xB8");
  EXPECT_EQ(MaskIdentifierValue("user_id", "\xE6\x97\xA5\xE6\x9C\xAC-user"),
            "\xE6\x97\xA5\xE6\x9C\xAC***");
}

}  // namespace
}  // namespace cdp::identity
