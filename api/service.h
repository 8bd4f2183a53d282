#pragma once
// The CdpService handler: authorizes every call by role, applies admission control, translates
// between the Thrift structs and the library, records per-call metrics, and audits what the
// compliance role does (and is refused).
//
// ServiceCore is shared by all connections; ConnectionHandler is created per connection (it
// knows the connection's TLS client certificate and keeps a parser of its own).
//
// Errors: every failure is a CdpError with a code and a message that names the problem but
// never an identifier or trait value. Unexpected exceptions become INTERNAL.
//
// Thread safety: ServiceCore is safe for concurrent use; a ConnectionHandler serves one
// connection (one call at a time).

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/auth.h"
#include "api/export_sessions.h"
#include "api/gen-cpp/CdpService.h"
#include "api/lookup_pool.h"
#include "api/metrics.h"
#include "api/server_config.h"
#include "api/stack.h"
#include "ingest/segment_parser.h"

namespace cdp::api {

namespace t = ::cdp::api::thrift;

// Every call of the service, in IDL order; indexes ServerMetrics.
enum class CallId : size_t {
  kGetContext,
  kGetContexts,
  kIngest,
  kSetConsent,
  kGetConsent,
  kExportSubject,
  kEraseSubject,
  kUnsuppress,
  kUnmerge,
  kMergeHistory,
  kPutConversation,
  kCloseConversation,
  kAuditLog,
  kVerifyAudit,
  kRotateKeys,
  kBackup,
  kStats,
  kHealth,
  kCount,
};

const char* CallName(CallId call);

// The roles that may make a call, as bits (1 << Role); admin may make every call.
using RoleSet = uint32_t;
constexpr RoleSet RoleBit(Role role) { return RoleSet{1} << static_cast<int>(role); }
inline bool RoleIn(Role role, RoleSet set) {
  return role == Role::kAdmin || (set & RoleBit(role)) != 0;
}
// "cx, compliance or admin".
std::string DescribeRoles(RoleSet set);
std::vector<std::string> AllCallNames();

// A person as a request names them: a normalized identifier or a profile id.
using PersonKey = std::variant<identity::Identifier, ProfileId>;

// Bounds the calls executing at once, by kind; a call over the bound is refused at once
// (OVERLOADED) instead of queueing without bound.
class Admission {
 public:
  enum class Kind { kRead, kWrite, kAlways };
  Admission(int max_reads, int max_writes) : max_reads_(max_reads), max_writes_(max_writes) {}
  // true: admitted; the caller must call Leave(kind) when done.
  bool TryEnter(Kind kind);
  void Leave(Kind kind);

 private:
  const int max_reads_;
  const int max_writes_;
  std::atomic<int> reads_{0};
  std::atomic<int> writes_{0};
};

class ServiceCore {
 public:
  // `stack` and `config` must outlive the core. Tokens: the configured ones plus `extra_tokens`
  // (the local administrator token).
  ServiceCore(Stack* stack, const ServerConfig* config, std::vector<TokenEntry> extra_tokens);

  Stack& stack() { return *stack_; }
  const ServerConfig& config() const { return *config_; }
  const Authenticator& auth() const { return auth_; }
  ServerMetrics& metrics() { return metrics_; }
  Admission& admission() { return admission_; }
  ExportSessions& exports() { return exports_; }
  // Threads that help one getContexts spread its lookups over the cores.
  LookupPool& lookups() { return lookups_; }
  absl::Time started() const { return started_; }

  // Set when the server starts shutting down: health says so, writes are refused.
  std::atomic<bool> shutting_down{false};
  std::atomic<int64_t> connections{0};

  // Counters and gauges for stats and /metrics (no personal data).
  std::vector<std::pair<std::string, int64_t>> Gauges();

 private:
  Stack* stack_;
  const ServerConfig* config_;
  Authenticator auth_;
  ServerMetrics metrics_;
  Admission admission_;
  ExportSessions exports_;
  absl::Time started_;
  LookupPool lookups_;  // last: its threads stop before the rest goes
};

class ConnectionHandler : public t::CdpServiceIf {
 public:
  // `transport` is the connection's socket (for its TLS client certificate); may be null.
  ConnectionHandler(ServiceCore* core,
                    std::shared_ptr<apache::thrift::transport::TTransport> transport);
  ~ConnectionHandler() override;

  void getContext(t::GetContextResponse& out, const t::GetContextRequest& request) override;
  void getContexts(t::GetContextsResponse& out, const t::GetContextsRequest& request) override;
  void ingest(t::IngestResponse& out, const t::IngestRequest& request) override;
  void setConsent(t::SetConsentResponse& out, const t::SetConsentRequest& request) override;
  void getConsent(t::GetConsentResponse& out, const t::GetConsentRequest& request) override;
  void exportSubject(t::ExportSubjectResponse& out,
                     const t::ExportSubjectRequest& request) override;
  void eraseSubject(t::EraseSubjectResponse& out, const t::EraseSubjectRequest& request) override;
  void unsuppress(t::UnsuppressResponse& out, const t::UnsuppressRequest& request) override;
  void unmerge(t::UnmergeResponse& out, const t::UnmergeRequest& request) override;
  void mergeHistory(t::MergeHistoryResponse& out, const t::MergeHistoryRequest& request) override;
  void putConversation(t::PutConversationResponse& out,
                       const t::PutConversationRequest& request) override;
  void closeConversation(t::CloseConversationResponse& out,
                         const t::CloseConversationRequest& request) override;
  void auditLog(t::AuditLogResponse& out, const t::AuditLogRequest& request) override;
  void verifyAudit(t::VerifyAuditResponse& out, const t::VerifyAuditRequest& request) override;
  void rotateKeys(t::RotateKeysResponse& out, const t::RotateKeysRequest& request) override;
  void backup(t::BackupResponse& out, const t::BackupRequest& request) override;
  void stats(t::StatsResponse& out, const t::StatsRequest& request) override;
  void health(t::HealthResponse& out, const t::HealthRequest& request) override;

 private:
  // Runs `body(caller)` as call `id`: authenticates `token`, checks that the caller's role is in
  // `allowed` (admin always is), admits the call, records metrics, turns a non-OK status into
  // CdpError. Refused compliance calls are audited. Defined in service_internal.h.
  template <typename Body>
  void Run(CallId id, const std::string& token, RoleSet allowed, Admission::Kind kind,
           Body&& body);

  const std::vector<std::string>& CertificateNames();
  ingest::SegmentParser& Parser();
  // Checks a PersonRef (exactly one of its fields set) and normalizes its identifier.
  absl::StatusOr<PersonKey> ParsePerson(const t::PersonRef& person);
  // Resolves a PersonRef to the person's current profile; kNotFound when nobody matches.
  absl::StatusOr<ProfileId> FindPerson(const t::PersonRef& person);
  // Like FindPerson, but an identifier nobody holds yet creates the person (in `batch`).
  // REQUIRES: the store's profile writer mutex held until `batch` is written.
  absl::StatusOr<ProfileId> FindOrCreatePerson(const t::PersonRef& person,
                                               storage::WriteBatch& batch);
  absl::StatusOr<identity::Identifier> Normalize(const t::Identifier& id);
  // The blind-index hash of the identifier `person` names, as bytes; empty when it names a
  // profile id. Records made through an identifier keep it, so that an unmerge gives them to
  // the profile that keeps the identifier (consent, conversations).
  absl::StatusOr<std::string> SubjectOf(const t::PersonRef& person);
  // The context of a person (nullopt: nobody matches); `key` receives the parsed person.
  // Thread-safe (getContexts calls it from the lookup pool): touches no per-connection state.
  absl::StatusOr<std::optional<ingest::PersonContext>> Read(const t::PersonRef& person,
                                                            const ingest::ContextRequest& request,
                                                            PersonKey* key);
  // Puts a lookup of the compliance role on the audit record (`found` null: a miss); no-op for
  // other roles.
  absl::Status AuditLookup(const PersonKey& key, const t::Context* found,
                           const ingest::ContextRequest& request, const Caller& caller);
  absl::Status AuditDenied(const Caller& caller, CallId id, const std::string& outcome);
  // Moves the context's strings into `out`. Thread-safe like Read.
  void FillContext(t::Context& out, ingest::PersonContext&& context, Role role);

  ServiceCore* core_;
  std::shared_ptr<apache::thrift::transport::TTransport> transport_;
  std::optional<std::vector<std::string>> certificate_names_;
  std::unique_ptr<ingest::SegmentParser> parser_;
};

// Creates a ConnectionHandler per connection.
class HandlerFactory : public t::CdpServiceIfFactory {
 public:
  explicit HandlerFactory(ServiceCore* core) : core_(core) {}
  t::CdpServiceIf* getHandler(const apache::thrift::TConnectionInfo& info) override;
  void releaseHandler(t::CdpServiceIf* handler) override;

 private:
  ServiceCore* core_;
};

// Throws the CdpError for a non-OK status (kNotFound -> NOT_FOUND, ...).
[[noreturn]] void ThrowStatus(const absl::Status& status);

}  // namespace cdp::api
