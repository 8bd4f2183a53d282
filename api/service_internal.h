#pragma once
// Shared by the service_*.cc files: the per-call wrapper and conversions between library types
// and Thrift structs. Not for use outside api/.

#include <string>

#include "absl/strings/str_cat.h"
#include "api/service.h"
#include "api/shed_status.h"
#include "common/logging.h"
#include "consent/consent_ledger.h"
#include "identity/identifier.h"
#include "ingest/context_reader.h"

namespace cdp::api {

inline constexpr RoleSet kCxRole = RoleBit(Role::kCx);
inline constexpr RoleSet kIngestRole = RoleBit(Role::kIngest);
inline constexpr RoleSet kComplianceRole = RoleBit(Role::kCompliance);
inline constexpr RoleSet kAdminOnly = 0;

// Calls of the compliance role whose refusals are audited.
bool IsAuditedCall(CallId id);

// May `role` see identifier values in full? (compliance and admin; cx sees masked values)
inline bool SeesIdentifiers(Role role) {
  return role == Role::kCompliance || role == Role::kAdmin;
}

t::IdentifierView ToThrift(const identity::Identifier& id, Role role);
void ToThrift(const consent::ConsentState& state, std::vector<t::PurposeState>* out);
void ConversationToThrift(const ingest::ConversationView& conversation, t::Conversation* out);

template <typename Body>
void ConnectionHandler::Run(CallId id, const std::string& token, RoleSet allowed,
                            Admission::Kind kind, Body&& body) {
  const absl::Time start = absl::Now();
  CallResult result = CallResult::kOk;
  auto finish = [&] {
    core_->metrics().Record(static_cast<size_t>(id),
                            absl::ToInt64Microseconds(absl::Now() - start), result);
  };
  try {
    auto caller = core_->auth().Authenticate(token, CertificateNames());
    if (!caller.ok()) ThrowStatus(caller.status());
    if (!RoleIn(caller->role, allowed)) {
      if (IsAuditedCall(id)) (void)AuditDenied(*caller, id, "denied");
      ThrowStatus(absl::PermissionDeniedError(
          absl::StrCat(CallName(id), " needs the ", DescribeRoles(allowed), " role; ",
                       caller->name, " has ", RoleName(caller->role))));
    }
    if (kind == Admission::Kind::kWrite && core_->shutting_down.load()) {
      ThrowStatus(absl::UnavailableError("the server is shutting down"));
    }
    if (!core_->admission().TryEnter(kind)) {
      result = CallResult::kShed;
      ThrowStatus(ShedError("overloaded, retry later"));
    }
    struct Leave {
      Admission& admission;
      Admission::Kind kind;
      ~Leave() { admission.Leave(kind); }
    } leave{core_->admission(), kind};
    absl::Status status = body(*caller);
    if (!status.ok()) ThrowStatus(status);
  } catch (const t::CdpError&) {
    if (result == CallResult::kOk) result = CallResult::kError;
    finish();
    throw;
  } catch (const std::exception& e) {
    result = CallResult::kError;
    finish();
    LogError("api", absl::StrCat(CallName(id), " failed: unexpected exception: ", e.what()));
    t::CdpError error;
    error.code = t::ErrorCode::INTERNAL;
    error.message = "internal error";
    throw error;
  }
  finish();
}

}  // namespace cdp::api
