#include "identity/identity_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/support/status_matchers.h"

namespace cdp::identity {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(IdentityOptionsTest, DefaultsAreValid) {
  IdentityOptions options;
  EXPECT_THAT(options.Validate(), IsOk());
  EXPECT_EQ(options.default_phone_region, "US");
  EXPECT_TRUE(options.require_valid_phone);
  EXPECT_EQ(options.max_identifiers_per_profile, 1000u);
  EXPECT_EQ(options.max_merges_per_profile, 100u);
  EXPECT_EQ(options.default_blocked_patterns, DefaultBlockedPatterns());
}

TEST(IdentityOptionsTest, PerTypeLimitsDefaultToOneUserIdAndFiveOfTheRest) {
  IdentityOptions options;
  options.custom_types = {"crm_id"};
  EXPECT_EQ(options.MaxValuesFor("user_id"), 1u);
  for (const char* type : {"email", "phone", "device_id", "anonymous_id", "crm_id"}) {
    EXPECT_EQ(options.MaxValuesFor(type), 5u) << type;
  }
  options.max_values_per_type["crm_id"] = 0;  // unlimited
  EXPECT_THAT(options.Validate(), IsOk());
  EXPECT_EQ(options.MaxValuesFor("crm_id"), 0u);
}

TEST(IdentityOptionsTest, DefaultPriorityPutsCustomTypesBetweenPhoneAndDevice) {
  IdentityOptions options;
  options.custom_types = {"loyalty_id", "crm_id"};
  EXPECT_THAT(options.EffectivePriorityOrder(),
              ElementsAre("user_id", "email", "phone", "loyalty_id", "crm_id", "device_id",
                          "anonymous_id"));
  EXPECT_THAT(options.KnownTypes(), ElementsAre("user_id", "anonymous_id", "email", "phone",
                                                "device_id", "loyalty_id", "crm_id"));
}

TEST(IdentityOptionsTest, ExplicitPriorityOrderIsUsed) {
  IdentityOptions options;
  options.priority_order = {"email", "user_id", "phone", "anonymous_id", "device_id"};
  EXPECT_THAT(options.Validate(), IsOk());
  EXPECT_EQ(options.EffectivePriorityOrder(), options.priority_order);
}

TEST(IdentityOptionsTest, BlockedPatternsForTypeReplaceDefaults) {
  IdentityOptions options;
  options.blocked_patterns_by_type["email"] = {"test@.*"};
  EXPECT_THAT(options.Validate(), IsOk());
  EXPECT_THAT(options.BlockedPatternsFor("email"), ElementsAre("test@.*"));
  EXPECT_EQ(options.BlockedPatternsFor("phone"), DefaultBlockedPatterns());
}

TEST(IdentityOptionsTest, IsKnownType) {
  IdentityOptions options;
  options.custom_types = {"crm_id"};
  EXPECT_TRUE(options.IsKnownType("email"));
  EXPECT_TRUE(options.IsKnownType("crm_id"));
  EXPECT_FALSE(options.IsKnownType("loyalty_id"));
}

// Each case breaks one field of valid options; Validate must name that field.
TEST(IdentityOptionsTest, InvalidOptionsAreRejectedWithTheFieldNamed) {
  struct Case {
    std::function<void(IdentityOptions&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](IdentityOptions& o) { o.default_phone_region = "XX"; }, "default_phone_region"},
      {[](IdentityOptions& o) { o.default_phone_region = "us"; }, "default_phone_region"},
      {[](IdentityOptions& o) { o.default_phone_region = ""; }, "default_phone_region"},
      {[](IdentityOptions& o) { o.custom_types = {"CRM"}; }, "custom_types[0]"},
      {[](IdentityOptions& o) {
         o.custom_types = {"crm_id", ""};
       },
       "custom_types[1]"},
      {[](IdentityOptions& o) { o.custom_types = {std::string(33, 'a')}; }, "custom_types[0]"},
      {[](IdentityOptions& o) { o.custom_types = {"email"}; }, "custom_types[0]"},
      {[](IdentityOptions& o) {
         o.custom_types = {"crm_id", "crm_id"};
       },
       "custom_types[1]"},
      {[](IdentityOptions& o) { o.custom_types.assign(kMaxCustomTypes + 1, "x"); }, "custom_types"},
      {[](IdentityOptions& o) { o.max_values_per_type["crm_id"] = 3; },
       "max_values_per_type[crm_id]"},
      {[](IdentityOptions& o) { o.priority_order = {"user_id"}; }, "priority_order"},
      {[](IdentityOptions& o) {
         o.priority_order = {"user_id", "email", "phone", "device_id", "anonymous_id", "crm_id"};
       },
       "priority_order[5]"},
      {[](IdentityOptions& o) {
         o.priority_order = {"user_id", "email", "email", "phone", "device_id", "anonymous_id"};
       },
       "priority_order[2]"},
      {[](IdentityOptions& o) { o.max_identifiers_per_profile = 0; },
       "max_identifiers_per_profile"},
      {[](IdentityOptions& o) { o.max_merges_per_profile = 0; }, "max_merges_per_profile"},
      {[](IdentityOptions& o) { o.default_blocked_patterns.push_back("[a"); },
       "default_blocked_patterns[11]"},
      {[](IdentityOptions& o) {
         o.default_blocked_patterns = {"ok", "(unclosed"};
       },
       "default_blocked_patterns[1]"},
      {[](IdentityOptions& o) {
         o.default_blocked_patterns = {std::string(kMaxBlockedPatternBytes + 1, 'a')};
       },
       "default_blocked_patterns[0]"},
      {[](IdentityOptions& o) {
         o.default_blocked_patterns.assign(kMaxBlockedPatternsPerType + 1, "a");
       },
       "default_blocked_patterns"},
      {[](IdentityOptions& o) {
         o.blocked_patterns_by_type["email"] = {"a", "b", "*"};
       },
       "blocked_patterns_by_type[email][2]"},
      {[](IdentityOptions& o) { o.blocked_patterns_by_type["crm_id"] = {"a"}; },
       "blocked_patterns_by_type[crm_id]"},
      // A pattern RE2 cannot fit in its memory budget is refused, not left to slow ingest.
      {[](IdentityOptions& o) { o.blocked_patterns_by_type["phone"] = {"((a{100}){100}){100}"}; },
       "blocked_patterns_by_type[phone][0]"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    IdentityOptions options;
    cases[i].mutate(options);
    EXPECT_THAT(options.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("IdentityOptions." + cases[i].field + ":")))
        << "case " << i;
  }
}

TEST(IdentityOptionsTest, CustomTypesMakeTheirSettingsValid) {
  IdentityOptions options;
  options.custom_types = {"crm_id", "loyalty_id"};
  options.max_values_per_type["crm_id"] = 1;
  options.blocked_patterns_by_type["loyalty_id"] = {"^x+$"};
  options.priority_order = {"crm_id",     "user_id",   "email",       "phone",
                            "loyalty_id", "device_id", "anonymous_id"};
  options.default_phone_region = "ZZ";
  EXPECT_THAT(options.Validate(), IsOk());
}

}  // namespace
}  // namespace cdp::identity
