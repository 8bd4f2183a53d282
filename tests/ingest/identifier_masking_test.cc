// IdentifierMasker: every value the Segment parser takes an identifier from is masked in event
// JSON and traits, wherever the same string appears, and nothing else changes.

#include "ingest/identifier_masking.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/status_matchers.h"

namespace cdp::ingest {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// Whether `text` is a JSON object (what the masker itself parses).
bool IsJsonObject(std::string text) { return IdentifierMasker().MaskEvent(&text).ok(); }

TEST(IdentifierMaskerTest, MasksEveryIdentifierOfAnEventWhereverItAppears) {
  std::string json =
      R"({"type":"track","userId":"user-12345","anonymousId":"anon-98765",)"
      R"("event":"Ordered","properties":{"contact":"ann.lee@example.com","total":12},)"
      R"("context":{"traits":{"email":"ann.lee@example.com","phone":"+1 650 555 0100",)"
      R"("plan":"gold"},"device":{"id":"device-00042"},)"
      R"("externalIds":[{"id":"crm-777-555","type":"crm_id","collection":"users"}]}})";
  CDP_ASSERT_OK_AND_ASSIGN(IdentifierMasker masker, IdentifierMasker::Create());
  ASSERT_THAT(masker.MaskEvent(&json), IsOk());
  for (const char* full : {"user-12345", "anon-98765", "ann.lee@example.com", "650 555 0100",
                           "device-00042", "crm-777-555"}) {
    EXPECT_THAT(json, Not(HasSubstr(full)));
  }
  EXPECT_THAT(json, HasSubstr(R"("contact":"a***@example.com")"));
  EXPECT_THAT(json, HasSubstr(R"("email":"a***@example.com")"));
  EXPECT_THAT(json, HasSubstr(R"("phone":"***00")"));
  EXPECT_THAT(json, HasSubstr(R"("userId":"us***")"));
  // What is not an identifier stays as it was.
  EXPECT_THAT(json, HasSubstr(R"("plan":"gold")"));
  EXPECT_THAT(json, HasSubstr(R"("total":12)"));
  EXPECT_THAT(json, HasSubstr(R"("type":"crm_id","collection":"users")"));
  EXPECT_TRUE(IsJsonObject(json));
}

TEST(IdentifierMaskerTest, MasksCustomPathsAndIdentifyTraits) {
  CDP_ASSERT_OK_AND_ASSIGN(IdentifierMasker masker,
                           IdentifierMasker::Create({{"loyalty_id", "traits.loyalty.number"}}));
  std::string json = R"({"type":"identify","userId":"u1","traits":{"email":"bo@example.org",)"
                     R"("loyalty":{"number":"LOY-123456789","tier":"silver"}}})";
  ASSERT_THAT(masker.MaskEvent(&json), IsOk());
  EXPECT_THAT(json, Not(HasSubstr("LOY-123456789")));
  EXPECT_THAT(json, Not(HasSubstr("bo@example.org")));
  EXPECT_THAT(json, HasSubstr(R"("tier":"silver")"));
  EXPECT_THAT(json, HasSubstr(R"("userId":"***")"));  // short values are masked whole
}

TEST(IdentifierMaskerTest, MasksTraitsAsIdentifyWouldTakeThem) {
  CDP_ASSERT_OK_AND_ASSIGN(IdentifierMasker masker,
                           IdentifierMasker::Create({{"crm_id", "context.traits.crm"}}));
  std::string email = R"("Ann.Lee@Example.com")", phone = R"("(650) 555-0100")",
              crm = R"("CRM-0000123")", plan = R"("gold")", address = R"({"city":"Oslo"})";
  const std::vector<absl::string_view> names = {"email", "phone", "crm", "plan", "address"};
  const std::vector<std::string*> values = {&email, &phone, &crm, &plan, &address};
  masker.MaskTraits(names, values);
  EXPECT_EQ(email, R"("A***@Example.com")");
  EXPECT_EQ(phone, R"("***00")");
  EXPECT_EQ(crm, R"("CR***")");
  EXPECT_EQ(plan, R"("gold")");
  EXPECT_EQ(address, R"({"city":"Oslo"})");
}

TEST(IdentifierMaskerTest, WhatDoesNotParseIsNotReturned) {
  IdentifierMasker masker;
  std::string json = R"({"userId":"u-1234567890")";
  EXPECT_THAT(masker.MaskEvent(&json), StatusIs(absl::StatusCode::kDataLoss));
  std::string broken = R"("unterminated)", plan = R"("gold")";
  masker.MaskTraits(std::vector<absl::string_view>{"email", "plan"},
                    std::vector<std::string*>{&broken, &plan});
  EXPECT_EQ(broken, "null");
  EXPECT_EQ(plan, "null");
}

// Spans found at ingest mask exactly what parsing at read time masks.
TEST(IdentifierMaskerTest, StoredSpansMaskAsParsingDoes) {
  const std::string json =
      R"({"type":"identify","userId":"user-12345","anonymousId":"anon-98765",)"
      R"("traits":{"email":"Ann.Lee@Example.com","note":"say \"hi\"","plan":"gold"},)"
      R"("properties":{"again":"user-12345"},"context":{"device":{"id":"dev\"ice-0042"}}})";
  const std::vector<RawIdentifier> identifiers = {{"user_id", "user-12345"},
                                                  {"anonymous_id", "anon-98765"},
                                                  {"email", "Ann.Lee@Example.com"},
                                                  {"device_id", "dev\"ice-0042"}};
  std::string by_spans = json, by_parsing = json;
  ASSERT_THAT(MaskEventAt(IdentifierSpans(json, identifiers), &by_spans), IsOk());
  ASSERT_THAT(IdentifierMasker().MaskEvent(&by_parsing), IsOk());
  EXPECT_EQ(by_spans, by_parsing);
  EXPECT_THAT(by_spans, HasSubstr(R"("again":"us***")"));
  EXPECT_THAT(by_spans, HasSubstr(R"("email":"A***@Example.com")"));
  EXPECT_THAT(by_spans, HasSubstr(R"("id":"***")"));  // written with an escape: masked whole
  EXPECT_THAT(by_spans, HasSubstr(R"("note":"say \"hi\"")"));
  EXPECT_TRUE(IsJsonObject(by_spans));
  EXPECT_EQ(IdentifierSpans(json, {}), "");
  EXPECT_EQ(IdentifierSpans(json, {{"email", "nobody@example.com"}}), "");
}

TEST(IdentifierMaskerTest, SpansThatDoNotFitAreDataLoss) {
  const std::string json = R"({"userId":"user-12345","plan":"gold"})";
  const std::string spans = IdentifierSpans(json, {{"user_id", "user-12345"}});
  ASSERT_FALSE(spans.empty());
  for (const std::string& bad : {std::string("\x05\x0c\x00"),   // starts inside a key
                                 std::string("\x7f\x02\x00"),   // past the end
                                 std::string("\x0a\x40\x00"),   // longer than the rest
                                 std::string("\x0a"),             // truncated
                                 std::string("\x0a\x01\x00")}) {  // shorter than two quotes
    std::string text = json;
    EXPECT_THAT(MaskEventAt(bad, &text), StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_EQ(text, json);
  }
  std::string text = json;
  ASSERT_THAT(MaskEventAt(spans, &text), IsOk());
  EXPECT_EQ(text, R"({"userId":"us***","plan":"gold"})");
}

TEST(IdentifierMaskerTest, ABadCustomPathIsRefused) {
  EXPECT_THAT(IdentifierMasker::Create({{"crm_id", "traits..x"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace cdp::ingest
