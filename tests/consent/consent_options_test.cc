#include "consent/consent_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace cdp::consent {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::IsOkAndHolds;
using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ConsentOptionsTest, DefaultsValidate) {
  ConsentOptions options;
  EXPECT_THAT(options.Validate(), IsOk());
  ASSERT_EQ(options.purposes.size(), 4u);
  EXPECT_EQ(options.purposes[3].name, "support");
  EXPECT_EQ(options.purposes[3].basis, LegalBasis::kContract);
}

TEST(ConsentOptionsTest, BadConfigurationNamesTheField) {
  struct Case {
    std::function<void(ConsentOptions&)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {[](ConsentOptions& o) { o.purposes.push_back({"analytics"}); }, "purposes[4].name"},
      {[](ConsentOptions& o) { o.purposes.push_back({"Bad Name"}); }, "purposes[4].name"},
      {[](ConsentOptions& o) { o.category_purposes["ads"] = {"nope"}; },
       "category_purposes[ads][0]"},
      {[](ConsentOptions& o) { o.event_name_purposes["Order"] = {"support", "x"}; },
       "event_name_purposes[Order][1]"},
      {[](ConsentOptions& o) { o.default_event_purposes = {"y"}; }, "default_event_purposes[0]"},
      {[](ConsentOptions& o) { o.retention.events_ttl_seconds = -5; }, "retention.events_ttl"},
      {[](ConsentOptions& o) { o.retention.event_type_ttl_seconds["page"] = 0; },
       "retention.event_type_ttl[page]"},
      {[](ConsentOptions& o) { o.purposes.clear(); }, "consent.purposes"},
  };
  for (const Case& c : cases) {
    ConsentOptions options;
    c.mutate(options);
    EXPECT_THAT(options.Validate(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)));
  }
}

TEST(ConsentOptionsTest, ParsesTtlsAndRejectsNonDurations) {
  EXPECT_THAT(ParseTtlSeconds("90d"), IsOkAndHolds(90 * 86400));
  EXPECT_THAT(ParseTtlSeconds("12h"), IsOkAndHolds(12 * 3600));
  EXPECT_THAT(ParseTtlSeconds("1h30m"), IsOkAndHolds(5400));
  EXPECT_THAT(ParseTtlSeconds("45s"), IsOkAndHolds(45));
  for (const char* bad : {"", "-3d", "0s", "yesterday", "10", "-1h"}) {
    EXPECT_THAT(ParseTtlSeconds(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(ConsentOptionsTest, ParsesLegalBasesAndDataKinds) {
  EXPECT_THAT(ParseLegalBasis("legitimate_interest"),
              IsOkAndHolds(LegalBasis::kLegitimateInterest));
  EXPECT_THAT(ParseLegalBasis("because"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(ParseDataKind("conversations"), DataKind::kConversations);
  EXPECT_EQ(ParseDataKind("secrets"), std::nullopt);
}

}  // namespace
}  // namespace cdp::consent
