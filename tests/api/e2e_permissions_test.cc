// End to end over loopback on a real `cdp serve`: every call × every role (plus a wrong and an
// empty token) is either refused with UNAUTHENTICATED / PERMISSION_DENIED or gets past the
// permission check (it may still fail for another reason, e.g. NOT_FOUND). Refused compliance
// calls are on the audit record.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/auth.h"
#include "tests/api/server_process.h"
#include "tests/support/status_matchers.h"

namespace cdp::testing {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;

using Code = thrift::ErrorCode::type;

thrift::PersonRef Nobody() { return PersonBy("email", "nobody-e2e@example.org"); }

struct CallCase {
  std::string name;
  std::set<TestRole> allowed;  // admin may always call
  std::function<void(ApiClient&, const std::string& scratch)> call;
};

std::vector<CallCase> AllCalls() {
  using R = TestRole;
  const std::set<R> cx_compliance = {R::kCx, R::kCompliance};
  const std::set<R> compliance = {R::kCompliance};
  std::vector<CallCase> calls;
  calls.push_back({"getContext", cx_compliance, [](ApiClient& c, const std::string&) {
                     thrift::GetContextRequest r;
                     r.token = c.token();
                     r.person = Nobody();
                     r.purpose = "support";
                     thrift::GetContextResponse out;
                     c.rpc().getContext(out, r);
                   }});
  calls.push_back({"getContexts", cx_compliance, [](ApiClient& c, const std::string&) {
                     thrift::GetContextsRequest r;
                     r.token = c.token();
                     r.people = {Nobody()};
                     r.purpose = "support";
                     thrift::GetContextsResponse out;
                     c.rpc().getContexts(out, r);
                   }});
  calls.push_back({"ingest", {R::kIngest}, [](ApiClient& c, const std::string&) {
                     thrift::IngestRequest r;
                     r.token = c.token();
                     r.format = thrift::IngestFormat::NDJSON;
                     r.body = R"({"type":"track","messageId":"perm-1","userId":"perm-user",)"
                              R"("event":"Probe","timestamp":"2026-11-20T09:00:00Z"})";
                     thrift::IngestResponse out;
                     c.rpc().ingest(out, r);
                   }});
  calls.push_back(
      {"setConsent", {R::kIngest, R::kCompliance}, [](ApiClient& c, const std::string&) {
         thrift::SetConsentRequest r;
         r.token = c.token();
         r.person = Nobody();
         r.purposes = {{"marketing", true}};
         thrift::SetConsentResponse out;
         c.rpc().setConsent(out, r);
       }});
  calls.push_back({"getConsent", cx_compliance, [](ApiClient& c, const std::string&) {
                     thrift::GetConsentRequest r;
                     r.token = c.token();
                     r.person = Nobody();
                     thrift::GetConsentResponse out;
                     c.rpc().getConsent(out, r);
                   }});
  calls.push_back({"exportSubject", compliance, [](ApiClient& c, const std::string&) {
                     thrift::ExportSubjectRequest r;
                     r.token = c.token();
                     r.person = Nobody();
                     r.reason = "ticket-1";
                     thrift::ExportSubjectResponse out;
                     c.rpc().exportSubject(out, r);
                   }});
  calls.push_back({"eraseSubject", compliance, [](ApiClient& c, const std::string&) {
                     thrift::EraseSubjectRequest r;
                     r.token = c.token();
                     r.person = Nobody();
                     r.reason = "ticket-2";
                     thrift::EraseSubjectResponse out;
                     c.rpc().eraseSubject(out, r);
                   }});
  calls.push_back({"unsuppress", compliance, [](ApiClient& c, const std::string&) {
                     thrift::UnsuppressRequest r;
                     r.token = c.token();
                     r.identifier = Nobody().identifier;
                     r.reason = "t-3";
                     thrift::UnsuppressResponse out;
                     c.rpc().unsuppress(out, r);
                   }});
  calls.push_back({"unmerge", compliance, [](ApiClient& c, const std::string&) {
                     thrift::UnmergeRequest r;
                     r.token = c.token();
                     r.profile_id = std::string(32, '0');
                     r.identifier = Nobody().identifier;
                     r.reason = "ticket-4";
                     thrift::UnmergeResponse out;
                     c.rpc().unmerge(out, r);
                   }});
  calls.push_back({"mergeHistory", compliance, [](ApiClient& c, const std::string&) {
                     thrift::MergeHistoryRequest r;
                     r.token = c.token();
                     r.person = Nobody();
                     thrift::MergeHistoryResponse out;
                     c.rpc().mergeHistory(out, r);
                   }});
  calls.push_back({"putConversation", {R::kCx}, [](ApiClient& c, const std::string&) {
                     thrift::PutConversationRequest r;
                     r.token = c.token();
                     r.person = Nobody();
                     r.conversation_id = "conv-perm";
                     r.channel = "chat";
                     r.state = {{"step", "1"}};
                     thrift::PutConversationResponse out;
                     c.rpc().putConversation(out, r);
                   }});
  calls.push_back({"closeConversation", {R::kCx}, [](ApiClient& c, const std::string&) {
                     thrift::CloseConversationRequest r;
                     r.token = c.token();
                     r.person = Nobody();
                     r.conversation_id = "conv-perm";
                     thrift::CloseConversationResponse out;
                     c.rpc().closeConversation(out, r);
                   }});
  calls.push_back({"auditLog", compliance, [](ApiClient& c, const std::string&) {
                     thrift::AuditLogRequest r;
                     r.token = c.token();
                     thrift::AuditLogResponse out;
                     c.rpc().auditLog(out, r);
                   }});
  calls.push_back({"verifyAudit", compliance, [](ApiClient& c, const std::string&) {
                     thrift::VerifyAuditRequest r;
                     r.token = c.token();
                     thrift::VerifyAuditResponse out;
                     c.rpc().verifyAudit(out, r);
                   }});
  calls.push_back({"rotateKeys", {}, [](ApiClient& c, const std::string&) {
                     thrift::RotateKeysRequest r;
                     r.token = c.token();
                     r.reason = "ticket-5";
                     thrift::RotateKeysResponse out;
                     c.rpc().rotateKeys(out, r);
                   }});
  calls.push_back({"backup", {}, [](ApiClient& c, const std::string& scratch) {
                     thrift::BackupRequest r;
                     r.token = c.token();
                     r.directory = scratch;
                     thrift::BackupResponse out;
                     c.rpc().backup(out, r);
                   }});
  calls.push_back({"stats", {}, [](ApiClient& c, const std::string&) {
                     thrift::StatsRequest r;
                     r.token = c.token();
                     thrift::StatsResponse out;
                     c.rpc().stats(out, r);
                   }});
  return calls;
}

// Who calls: a configured role, or a token the server does not know.
struct Identity {
  std::string label;
  std::string token;
  std::optional<TestRole> role;  // nullopt: must be UNAUTHENTICATED
};

std::vector<Identity> AllIdentities() {
  std::vector<Identity> all;
  for (TestRole role : kAllTestRoles) {
    all.push_back({ServerProcess::RoleName(role), ServerProcess::TokenFor(role), role});
  }
  all.push_back({"wrong token", "e2e-not-a-configured-token", std::nullopt});
  all.push_back({"empty token", "", std::nullopt});
  return all;
}

std::string CodeName(std::optional<Code> code) {
  if (!code.has_value()) return "success";
  auto it = thrift::_ErrorCode_VALUES_TO_NAMES.find(*code);
  return it == thrift::_ErrorCode_VALUES_TO_NAMES.end() ? absl::StrCat("code ", *code) : it->second;
}

TEST(E2ePermissionsTest, EveryCallChecksTheCallersRole) {
  CDP_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start());
  const std::vector<CallCase> calls = AllCalls();
  ASSERT_EQ(calls.size(), 17u) << "every call of the IDL but health (tested below)";
  int backups = 0;
  for (const Identity& who : AllIdentities()) {
    CDP_ASSERT_OK_AND_ASSIGN(auto client, server->Connect(who.token));
    for (const CallCase& call : calls) {
      SCOPED_TRACE(absl::StrCat(call.name, " as ", who.label));
      const std::string scratch = server->ScratchPath(absl::StrCat("backup-", ++backups));
      std::optional<Code> code;
      try {
        code = ErrorCodeOf([&] { call.call(*client, scratch); });
      } catch (const apache::thrift::TException& e) {
        FAIL() << "not a CdpError: " << e.what();
      }
      if (!who.role.has_value()) {
        EXPECT_EQ(code, thrift::ErrorCode::UNAUTHENTICATED) << CodeName(code);
      } else if (*who.role == TestRole::kAdmin || call.allowed.count(*who.role) > 0) {
        EXPECT_THAT(code, ::testing::Not(AnyOf(Eq(thrift::ErrorCode::PERMISSION_DENIED),
                                               Eq(thrift::ErrorCode::UNAUTHENTICATED))))
            << CodeName(code);
      } else {
        EXPECT_EQ(code, thrift::ErrorCode::PERMISSION_DENIED) << CodeName(code);
      }
    }
    // health answers everyone, whatever the token.
    thrift::HealthRequest health_request;
    health_request.token = who.token;
    thrift::HealthResponse health;
    EXPECT_EQ(ErrorCodeOf([&] { client->rpc().health(health, health_request); }), std::nullopt)
        << "health as " << who.label;
    EXPECT_EQ(health.status, "serving");
  }
  EXPECT_THAT(server->Stop(), IsOk());
}

TEST(E2ePermissionsTest, DeniedEraseByCxIsAuditedAsDenied) {
  CDP_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start());
  CDP_ASSERT_OK_AND_ASSIGN(auto cx, server->Connect(ServerProcess::TokenFor(TestRole::kCx)));
  thrift::EraseSubjectRequest erase;
  erase.token = cx->token();
  erase.person = Nobody();
  erase.reason = "not mine to erase";
  thrift::EraseSubjectResponse erased;
  EXPECT_EQ(ErrorCodeOf([&] { cx->rpc().eraseSubject(erased, erase); }),
            thrift::ErrorCode::PERMISSION_DENIED);

  CDP_ASSERT_OK_AND_ASSIGN(auto admin, server->Connect(ServerProcess::TokenFor(TestRole::kAdmin)));
  thrift::AuditLogRequest request;
  request.token = admin->token();
  thrift::AuditLogResponse log;
  admin->rpc().auditLog(log, request);
  int denied = 0;
  for (const thrift::AuditEntry& entry : log.entries) {
    if (entry.actor == ServerProcess::TokenName(TestRole::kCx) && entry.outcome == "denied") {
      EXPECT_THAT(entry.act, AnyOf(Eq("erase"), Eq("eraseSubject")));
      ++denied;
    }
  }
  EXPECT_EQ(denied, 1) << log.entries.size() << " audit entries";

  thrift::VerifyAuditRequest verify_request;
  verify_request.token = admin->token();
  thrift::VerifyAuditResponse verify;
  admin->rpc().verifyAudit(verify, verify_request);
  EXPECT_TRUE(verify.ok) << verify.problem;
  EXPECT_THAT(server->Stop(), IsOk());
}

TEST(E2ePermissionsTest, LocalAdminTokenFileIsPrivateAndGrantsAdmin) {
  CDP_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start());
  const std::string path = api::AdminTokenPath(server->data_dir());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0) << path;
  EXPECT_EQ(st.st_mode & 0777, 0600);
  CDP_ASSERT_OK_AND_ASSIGN(std::string token, api::ReadTokenFile(path));
  CDP_ASSERT_OK_AND_ASSIGN(auto admin, server->Connect(token));
  thrift::StatsRequest request;
  request.token = admin->token();
  thrift::StatsResponse stats;
  EXPECT_EQ(ErrorCodeOf([&] { admin->rpc().stats(stats, request); }), std::nullopt);
  EXPECT_THAT(server->Stop(), IsOk());
}

}  // namespace
}  // namespace cdp::testing
