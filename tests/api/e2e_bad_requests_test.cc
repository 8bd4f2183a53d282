// End to end over loopback on a real `cdp serve`: malformed requests (issue 7, "Bad input and
// faults") are INVALID_ARGUMENT, leave the connection usable, and change nothing: a rejected
// write that names an unknown person must not create that person.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/api/server_process.h"
#include "tests/support/status_matchers.h"

namespace cdp::testing {
namespace {

constexpr char kKnownEmail[] = "known.e2e@example.com";

class E2eBadRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CDP_ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start());
    CDP_ASSERT_OK_AND_ASSIGN(cx_, server_->Connect(ServerProcess::TokenFor(TestRole::kCx)));
    CDP_ASSERT_OK_AND_ASSIGN(compliance_,
                             server_->Connect(ServerProcess::TokenFor(TestRole::kCompliance)));
    CDP_ASSERT_OK_AND_ASSIGN(auto ingest,
                             server_->Connect(ServerProcess::TokenFor(TestRole::kIngest)));
    thrift::IngestRequest request;
    request.token = ingest->token();
    request.format = thrift::IngestFormat::NDJSON;
    request.body = absl::StrCat(R"({"type":"identify","messageId":"known-1","userId":"known",)",
                                R"("traits":{"email":")", kKnownEmail,
                                R"("},"timestamp":"2026-11-20T09:00:00Z"})");
    thrift::IngestResponse response;
    ingest->rpc().ingest(response, request);
    ASSERT_EQ(response.accepted, 1);
  }

  void TearDown() override {
    cx_.reset();
    compliance_.reset();
    if (server_ != nullptr) {
      EXPECT_THAT(server_->Stop(), IsOk());
    }
  }

  // The code getContext answers `request` with (token and defaults filled in).
  std::optional<thrift::ErrorCode::type> GetContextCode(thrift::GetContextRequest request,
                                                        thrift::GetContextResponse* out) {
    request.token = cx_->token();
    return ErrorCodeOf([&] { cx_->rpc().getContext(*out, request); });
  }

  bool Exists(const thrift::PersonRef& person) {
    thrift::GetContextRequest request;
    request.person = person;
    request.purpose = "support";
    thrift::GetContextResponse response;
    EXPECT_EQ(GetContextCode(request, &response), std::nullopt);
    return response.found;
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<ApiClient> cx_, compliance_;
};

TEST_F(E2eBadRequestTest, MalformedLookupsAreInvalidArgumentAndTheConnectionStaysUsable) {
  struct Case {
    const char* what;
    thrift::PersonRef person;
    std::string purpose;
    std::optional<int32_t> max_events;
  };
  thrift::PersonRef by_profile;
  by_profile.__set_profile_id("not-hex");
  thrift::PersonRef both = PersonBy("email", kKnownEmail);
  both.__set_profile_id(std::string(32, '0'));
  const Case cases[] = {
      {"missing purpose", PersonBy("email", kKnownEmail), "", std::nullopt},
      {"unknown purpose", PersonBy("email", kKnownEmail), "astrology", std::nullopt},
      {"unknown identifier type", PersonBy("shoe_size", "42"), "support", std::nullopt},
      {"email without @", PersonBy("email", "not-an-email"), "support", std::nullopt},
      {"profile id not hex", by_profile, "support", std::nullopt},
      {"identifier and profile id", both, "support", std::nullopt},
      {"no identifier, no profile id", thrift::PersonRef(), "support", std::nullopt},
      {"max_events -1", PersonBy("email", kKnownEmail), "support", -1},
      {"max_events 1001", PersonBy("email", kKnownEmail), "support", 1001},
  };
  for (const Case& c : cases) {
    thrift::GetContextRequest request;
    request.person = c.person;
    request.purpose = c.purpose;
    if (c.max_events.has_value()) request.__set_max_events(*c.max_events);
    thrift::GetContextResponse response;
    EXPECT_EQ(GetContextCode(request, &response), thrift::ErrorCode::INVALID_ARGUMENT) << c.what;
  }
  EXPECT_TRUE(Exists(PersonBy("email", kKnownEmail))) << "the connection broke on an error";
}

// Thrift counts what a connection's messages consume against the maximum message size (16 MiB by
// default); the count must start over with each message. It did not, and a connection was dropped
// after ~16 MiB of requests: `cdp ingest` of a 20 MB file, or ~100,000 lookups of a CX service.
TEST_F(E2eBadRequestTest, AConnectionServesRequestsAddingUpPastTheMessageSizeLimit) {
  thrift::GetContextRequest request;
  request.person = PersonBy("email", kKnownEmail);
  request.purpose = std::string(1 << 20, 'p');  // an unknown purpose of 1 MiB
  for (int i = 0; i < 20; ++i) {
    thrift::GetContextResponse response;
    ASSERT_EQ(GetContextCode(request, &response), thrift::ErrorCode::INVALID_ARGUMENT)
        << "request " << i << " (" << i << " MiB sent before it)";
  }
  EXPECT_TRUE(Exists(PersonBy("email", kKnownEmail))) << "the connection broke";
}

// 1000 people x 1000 events could make one call build an answer of ~1 GB: a call asks for at
// most 20,000 events in all, and the default (1000 people x 20) stays allowed.
TEST_F(E2eBadRequestTest, AGetContextsAskingForTooManyEventsInAllIsInvalid) {
  thrift::GetContextsRequest request;
  request.token = cx_->token();
  request.purpose = "support";
  request.people.assign(1000, PersonBy("email", kKnownEmail));
  thrift::GetContextsResponse response;
  EXPECT_EQ(ErrorCodeOf([&] { cx_->rpc().getContexts(response, request); }), std::nullopt)
      << "1000 people with the default 20 events";
  ASSERT_EQ(response.results.size(), 1000u);
  EXPECT_TRUE(response.results[999].found);
  request.__set_max_events(21);
  EXPECT_EQ(ErrorCodeOf([&] { cx_->rpc().getContexts(response, request); }),
            thrift::ErrorCode::INVALID_ARGUMENT);
  request.people.resize(20);
  request.__set_max_events(1000);
  EXPECT_EQ(ErrorCodeOf([&] { cx_->rpc().getContexts(response, request); }), std::nullopt)
      << "20 people x 1000 events";
}

TEST_F(E2eBadRequestTest, RejectedSetConsentCreatesNobody) {
  thrift::SetConsentRequest request;
  request.token = compliance_->token();
  request.person = PersonBy("email", "consent-new.e2e@example.com");
  request.purposes = {{"astrology", true}};
  thrift::SetConsentResponse response;
  EXPECT_EQ(ErrorCodeOf([&] { compliance_->rpc().setConsent(response, request); }),
            thrift::ErrorCode::INVALID_ARGUMENT);
  EXPECT_FALSE(Exists(request.person));
}

// putConversation on an identifier nobody holds creates the person, but only for a valid update:
// a rejected one must leave no empty person behind.
TEST_F(E2eBadRequestTest, RejectedPutConversationCreatesNobody) {
  thrift::PutConversationRequest request;
  request.token = cx_->token();
  request.person = PersonBy("email", "conversation-new.e2e@example.com");
  request.conversation_id = "";  // must be 1..128 bytes
  request.channel = "chat";
  thrift::PutConversationResponse response;
  EXPECT_EQ(ErrorCodeOf([&] { cx_->rpc().putConversation(response, request); }),
            thrift::ErrorCode::INVALID_ARGUMENT);
  EXPECT_FALSE(Exists(request.person)) << "an empty conversation id created the person";

  request.person = PersonBy("email", "conversation-ttl.e2e@example.com");
  request.conversation_id = "conv-1";
  request.__set_ttl_seconds(-5);
  EXPECT_EQ(ErrorCodeOf([&] { cx_->rpc().putConversation(response, request); }),
            thrift::ErrorCode::INVALID_ARGUMENT);
  EXPECT_FALSE(Exists(request.person)) << "a negative ttl created the person";
}

}  // namespace
}  // namespace cdp::testing
