#pragma once
// The request structs of api/cdp.thrift, one per CdpService call, for the Thrift fuzz targets
// and their seed writer. CDP_FUZZ_THRIFT_CALLS(X) expands X(call, RequestType) once per call, in
// the order of the IDL's service; a target's selector byte indexes this list. A call added to
// the IDL must be added here (the seed writer writes one seed per entry).
//
// Also the server's decoding setup: its TConfiguration and protocol factory, built by
// api/transport.h from a default ServerLimits.

#include <memory>

#include <thrift/TConfiguration.h>
#include <thrift/protocol/TProtocol.h>

#include "api/gen-cpp/CdpService.h"
#include "api/gen-cpp/cdp_types.h"
#include "api/server_config.h"
#include "api/transport.h"

#define CDP_FUZZ_THRIFT_CALLS(X)                  \
  X(getContext, GetContextRequest)                \
  X(getContexts, GetContextsRequest)              \
  X(ingest, IngestRequest)                        \
  X(setConsent, SetConsentRequest)                \
  X(getConsent, GetConsentRequest)                \
  X(exportSubject, ExportSubjectRequest)          \
  X(eraseSubject, EraseSubjectRequest)            \
  X(unsuppress, UnsuppressRequest)                \
  X(unmerge, UnmergeRequest)                      \
  X(mergeHistory, MergeHistoryRequest)            \
  X(putConversation, PutConversationRequest)      \
  X(closeConversation, CloseConversationRequest)  \
  X(auditLog, AuditLogRequest)                    \
  X(verifyAudit, VerifyAuditRequest)              \
  X(rotateKeys, RotateKeysRequest)                \
  X(backup, BackupRequest)                        \
  X(stats, StatsRequest)                          \
  X(health, HealthRequest)

namespace cdp::fuzz {

#define CDP_FUZZ_COUNT_CALL(call, type) +1
inline constexpr int kThriftCallCount = 0 CDP_FUZZ_THRIFT_CALLS(CDP_FUZZ_COUNT_CALL);
#undef CDP_FUZZ_COUNT_CALL

// The server's limits, Thrift configuration and protocol factory (default configuration).
struct ServerDecoding {
  cdp::api::ServerLimits limits;
  std::shared_ptr<apache::thrift::TConfiguration> config =
      cdp::api::MakeThriftConfiguration(limits);
  std::shared_ptr<apache::thrift::protocol::TProtocolFactory> protocols =
      cdp::api::MakeProtocolFactory(limits);
};

inline const ServerDecoding& Decoding() {
  static const ServerDecoding* decoding = new ServerDecoding();
  return *decoding;
}

}  // namespace cdp::fuzz
