#pragma once
// Stack: the whole storage, write path and read path of one store, wired from one set of options.
// The server builds one from its configuration; the offline subcommands of `cdp` build one with
// the embedded defaults (they open the store directly, so the server must not be running).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "consent/audit_log.h"
#include "consent/consent_ledger.h"
#include "consent/consent_options.h"
#include "consent/retention_policy.h"
#include "identity/identity_graph.h"
#include "identity/identity_options.h"
#include "identity/normalizer.h"
#include "ingest/context_reader.h"
#include "ingest/conversation_store.h"
#include "ingest/pipeline.h"
#include "rights/subject_rights.h"
#include "storage/store.h"

namespace cdp::api {

struct StackOptions {
  std::string data_dir = "./cdp-data";
  bool create_if_missing = true;  // create the store and its key file on first start
  identity::IdentityOptions identity;
  consent::ConsentOptions consent;
  size_t block_cache_bytes = size_t{256} << 20;
  uint32_t event_cache_percent = 50;  // storage::StoreOptions::event_cache_percent
  bool resident_index = true;         // storage::StoreOptions::resident_identifiers
  bool compress_events = true;        // ingest::PipelineOptions::compress_events
  ingest::ProfileDataLimits profile_limits;  // ingest::PipelineOptions::profile_limits
  bool mmap_reads = true;             // storage::StoreOptions::mmap_reads
  // storage::StoreOptions::data_key_cache_capacity
  size_t data_key_cache_keys = storage::DefaultDataKeyCacheCapacity();
  // ingest::ParserOptions::custom_identifier_paths, so that lookups mask them too.
  std::vector<ingest::CustomIdentifierPath> custom_identifier_paths;
  // RocksDB environment of the store (storage::StoreOptions::env); null = the default. Not owned:
  // it must outlive the stack. Only tests set it, to inject I/O faults under the whole server.
  rocksdb::Env* env = nullptr;
};

struct Stack {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<identity::Normalizer> normalizer;
  std::unique_ptr<identity::IdentityGraph> identity;
  std::unique_ptr<consent::ConsentLedger> consent;
  std::shared_ptr<consent::RetentionPolicy> retention;
  std::unique_ptr<ingest::ConversationStore> conversations;  // before the pipeline that uses it
  std::unique_ptr<ingest::Pipeline> pipeline;
  std::unique_ptr<ingest::ContextReader> reader;
  std::unique_ptr<consent::AuditLog> audit;
  std::unique_ptr<rights::SubjectRights> rights;

  // Opens the store at options.data_dir and wires every component; completes any erasure a crash
  // interrupted before returning.
  static absl::StatusOr<std::unique_ptr<Stack>> Open(const StackOptions& options);
};

}  // namespace cdp::api
