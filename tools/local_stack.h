#pragma once
// The whole storage and write/read path of one store, wired with the embedded defaults, for the
// offline subcommands of `cdp` (they open the store directly, so the server must not be running).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "consent/consent_ledger.h"
#include "consent/retention_policy.h"
#include "identity/identity_graph.h"
#include "identity/normalizer.h"
#include "ingest/context_reader.h"
#include "ingest/pipeline.h"
#include "rights/subject_rights.h"
#include "storage/store.h"

namespace cdp::tools {

struct LocalStack {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<identity::Normalizer> normalizer;
  std::unique_ptr<identity::IdentityGraph> identity;
  std::unique_ptr<consent::ConsentLedger> consent;
  std::shared_ptr<consent::RetentionPolicy> retention;
  std::unique_ptr<ingest::Pipeline> pipeline;
  std::unique_ptr<ingest::ContextReader> reader;
  std::unique_ptr<consent::AuditLog> audit;
  std::unique_ptr<rights::SubjectRights> rights;

  // Opens (creating when `create`) the store at `data_dir` with default options, and completes
  // any erasure a crash interrupted.
  static absl::StatusOr<std::unique_ptr<LocalStack>> Open(const std::string& data_dir,
                                                          bool create);
};

}  // namespace cdp::tools
