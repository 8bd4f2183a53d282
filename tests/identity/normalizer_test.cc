// The normalization rules under default options, one table row per rule.

#include "identity/normalizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/support/status_matchers.h"

namespace cdp::identity {
namespace {

using Outcome = NormalizeOutcome;

struct Case {
  std::string type;
  std::string raw;
  Outcome outcome;
  std::string value;  // expected normalized value when outcome is kOk
};

class NormalizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    IdentityOptions options;
    options.custom_types = {"crm_id"};
    CDP_ASSERT_OK_AND_ASSIGN(normalizer_, Normalizer::Create(options));
  }

  void Check(const Case& c) {
    SCOPED_TRACE(::testing::Message() << "type " << c.type << ", raw \"" << c.raw << "\"");
    NormalizeResult result = normalizer_->Normalize(c.type, c.raw);
    EXPECT_EQ(std::string(NormalizeOutcomeName(result.outcome)),
              std::string(NormalizeOutcomeName(c.outcome)));
    if (c.outcome == Outcome::kOk) {
      EXPECT_TRUE(result.ok());
      EXPECT_EQ(result.identifier.type, c.type);
      EXPECT_EQ(result.identifier.value, c.value);
      EXPECT_TRUE(result.reason.empty());
    } else {
      EXPECT_FALSE(result.ok());
      EXPECT_TRUE(result.identifier.value.empty());
      EXPECT_FALSE(result.reason.empty());
    }
    EXPECT_EQ(result.blocked_pattern_index >= 0, c.outcome == Outcome::kBlocked);
  }

  std::unique_ptr<Normalizer> normalizer_;
};

TEST_F(NormalizerTest, Email) {
  const Case cases[] = {
      {"email", " Ann@Example.COM ", Outcome::kOk, "ann@example.com"},
      {"email", "\tBOB@Example.co.UK\r\n", Outcome::kOk, "bob@example.co.uk"},
      {"email",
       "\xC2\xA0"
       "ann@example.com"
       "\xE2\x80\x8B",
       Outcome::kOk, "ann@example.com"},
      {"email", "first.last+tag@sub.example.org", Outcome::kOk, "first.last+tag@sub.example.org"},
      {"email", "null@example.com", Outcome::kOk, "null@example.com"},
      {"email", "not-an-email", Outcome::kInvalid, ""},
      {"email", "ann@@example.com", Outcome::kInvalid, ""},
      {"email", "ann@b@example.com", Outcome::kInvalid, ""},
      {"email", "@example.com", Outcome::kInvalid, ""},
      {"email", "ann@", Outcome::kInvalid, ""},
      {"email", "ann@localhost", Outcome::kInvalid, ""},
      {"email", "ann@.example.com", Outcome::kInvalid, ""},
      {"email", "ann@example.com.", Outcome::kInvalid, ""},
      {"email", "ann@example..com", Outcome::kInvalid, ""},
      {"email", "ann smith@example.com", Outcome::kInvalid, ""},
      {"email", "ann\xC2\xA0smith@example.com", Outcome::kInvalid, ""},
      {"email", std::string(65, 'a') + "@example.com", Outcome::kInvalid, ""},
      {"email", std::string(64, 'a') + "@example.com", Outcome::kOk,
       std::string(64, 'a') + "@example.com"},
      {"email", "a@" + std::string(249, 'b') + ".com", Outcome::kTooLong, ""},
      {"email", "a@" + std::string(248, 'b') + ".com", Outcome::kOk,
       "a@" + std::string(248, 'b') + ".com"},
  };
  for (const Case& c : cases) Check(c);
}

TEST_F(NormalizerTest, Phone) {
  const Case cases[] = {
      {"phone", "+1 (415) 555-0100", Outcome::kOk, "+14155550100"},
      {"phone", "4155550100", Outcome::kOk, "+14155550100"},
      {"phone", " (415) 555-0100 ", Outcome::kOk, "+14155550100"},
      {"phone", "415.555.0100", Outcome::kOk, "+14155550100"},
      {"phone", "+33 6 12 34 56 78", Outcome::kOk, "+33612345678"},
      {"phone", "0033 6 12 34 56 78", Outcome::kInvalid, ""},  // 00 is not the US exit code
      {"phone", "011 33 6 12 34 56 78", Outcome::kOk, "+33612345678"},
      {"phone", "0612345678", Outcome::kInvalid, ""},       // a French number without its country
      {"phone", "+1 111 111 1111", Outcome::kInvalid, ""},  // possible but not valid
      {"phone", "12", Outcome::kInvalid, ""},
      {"phone", "garbage", Outcome::kInvalid, ""},
      {"phone", "ann@example.com", Outcome::kInvalid, ""},
  };
  for (const Case& c : cases) Check(c);
}

TEST_F(NormalizerTest, OtherTypesAreOnlyTrimmed) {
  const Case cases[] = {
      {"user_id", "  u-123  ", Outcome::kOk, "u-123"},
      {"user_id", "Ann", Outcome::kOk, "Ann"},
      {"user_id", "ann smith", Outcome::kOk, "ann smith"},
      {"user_id", "0612345678", Outcome::kOk, "0612345678"},
      {"user_id", "10", Outcome::kOk, "10"},
      {"user_id", "-12", Outcome::kOk, "-12"},
      {"user_id", "nullable", Outcome::kOk, "nullable"},
      {"user_id", "guest123", Outcome::kOk, "guest123"},
      {"user_id", "caf\xC3\xA9", Outcome::kOk, "caf\xC3\xA9"},
      {"anonymous_id", "\t6f1c-44\n", Outcome::kOk, "6f1c-44"},
      {"device_id", " ABCD-EF ", Outcome::kOk, "ABCD-EF"},
      {"crm_id", " C-1 ", Outcome::kOk, "C-1"},
      {"user_id", std::string(256, 'a'), Outcome::kOk, std::string(256, 'a')},
      {"user_id", "  " + std::string(256, 'a') + "  ", Outcome::kOk, std::string(256, 'a')},
      {"user_id", std::string(257, 'a'), Outcome::kTooLong, ""},
      {"crm_id", std::string(100000, 'a'), Outcome::kTooLong, ""},
      {"user_id", "\xFF", Outcome::kInvalid, ""},
      {"user_id", "a\xC0\x80", Outcome::kInvalid, ""},
      {"user_id", std::string("a\0b", 3), Outcome::kInvalid, ""},
      {"user_id", "a\nb", Outcome::kInvalid, ""},
  };
  for (const Case& c : cases) Check(c);
}

TEST_F(NormalizerTest, PlaceholdersAreBlockedForEveryType) {
  const std::string placeholders[] = {
      "null",
      "NULL",
      "Null",
      "0",
      "000",
      "-",
      "0-0",
      "",
      "  ",
      "\t\n",
      "\xC2\xA0",
      "-1",
      "undefined",
      "none",
      "None",
      "nan",
      "NaN",
      "anonymous",
      "guest",
      "Guest",
      "unknown",
      "[object Object]",
      " [object Object] ",
      "UNDEFINED",
  };
  for (const char* type : {"user_id", "anonymous_id", "email", "phone", "device_id", "crm_id"}) {
    for (const std::string& raw : placeholders) Check({type, raw, Outcome::kBlocked, ""});
  }
}

TEST_F(NormalizerTest, BlockedResultNamesTheMatchingDefaultPattern) {
  EXPECT_EQ(normalizer_->Normalize("user_id", "0").blocked_pattern_index, 0);
  EXPECT_EQ(normalizer_->Normalize("user_id", "-1").blocked_pattern_index, 1);
  EXPECT_EQ(normalizer_->Normalize("user_id", "NULL").blocked_pattern_index, 2);
  EXPECT_EQ(normalizer_->Normalize("email", "[object Object]").blocked_pattern_index, 9);
}

TEST_F(NormalizerTest, UnknownTypesAreReported) {
  Check({"loyalty_id", "L-1", Outcome::kUnknownType, ""});
  Check({"", "x", Outcome::kUnknownType, ""});
  Check({"Email", "ann@example.com", Outcome::kUnknownType, ""});
  EXPECT_TRUE(normalizer_->IsKnownType("crm_id"));
  EXPECT_FALSE(normalizer_->IsKnownType("loyalty_id"));
}

// Reasons go into logs and metric labels, so they must never echo the value.
TEST_F(NormalizerTest, RejectionsNeverContainTheValue) {
  const std::pair<const char*, const char*> rejected[] = {
      {"email", "secret-person"},       {"email", "secret@@example.com"}, {"phone", "secret-phone"},
      {"phone", "+1 111 111 1111"},     {"user_id", "secret\x01value"},   {"user_id", "null"},
      {"loyalty_id", "secret-loyalty"},
  };
  for (const auto& [type, raw] : rejected) {
    NormalizeResult result = normalizer_->Normalize(type, raw);
    ASSERT_FALSE(result.ok()) << type;
    EXPECT_THAT(std::string(result.reason), ::testing::Not(::testing::HasSubstr(raw)));
    absl::StatusOr<Identifier> status = ToStatusOr(result);
    EXPECT_THAT(status, cdp::testing::StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(status.status().message()), ::testing::Not(::testing::HasSubstr(raw)));
    EXPECT_THAT(std::string(status.status().message()), ::testing::HasSubstr(result.reason));
  }
}

TEST_F(NormalizerTest, ToStatusOrReturnsTheIdentifierOnSuccess) {
  EXPECT_THAT(ToStatusOr(normalizer_->Normalize("email", " Ann@Example.COM ")),
              cdp::testing::IsOkAndHolds(Identifier{"email", "ann@example.com"}));
}

TEST(NormalizeOutcomeTest, NamesAreStableMetricLabels) {
  EXPECT_EQ(NormalizeOutcomeName(NormalizeOutcome::kOk), "ok");
  EXPECT_EQ(NormalizeOutcomeName(NormalizeOutcome::kInvalid), "invalid");
  EXPECT_EQ(NormalizeOutcomeName(NormalizeOutcome::kBlocked), "blocked");
  EXPECT_EQ(NormalizeOutcomeName(NormalizeOutcome::kUnknownType), "unknown_type");
  EXPECT_EQ(NormalizeOutcomeName(NormalizeOutcome::kTooLong), "too_long");
}

}  // namespace
}  // namespace cdp::identity
