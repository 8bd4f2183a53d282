// How IdentityOptions change what Normalizer does, and its use from many threads.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "identity/normalizer.h"
#include "tests/support/status_matchers.h"

namespace cdp::identity {
namespace {

using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;

std::unique_ptr<Normalizer> MakeNormalizer(const IdentityOptions& options) {
  absl::StatusOr<std::unique_ptr<Normalizer>> normalizer = Normalizer::Create(options);
  EXPECT_TRUE(normalizer.ok()) << normalizer.status();
  return normalizer.ok() ? std::move(normalizer).value() : nullptr;
}

// "" means the value is rejected.
std::string Value(const Normalizer& normalizer, absl::string_view type, absl::string_view raw) {
  return normalizer.Normalize(type, raw).identifier.value;
}

TEST(NormalizerOptionsTest, CreateRejectsInvalidOptions) {
  IdentityOptions options;
  options.blocked_patterns_by_type["email"] = {"(("};
  EXPECT_THAT(Normalizer::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("IdentityOptions.blocked_patterns_by_type[email][0]")));
}

TEST(NormalizerOptionsTest, DefaultPhoneRegionReadsNationalNumbers) {
  IdentityOptions options;
  options.default_phone_region = "FR";
  auto normalizer = MakeNormalizer(options);
  ASSERT_NE(normalizer, nullptr);
  EXPECT_EQ(Value(*normalizer, "phone", "06 12 34 56 78"), "+33612345678");
  EXPECT_EQ(Value(*normalizer, "phone", "0612345678"), "+33612345678");
  EXPECT_EQ(Value(*normalizer, "phone", "+1 415 555 0100"), "+14155550100");
  EXPECT_EQ(Value(*normalizer, "phone", "00 1 415 555 0100"), "+14155550100");
}

TEST(NormalizerOptionsTest, RegionZzAcceptsOnlyInternationalNumbers) {
  IdentityOptions options;
  options.default_phone_region = "ZZ";
  auto normalizer = MakeNormalizer(options);
  ASSERT_NE(normalizer, nullptr);
  EXPECT_EQ(Value(*normalizer, "phone", "+1 415 555 0100"), "+14155550100");
  NormalizeResult national = normalizer->Normalize("phone", "4155550100");
  EXPECT_EQ(national.outcome, NormalizeOutcome::kInvalid);
  EXPECT_EQ(national.reason, "phone has no valid country code");
}

TEST(NormalizerOptionsTest, PossibleNumbersPassWhenValidityIsNotRequired) {
  IdentityOptions options;
  options.require_valid_phone = false;
  auto normalizer = MakeNormalizer(options);
  ASSERT_NE(normalizer, nullptr);
  EXPECT_EQ(Value(*normalizer, "phone", "+1 111 111 1111"), "+11111111111");
  EXPECT_EQ(normalizer->Normalize("phone", "12").outcome, NormalizeOutcome::kInvalid);
}

TEST(NormalizerOptionsTest, TypePatternsReplaceTheDefaults) {
  IdentityOptions options;
  options.custom_types = {"crm_id"};
  options.blocked_patterns_by_type["crm_id"] = {"test-.*", "^[0-]*$"};
  auto normalizer = MakeNormalizer(options);
  ASSERT_NE(normalizer, nullptr);

  NormalizeResult test_account = normalizer->Normalize("crm_id", "TEST-42");
  EXPECT_EQ(test_account.outcome, NormalizeOutcome::kBlocked);
  EXPECT_EQ(test_account.blocked_pattern_index, 0);
  EXPECT_EQ(normalizer->Normalize("crm_id", "000").blocked_pattern_index, 1);
  // The defaults no longer apply to crm_id, but still do to every other type.
  EXPECT_EQ(Value(*normalizer, "crm_id", "guest"), "guest");
  EXPECT_EQ(normalizer->Normalize("user_id", "guest").outcome, NormalizeOutcome::kBlocked);
  EXPECT_EQ(Value(*normalizer, "user_id", "TEST-42"), "TEST-42");
}

TEST(NormalizerOptionsTest, PatternsAlsoMatchTheNormalizedValue) {
  IdentityOptions options;
  // A support line that shows up in every form: blocked however it is written.
  options.blocked_patterns_by_type["phone"] = {R"(\+14155550100)"};
  options.blocked_patterns_by_type["email"] = {"noreply@example\\.com"};
  auto normalizer = MakeNormalizer(options);
  ASSERT_NE(normalizer, nullptr);
  for (const char* raw : {"(415) 555-0100", "+1 415 555 0100", "+14155550100"}) {
    NormalizeResult result = normalizer->Normalize("phone", raw);
    EXPECT_EQ(result.outcome, NormalizeOutcome::kBlocked) << raw;
    EXPECT_TRUE(result.identifier.value.empty());
  }
  EXPECT_EQ(normalizer->Normalize("email", " NoReply@Example.com ").outcome,
            NormalizeOutcome::kBlocked);
  EXPECT_EQ(Value(*normalizer, "phone", "(415) 555-0101"), "+14155550101");
}

TEST(NormalizerOptionsTest, EmptyPatternListBlocksNothing) {
  IdentityOptions options;
  options.custom_types = {"crm_id"};
  options.blocked_patterns_by_type["crm_id"] = {};
  auto normalizer = MakeNormalizer(options);
  ASSERT_NE(normalizer, nullptr);
  EXPECT_EQ(Value(*normalizer, "crm_id", "0"), "0");
  // Nothing left once trimmed is never an identifier, patterns or not.
  EXPECT_EQ(normalizer->Normalize("crm_id", "  ").outcome, NormalizeOutcome::kInvalid);
}

TEST(NormalizerOptionsTest, NormalizeIsSafeFromManyThreads) {
  IdentityOptions options;
  auto normalizer = MakeNormalizer(options);
  ASSERT_NE(normalizer, nullptr);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&normalizer, &mismatches] {
      for (int i = 0; i < 500; ++i) {
        if (normalizer->Normalize("phone", "+1 (415) 555-0100").identifier.value !=
                "+14155550100" ||
            normalizer->Normalize("email", " Ann@Example.COM ").identifier.value !=
                "ann@example.com" ||
            normalizer->Normalize("user_id", "NULL").outcome != NormalizeOutcome::kBlocked) {
          mismatches.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace cdp::identity
