// End to end over loopback on a real `cdp serve`: the scenario of issue 7. Ingest a feed, look a
// person up across channels, a consent change hides data for that purpose, conversations follow
// the person, a paged export, erase, "not found", a replay that is suppressed; then batch
// lookups, health, stats, the Prometheus endpoint, and the start and stop of `cdp serve`.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/api/raw_socket.h"
#include "tests/api/scenario_feed.h"
#include "tests/api/server_process.h"
#include "tests/support/status_matchers.h"

namespace cdp::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using F = ScenarioFeed;

class E2eScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CDP_ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start());
    CDP_ASSERT_OK_AND_ASSIGN(cx_, server_->Connect(ServerProcess::TokenFor(TestRole::kCx)));
    CDP_ASSERT_OK_AND_ASSIGN(ingest_, server_->Connect(ServerProcess::TokenFor(TestRole::kIngest)));
    CDP_ASSERT_OK_AND_ASSIGN(compliance_,
                             server_->Connect(ServerProcess::TokenFor(TestRole::kCompliance)));
    CDP_ASSERT_OK_AND_ASSIGN(admin_, server_->Connect(ServerProcess::TokenFor(TestRole::kAdmin)));
    feed_ = MakeScenarioFeed();
  }

  void TearDown() override {
    cx_.reset();
    ingest_.reset();
    compliance_.reset();
    admin_.reset();
    if (server_ != nullptr) {
      EXPECT_THAT(server_->Stop(), IsOk());
    }
  }

  thrift::IngestResponse IngestFeed() {
    thrift::IngestRequest request;
    request.token = ingest_->token();
    request.format = thrift::IngestFormat::NDJSON;
    request.body = feed_.ndjson;
    request.__set_source("scenario.ndjson");
    thrift::IngestResponse response;
    ingest_->rpc().ingest(response, request);
    return response;
  }

  thrift::GetContextResponse Lookup(ApiClient& client, const thrift::PersonRef& person,
                                    const std::string& purpose) {
    thrift::GetContextRequest request;
    request.token = client.token();
    request.person = person;
    request.purpose = purpose;
    request.__set_max_events(1000);
    thrift::GetContextResponse response;
    client.rpc().getContext(response, request);
    return response;
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<ApiClient> cx_, ingest_, compliance_, admin_;
  ScenarioFeed feed_;
};

TEST_F(E2eScenarioTest, PersonAcrossChannelsConsentExportEraseAndReplay) {
  const thrift::IngestResponse ingested = IngestFeed();
  EXPECT_EQ(ingested.accepted,
            static_cast<int64_t>(feed_.ada_messages.size() + feed_.other_messages.size()));
  EXPECT_EQ(ingested.rejected, 0);

  // Looked up by the phone (first seen on the phone channel), Ada is one person with the events
  // of every channel.
  const thrift::PersonRef by_phone = PersonBy("phone", F::kAdaPhone);
  const thrift::PersonRef by_email = PersonBy("email", F::kAdaEmail);
  const thrift::GetContextResponse ada = Lookup(*cx_, by_phone, "support");
  ASSERT_TRUE(ada.found);
  const thrift::Context& context = ada.context;
  EXPECT_TRUE(context.purpose_allowed);
  EXPECT_EQ(
      Lookup(*cx_, PersonBy("anonymous_id", F::kAdaWebAnonymousId), "support").context.profile_id,
      context.profile_id);
  EXPECT_THAT(context.channels, IsSupersetOf(feed_.ada_channels));
  EXPECT_EQ(context.total_events, static_cast<int64_t>(feed_.ada_messages.size()));
  std::set<std::string> event_channels, event_ids;
  for (const thrift::Event& event : context.recent_events) {
    event_channels.insert(event.channel);
    event_ids.insert(event.message_id);
  }
  EXPECT_EQ(event_channels, feed_.ada_channels);
  EXPECT_EQ(event_ids, feed_.ada_messages);

  // cx sees identifiers masked, compliance in full.
  std::set<std::pair<std::string, std::string>> full;
  const thrift::GetContextResponse audited = Lookup(*compliance_, by_phone, "support");
  for (const thrift::IdentifierView& id : audited.context.identifiers) {
    EXPECT_FALSE(id.masked);
    full.emplace(id.type, id.value);
  }
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"email", F::kAdaEmailNormalized},
      {"phone", F::kAdaPhoneNormalized},
      {"user_id", F::kAdaUserId},
      {"anonymous_id", F::kAdaWebAnonymousId}};
  EXPECT_THAT(full, IsSupersetOf(expected));
  ASSERT_EQ(context.identifiers.size(), full.size());
  for (const thrift::IdentifierView& id : context.identifiers) {
    EXPECT_TRUE(id.masked) << id.type;
    EXPECT_FALSE(full.count({id.type, id.value})) << id.type << " shown in full to cx";
  }
  // Nor do cx callers find them in traits or event JSON, where compliance does.
  const auto shows = [](const thrift::Context& c, const std::string& value) {
    bool found = false;
    for (const thrift::Trait& trait : c.traits) found |= trait.json.find(value) != std::string::npos;
    for (const thrift::Event& event : c.recent_events) {
      found |= event.json.find(value) != std::string::npos;
    }
    return found;
  };
  for (const std::string value :
       {F::kAdaEmail, F::kAdaPhone, F::kAdaUserId, F::kAdaWebAnonymousId}) {
    EXPECT_FALSE(shows(context, value)) << "cx sees an identifier in full in traits or events";
    EXPECT_TRUE(shows(audited.context, value)) << "compliance misses an identifier";
  }

  // Consent given in the feed (advertising -> marketing) allows marketing; withdrawing it hides
  // the data for marketing while support (contract) still sees it.
  thrift::GetContextResponse marketing = Lookup(*cx_, by_email, "marketing");
  ASSERT_TRUE(marketing.found);
  EXPECT_TRUE(marketing.context.purpose_allowed);
  EXPECT_FALSE(marketing.context.recent_events.empty());
  thrift::SetConsentRequest withdraw;
  withdraw.token = compliance_->token();
  withdraw.person = by_email;
  withdraw.purposes = {{"marketing", false}};
  thrift::SetConsentResponse withdrawn;
  compliance_->rpc().setConsent(withdrawn, withdraw);
  EXPECT_EQ(withdrawn.profile_id, context.profile_id);
  marketing = Lookup(*cx_, by_email, "marketing");
  ASSERT_TRUE(marketing.found);
  EXPECT_FALSE(marketing.context.purpose_allowed);
  EXPECT_TRUE(marketing.context.traits.empty());
  EXPECT_TRUE(marketing.context.recent_events.empty());
  EXPECT_TRUE(marketing.context.identifiers.empty());
  const thrift::GetContextResponse support = Lookup(*cx_, by_email, "support");
  EXPECT_TRUE(support.context.purpose_allowed);
  EXPECT_FALSE(support.context.traits.empty());
  EXPECT_EQ(support.context.recent_events.size(), feed_.ada_messages.size());

  // A conversation started on chat is there when the customer writes from their email.
  thrift::PutConversationRequest put;
  put.token = cx_->token();
  put.person = PersonBy("user_id", F::kAdaUserId);
  put.conversation_id = "conv-e2e-1";
  put.channel = "chat";
  put.state = {{"topic", "refund"}, {"step", "2"}};
  thrift::PutConversationResponse conversation;
  cx_->rpc().putConversation(conversation, put);
  EXPECT_EQ(conversation.profile_id, context.profile_id);
  const thrift::GetContextResponse after_chat = Lookup(*cx_, by_email, "support");
  ASSERT_EQ(after_chat.context.conversations.size(), 1u);
  EXPECT_EQ(after_chat.context.conversations[0].conversation_id, "conv-e2e-1");
  EXPECT_EQ(after_chat.context.conversations[0].channel, "chat");
  EXPECT_EQ(after_chat.context.conversations[0].state.at("topic"), "refund");

  // The export comes in 64 KiB pages that concatenate to one JSON document with every event.
  std::string document;
  int pages = 0;
  thrift::ExportSubjectRequest page_request;
  page_request.token = compliance_->token();
  page_request.person = by_email;
  page_request.reason = "DSAR-1234";
  page_request.__set_max_bytes(65536);
  while (true) {
    thrift::ExportSubjectResponse page;
    compliance_->rpc().exportSubject(page, page_request);
    ++pages;
    EXPECT_LE(page.chunk.size(), 65536u);
    document += page.chunk;
    if (page.done) break;
    ASSERT_TRUE(page.__isset.cursor) << "page " << pages << " is not the last but has no cursor";
    ASSERT_LT(pages, 1000) << "the export does not end";
    page_request.__set_cursor(page.cursor);
  }
  EXPECT_GT(pages, 1);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(document).get(root), simdjson::SUCCESS)
      << "export of " << document.size() << " bytes is not valid JSON";
  for (const std::string& id : feed_.ada_messages) {
    EXPECT_THAT(document, HasSubstr(absl::StrCat("\"", id, "\""))) << id;
  }

  // Erased: the person is gone under every identifier.
  thrift::EraseSubjectRequest erase;
  erase.token = compliance_->token();
  erase.person = by_email;
  erase.reason = "DSAR-1235";
  thrift::EraseSubjectResponse receipt;
  compliance_->rpc().eraseSubject(receipt, erase);
  EXPECT_EQ(receipt.profile_id, context.profile_id);
  EXPECT_FALSE(Lookup(*cx_, by_phone, "support").found);
  EXPECT_FALSE(Lookup(*cx_, PersonBy("user_id", F::kAdaUserId), "support").found);

  // Replaying the feed brings nothing of hers back: her records are suppressed.
  const thrift::IngestResponse replay = IngestFeed();
  EXPECT_EQ(replay.accepted, 0);
  EXPECT_EQ(replay.suppressed, static_cast<int64_t>(feed_.ada_messages.size()));
  EXPECT_EQ(replay.duplicate, static_cast<int64_t>(feed_.other_messages.size()));
  for (const thrift::RecordOutcome& record : replay.records) {
    if (feed_.ada_messages.count(record.message_id)) {
      EXPECT_EQ(record.outcome, thrift::Outcome::SUPPRESSED) << record.message_id;
    }
  }
  EXPECT_FALSE(Lookup(*cx_, by_email, "support").found);

  thrift::VerifyAuditRequest verify_request;
  verify_request.token = compliance_->token();
  thrift::VerifyAuditResponse verify;
  compliance_->rpc().verifyAudit(verify, verify_request);
  EXPECT_TRUE(verify.ok) << verify.problem;
  EXPECT_GT(verify.entries, 0);
  // The chain ends where the signed head says, and the response names it.
  ASSERT_TRUE(verify.__isset.head_seq);
  EXPECT_EQ(verify.head_seq, verify.entries);
  EXPECT_EQ(verify.head_hash.size(), 64u);
  EXPECT_FALSE(verify.notes.empty());
}

TEST_F(E2eScenarioTest, UnmergeGivesConsentAndConversationsToTheIdentifierTheyCameThrough) {
  // Fay and Gus used the same kiosk: one profile.
  thrift::IngestRequest ingest;
  ingest.token = ingest_->token();
  ingest.format = thrift::IngestFormat::NDJSON;
  ingest.body =
      R"({"type":"track","messageId":"u1","userId":"fay","event":"Visit","context":{"device":{"id":"kiosk-7"}}})"
      "\n"
      R"({"type":"identify","messageId":"u2","anonymousId":"gus-web","traits":{"email":"gus@example.com"},"context":{"device":{"id":"kiosk-7"}}})"
      "\n";
  thrift::IngestResponse ingested;
  ingest_->rpc().ingest(ingested, ingest);
  ASSERT_EQ(ingested.accepted, 2);
  const thrift::PersonRef fay = PersonBy("user_id", "fay");
  const thrift::PersonRef gus = PersonBy("email", "gus@example.com");
  const std::string merged = Lookup(*cx_, fay, "support").context.profile_id;
  ASSERT_EQ(Lookup(*cx_, gus, "support").context.profile_id, merged);

  // Gus grants personalization, named by his email.
  thrift::SetConsentRequest grant;
  grant.token = compliance_->token();
  grant.person = gus;
  grant.purposes = {{"personalization", true}};
  thrift::SetConsentResponse granted;
  compliance_->rpc().setConsent(granted, grant);
  // A chat with Gus, put through his email; one for the profile id stays with the original.
  thrift::PersonRef by_profile_id;
  by_profile_id.__set_profile_id(merged);
  for (const auto& [person, id] : {std::pair{gus, "chat-gus"}, std::pair{by_profile_id, "note"}}) {
    thrift::PutConversationRequest put;
    put.token = cx_->token();
    put.person = person;
    put.conversation_id = id;
    put.channel = "chat";
    thrift::PutConversationResponse stored;
    cx_->rpc().putConversation(stored, put);
  }

  thrift::UnmergeRequest unmerge;
  unmerge.token = compliance_->token();
  unmerge.profile_id = merged;
  unmerge.identifier.type = "device_id";
  unmerge.identifier.value = "kiosk-7";
  unmerge.reason = "shared kiosk";
  thrift::UnmergeResponse split;
  compliance_->rpc().unmerge(split, unmerge);

  const auto allows_personalization = [&](const thrift::PersonRef& person) {
    thrift::GetConsentRequest request;
    request.token = compliance_->token();
    request.person = person;
    thrift::GetConsentResponse response;
    compliance_->rpc().getConsent(response, request);
    for (const thrift::PurposeState& state : response.consent) {
      if (state.purpose == "personalization") return state.allowed;
    }
    ADD_FAILURE() << "no personalization state";
    return false;
  };
  ASSERT_NE(Lookup(*cx_, gus, "support").context.profile_id,
            Lookup(*cx_, fay, "support").context.profile_id);
  EXPECT_TRUE(allows_personalization(gus));
  EXPECT_FALSE(allows_personalization(fay));
  const auto conversations = [&](const thrift::PersonRef& person) {
    std::vector<std::string> ids;
    for (const thrift::Conversation& c : Lookup(*cx_, person, "support").context.conversations) {
      ids.push_back(c.conversation_id);
    }
    return ids;
  };
  EXPECT_THAT(conversations(gus), ::testing::ElementsAre("chat-gus"));
  EXPECT_THAT(conversations(fay), ::testing::ElementsAre("note"));
}

TEST_F(E2eScenarioTest, BatchLookupAnswersEachPersonInOrder) {
  IngestFeed();
  thrift::GetContextsRequest request;
  request.token = cx_->token();
  request.people = {PersonBy("email", F::kGraceEmail), PersonBy("email", "nobody.e2e@example.com"),
                    PersonBy("email", F::kLinusEmail)};
  request.purpose = "support";
  thrift::GetContextsResponse response;
  cx_->rpc().getContexts(response, request);
  ASSERT_EQ(response.results.size(), 3u);
  EXPECT_TRUE(response.results[0].found);
  EXPECT_FALSE(response.results[1].found);
  EXPECT_FALSE(response.results[1].__isset.error_code);
  EXPECT_TRUE(response.results[2].found);
  EXPECT_NE(response.results[0].context.profile_id, response.results[2].context.profile_id);

  // A bad reference fails only its own entry.
  request.people[1] = PersonBy("shoe_size", "42");
  cx_->rpc().getContexts(response, request);
  ASSERT_EQ(response.results.size(), 3u);
  EXPECT_TRUE(response.results[0].found);
  EXPECT_EQ(response.results[1].error_code, thrift::ErrorCode::INVALID_ARGUMENT);
  EXPECT_TRUE(response.results[2].found);
}

// getContexts spreads its lookups over threads: every entry must still be the answer for the
// person at its own position, equal to what getContext says of them.
TEST_F(E2eScenarioTest, LargeBatchMatchesSingleLookupsPositionForPosition) {
  IngestFeed();
  const std::vector<thrift::PersonRef> kinds = {
      PersonBy("email", F::kGraceEmail), PersonBy("email", "nobody.e2e@example.com"),
      PersonBy("email", F::kLinusEmail), PersonBy("shoe_size", "42")};
  thrift::GetContextsRequest request;
  request.token = cx_->token();
  request.purpose = "support";
  // Every event of the feed's people (far fewer than 99 each), within the 20,000 events a call
  // may ask for in all (201 x 99).
  request.__set_max_events(99);
  for (size_t i = 0; i < 201; ++i) request.people.push_back(kinds[(i * 7 + i / 5) % kinds.size()]);
  thrift::GetContextsResponse response;
  cx_->rpc().getContexts(response, request);
  ASSERT_EQ(response.results.size(), request.people.size());
  std::vector<thrift::GetContextResponse> single;
  for (size_t k = 0; k + 1 < kinds.size(); ++k) single.push_back(Lookup(*cx_, kinds[k], "support"));
  for (size_t i = 0; i < request.people.size(); ++i) {
    const size_t k = (i * 7 + i / 5) % kinds.size();
    const thrift::ContextResult& result = response.results[i];
    if (k == kinds.size() - 1) {
      EXPECT_EQ(result.error_code, thrift::ErrorCode::INVALID_ARGUMENT) << i;
      EXPECT_THAT(result.error_message, HasSubstr(absl::StrCat("people[", i, "]: "))) << i;
      continue;
    }
    EXPECT_FALSE(result.__isset.error_code) << i;
    ASSERT_EQ(result.found, single[k].found) << i;
    if (!result.found) continue;
    EXPECT_EQ(result.context, single[k].context) << i;
  }
}

// A compliance batch puts each lookup on the audit record, in the order of the request.
TEST_F(E2eScenarioTest, ComplianceBatchIsAuditedInRequestOrder) {
  IngestFeed();
  const std::string grace =
      Lookup(*cx_, PersonBy("email", F::kGraceEmail), "support").context.profile_id;
  const std::string linus =
      Lookup(*cx_, PersonBy("email", F::kLinusEmail), "support").context.profile_id;
  thrift::GetContextsRequest request;
  request.token = compliance_->token();
  request.purpose = "support";
  std::vector<std::string> expected;
  for (int i = 0; i < 30; ++i) {
    const bool is_grace = i % 3 != 1;
    request.people.push_back(PersonBy("email", is_grace ? F::kGraceEmail : F::kLinusEmail));
    expected.push_back(is_grace ? grace : linus);
  }
  thrift::GetContextsResponse response;
  compliance_->rpc().getContexts(response, request);
  ASSERT_EQ(response.results.size(), expected.size());

  thrift::AuditLogRequest log_request;
  log_request.token = admin_->token();
  thrift::AuditLogResponse log;
  admin_->rpc().auditLog(log, log_request);
  std::vector<std::string> targets;
  for (const thrift::AuditEntry& entry : log.entries) {
    if (entry.act == "context.lookup") targets.push_back(entry.target);
  }
  EXPECT_EQ(targets, expected);
}

TEST_F(E2eScenarioTest, HealthStatsAndMetricsReportTheCalls) {
  CDP_ASSERT_OK_AND_ASSIGN(auto anonymous, server_->Connect(""));
  thrift::HealthResponse health;
  anonymous->rpc().health(health, thrift::HealthRequest());
  EXPECT_EQ(health.status, "serving");
  EXPECT_FALSE(health.version.empty());

  IngestFeed();
  EXPECT_TRUE(Lookup(*cx_, PersonBy("email", F::kGraceEmail), "support").found);

  thrift::StatsRequest stats_request;
  stats_request.token = admin_->token();
  thrift::StatsResponse stats;
  admin_->rpc().stats(stats, stats_request);
  bool listed = false;
  for (const thrift::CallStats& call : stats.calls) {
    if (call.call != "getContext") continue;
    listed = true;
    EXPECT_GT(call.count, 0);
  }
  EXPECT_TRUE(listed) << "stats has no getContext entry";
  // The scenario is too small to train a value dictionary: none yet, no ratio measured.
  ASSERT_TRUE(stats.counters.count("ingest_value_dictionary"));
  EXPECT_EQ(stats.counters.at("ingest_value_dictionary"), 0);
  EXPECT_EQ(stats.counters.at("ingest_event_json_ratio_permille"), 0);

  CDP_ASSERT_OK_AND_ASSIGN(std::string metrics, HttpGet(server_->metrics_port(), "/metrics"));
  EXPECT_THAT(metrics, HasSubstr("cdp_calls_total"));
  EXPECT_THAT(metrics, HasSubstr("call=\"getContext\""));
  EXPECT_THAT(metrics, HasSubstr("\ncdp_store_resident_index_enabled 1\n"));
  EXPECT_THAT(metrics, HasSubstr("\ncdp_ingest_value_dictionary 0\n"));
  // The server's own memory, and the mapped pages of its store, apart.
  EXPECT_THAT(metrics, ContainsRegex("\ncdp_process_anon_memory_bytes [1-9][0-9]{6,}\n"));
  EXPECT_THAT(metrics, ContainsRegex("\ncdp_process_file_memory_bytes [0-9]+\n"));
  EXPECT_THAT(metrics, ContainsRegex("\ncdp_process_major_faults [0-9]+\n"));
  EXPECT_THAT(metrics, ContainsRegex("\ncdp_store_block_cache_bytes [0-9]+\n"));
  // The feed's ingest calls were group-committed: applied, then synced.
  EXPECT_THAT(metrics, ContainsRegex("\ncdp_store_group_commit_writes [1-9][0-9]*\n"));
  EXPECT_THAT(metrics, ContainsRegex("\ncdp_store_group_commit_syncs [1-9][0-9]*\n"));
  // The data-key cache: sized by default for at least a million people, holding the feed's.
  EXPECT_THAT(metrics, ContainsRegex("\ncdp_store_data_key_cache_capacity [1-9][0-9]{6,}\n"));
  EXPECT_THAT(metrics, ContainsRegex("\ncdp_store_data_key_cache_keys [1-9][0-9]*\n"));
  EXPECT_THAT(metrics, ContainsRegex("\ncdp_store_data_key_vault_reads [0-9]+\n"));
}

TEST(E2eServeTest, TheConfigurationSizesTheDataKeyCache) {
  CDP_ASSERT_OK_AND_ASSIGN(
      auto server, ServerProcess::Start({.extra_config = "storage { data_key_cache_keys: 4096 }"}));
  CDP_ASSERT_OK_AND_ASSIGN(auto admin,
                           server->Connect(ServerProcess::TokenFor(TestRole::kAdmin)));
  thrift::StatsRequest request;
  request.token = admin->token();
  thrift::StatsResponse stats;
  admin->rpc().stats(stats, request);
  ASSERT_TRUE(stats.counters.count("store_data_key_cache_capacity"));
  EXPECT_EQ(stats.counters.at("store_data_key_cache_capacity"), 4096);
}

TEST(E2eServeTest, InvalidConfigurationStopsTheStartNamingTheField) {
  auto server =
      ServerProcess::Start({.extra_config = "tokens { name: \"boss\" sha256_hex: \"" +
                                            std::string(64, 'a') + "\" role: \"boss\" }"});
  EXPECT_THAT(server, StatusIs(absl::StatusCode::kInternal, HasSubstr("exit status 2")));
  EXPECT_THAT(server.status().message(), HasSubstr("tokens[4].role"));
}

TEST(E2eServeTest, SigtermWithConnectedClientsStopsGracefully) {
  CDP_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start());
  CDP_ASSERT_OK_AND_ASSIGN(auto idle, server->Connect(ServerProcess::TokenFor(TestRole::kCx)));
  CDP_ASSERT_OK_AND_ASSIGN(auto used, server->Connect(ServerProcess::TokenFor(TestRole::kCx)));
  thrift::HealthResponse health;
  used->rpc().health(health, thrift::HealthRequest());
  // Exit 0 after "cdp: stopped", with the connections still open on our side.
  EXPECT_THAT(server->Stop(), IsOk());
  EXPECT_THROW(idle->rpc().health(health, thrift::HealthRequest()),
               apache::thrift::transport::TTransportException);
}

}  // namespace
}  // namespace cdp::testing
