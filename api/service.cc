// ServiceCore, the per-call wrapper (authentication, roles, admission, metrics, errors) and the
// helpers every call shares. The calls themselves are in service_*.cc.

#include "api/service.h"

#include <thrift/transport/TTransport.h>

#include "absl/strings/str_cat.h"
#include "api/service_internal.h"
#include "api/transport.h"
#include "common/logging.h"
#include "common/proc_status.h"

namespace cdp::api {

namespace {

constexpr const char* kCallNames[] = {
    "getContext",   "getContexts", "ingest",          "setConsent",        "getConsent",
    "exportSubject", "eraseSubject", "unsuppress",    "unmerge",           "mergeHistory",
    "putConversation", "closeConversation", "auditLog", "verifyAudit",     "rotateKeys",
    "backup",       "stats",       "health",
};
static_assert(std::size(kCallNames) == static_cast<size_t>(CallId::kCount));

t::ErrorCode::type CodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return t::ErrorCode::INVALID_ARGUMENT;
    case absl::StatusCode::kUnauthenticated:
      return t::ErrorCode::UNAUTHENTICATED;
    case absl::StatusCode::kPermissionDenied:
      return t::ErrorCode::PERMISSION_DENIED;
    case absl::StatusCode::kNotFound:
      return t::ErrorCode::NOT_FOUND;
    case absl::StatusCode::kAlreadyExists:
      return t::ErrorCode::ALREADY_EXISTS;
    case absl::StatusCode::kResourceExhausted:  // not shed (IsShed): storage is full
    case absl::StatusCode::kUnavailable:
      return t::ErrorCode::UNAVAILABLE;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kCancelled:
      return t::ErrorCode::FAILED_PRECONDITION;
    default:
      return t::ErrorCode::INTERNAL;
  }
}

}  // namespace

// Calls of the compliance role whose refusals are audited.
bool IsAuditedCall(CallId id) {
  switch (id) {
    case CallId::kExportSubject:
    case CallId::kEraseSubject:
    case CallId::kUnsuppress:
    case CallId::kUnmerge:
    case CallId::kAuditLog:
    case CallId::kVerifyAudit:
    case CallId::kSetConsent:
    case CallId::kGetConsent:
    case CallId::kRotateKeys:
    case CallId::kBackup:
      return true;
    default:
      return false;
  }
}

std::string DescribeRoles(RoleSet set) {
  std::string out;
  for (Role role : {Role::kCx, Role::kIngest, Role::kCompliance}) {
    if (set & RoleBit(role)) absl::StrAppend(&out, RoleName(role), ", ");
  }
  if (out.empty()) return "admin";
  out.resize(out.size() - 2);
  return absl::StrCat(out, " or admin");
}

const char* CallName(CallId call) { return kCallNames[static_cast<size_t>(call)]; }

std::vector<std::string> AllCallNames() {
  return std::vector<std::string>(std::begin(kCallNames), std::end(kCallNames));
}

void ThrowStatus(const absl::Status& status) {
  t::CdpError error;
  error.code = IsShed(status) ? t::ErrorCode::OVERLOADED : CodeFor(status.code());
  error.message = std::string(status.message());
  if (error.code == t::ErrorCode::INTERNAL) {
    LogError("api", absl::StrCat("internal error: ", status.ToString()));
  }
  throw error;
}

bool Admission::TryEnter(Kind kind) {
  if (kind == Kind::kAlways) return true;
  std::atomic<int>& in_flight = kind == Kind::kRead ? reads_ : writes_;
  const int max = kind == Kind::kRead ? max_reads_ : max_writes_;
  if (in_flight.fetch_add(1, std::memory_order_acq_rel) >= max) {
    in_flight.fetch_sub(1, std::memory_order_acq_rel);
    return false;
  }
  return true;
}

void Admission::Leave(Kind kind) {
  if (kind == Kind::kAlways) return;
  (kind == Kind::kRead ? reads_ : writes_).fetch_sub(1, std::memory_order_acq_rel);
}

ServiceCore::ServiceCore(Stack* stack, const ServerConfig* config,
                         std::vector<TokenEntry> extra_tokens)
    : stack_(stack),
      config_(config),
      auth_(
          [&] {
            std::vector<TokenEntry> tokens = config->tokens;
            for (auto& t : extra_tokens) tokens.push_back(std::move(t));
            return tokens;
          }(),
          config->tls.client_cert_roles),
      metrics_(AllCallNames()),
      admission_(config->limits.max_inflight_reads, config->limits.max_inflight_writes),
      started_(absl::Now()) {}

std::vector<std::pair<std::string, int64_t>> ServiceCore::Gauges() {
  std::vector<std::pair<std::string, int64_t>> gauges;
  gauges.emplace_back("connections", connections.load());
  gauges.emplace_back("export_sessions", static_cast<int64_t>(exports_.active()));
  gauges.emplace_back("uptime_seconds",
                      absl::ToInt64Seconds(absl::Now() - started_));
  // With mapped reads the resident size counts the store's mapped pages (page cache): the
  // server's own memory is the anonymous part. -1 where /proc/self/status cannot say.
  gauges.emplace_back("process_anon_memory_bytes", ProcStatusBytes("RssAnon").value_or(-1));
  gauges.emplace_back("process_file_memory_bytes", ProcStatusBytes("RssFile").value_or(-1));
  // Lookups that waited for the disk: pages of mapped SST files the page cache no longer held.
  gauges.emplace_back("process_major_faults", static_cast<int64_t>(ProcessMajorFaults()));
  const identity::IdentityCounters ids = stack_->identity->counters();
  gauges.emplace_back("identity_profiles_created", static_cast<int64_t>(ids.created));
  gauges.emplace_back("identity_merges", static_cast<int64_t>(ids.merges));
  gauges.emplace_back("identity_cap_hits", static_cast<int64_t>(ids.cap_hits));
  gauges.emplace_back("identity_dropped_by_limit", static_cast<int64_t>(ids.dropped_by_limit));
  gauges.emplace_back("identity_suppressed", static_cast<int64_t>(ids.suppressed));
  const ingest::Pipeline::Compression compression = stack_->pipeline->compression();
  gauges.emplace_back("ingest_value_dictionary", compression.dictionary);
  gauges.emplace_back("ingest_event_json_ratio_permille",
                      static_cast<int64_t>(compression.last_ratio * 1000));
  if (auto stats = stack_->store->Stats(); stats.ok()) {
    for (storage::Family family : storage::kAllFamilies) {
      gauges.emplace_back(
          absl::StrCat("store_estimated_records_", storage::FamilyName(family)),
          static_cast<int64_t>(stats->estimated_keys[static_cast<size_t>(family)]));
    }
    gauges.emplace_back("store_live_sst_bytes", static_cast<int64_t>(stats->live_sst_bytes));
    gauges.emplace_back("store_memtable_bytes", static_cast<int64_t>(stats->memtable_bytes));
    gauges.emplace_back("store_block_cache_bytes",
                        static_cast<int64_t>(stats->block_cache_usage_bytes));
    gauges.emplace_back("store_recovering", stats->recovering ? 1 : 0);
    gauges.emplace_back("store_reopens", static_cast<int64_t>(stats->reopens));
    gauges.emplace_back("store_group_commit_writes",
                        static_cast<int64_t>(stats->group_commit_writes));
    gauges.emplace_back("store_group_commit_syncs",
                        static_cast<int64_t>(stats->group_commit_syncs));
    gauges.emplace_back("store_resident_index_enabled", stats->resident_index_enabled ? 1 : 0);
    gauges.emplace_back("store_resident_index_entries",
                        static_cast<int64_t>(stats->resident_index_entries));
    gauges.emplace_back("store_resident_index_bytes",
                        static_cast<int64_t>(stats->resident_index_bytes));
    gauges.emplace_back("store_data_key_cache_keys",
                        static_cast<int64_t>(stats->data_key_cache_keys));
    gauges.emplace_back("store_data_key_cache_capacity",
                        static_cast<int64_t>(stats->data_key_cache_capacity));
    gauges.emplace_back("store_data_key_vault_reads",
                        static_cast<int64_t>(stats->data_key_vault_reads));
  }
  return gauges;
}

ConnectionHandler::ConnectionHandler(
    ServiceCore* core, std::shared_ptr<apache::thrift::transport::TTransport> transport)
    : core_(core), transport_(std::move(transport)) {
  core_->connections.fetch_add(1);
}

ConnectionHandler::~ConnectionHandler() { core_->connections.fetch_sub(1); }

const std::vector<std::string>& ConnectionHandler::CertificateNames() {
  if (!certificate_names_.has_value()) {
    certificate_names_ = PeerCertificateNames(transport_.get());
  }
  return *certificate_names_;
}

ingest::SegmentParser& ConnectionHandler::Parser() {
  if (parser_ == nullptr) {
    auto parser = ingest::SegmentParser::Create(core_->config().parser);
    if (!parser.ok()) ThrowStatus(parser.status());
    parser_ = *std::move(parser);
  }
  return *parser_;
}

absl::Status ConnectionHandler::AuditDenied(const Caller& caller, CallId id,
                                            const std::string& outcome) {
  return core_->stack()
      .audit
      ->Append({.actor = caller.name, .act = CallName(id), .outcome = outcome})
      .status();
}

absl::StatusOr<identity::Identifier> ConnectionHandler::Normalize(const t::Identifier& id) {
  return identity::ToStatusOr(core_->stack().normalizer->Normalize(id.type, id.value));
}

absl::StatusOr<std::string> ConnectionHandler::SubjectOf(const t::PersonRef& person) {
  if (!person.__isset.identifier || person.__isset.profile_id) return std::string();
  auto id = Normalize(person.identifier);
  if (!id.ok()) return id.status();
  const crypto::Digest hash = core_->stack().store->blind_index().Hash(id->type, id->value);
  return std::string(hash.begin(), hash.end());
}

absl::StatusOr<PersonKey> ConnectionHandler::ParsePerson(const t::PersonRef& person) {
  if (person.__isset.identifier == person.__isset.profile_id) {
    return absl::InvalidArgumentError("person: set exactly one of identifier and profile_id");
  }
  if (person.__isset.identifier) {
    auto id = Normalize(person.identifier);
    if (!id.ok()) return id.status();
    return PersonKey(*std::move(id));
  }
  auto profile = ProfileId::FromHex(person.profile_id);
  if (!profile.ok()) {
    return absl::InvalidArgumentError("person.profile_id: expected 32 hex characters");
  }
  return PersonKey(*profile);
}

absl::StatusOr<ProfileId> ConnectionHandler::FindPerson(const t::PersonRef& person) {
  auto key = ParsePerson(person);
  if (!key.ok()) return key.status();
  auto found = std::holds_alternative<ProfileId>(*key)
                   ? core_->stack().identity->CurrentProfile(std::get<ProfileId>(*key))
                   : core_->stack().identity->FindProfile(std::get<identity::Identifier>(*key));
  if (!found.ok()) return found.status();
  if (!found->has_value()) return absl::NotFoundError("no person matches");
  return **found;
}

t::CdpServiceIf* HandlerFactory::getHandler(const apache::thrift::TConnectionInfo& info) {
  return new ConnectionHandler(core_, info.transport);
}

void HandlerFactory::releaseHandler(t::CdpServiceIf* handler) { delete handler; }

}  // namespace cdp::api
