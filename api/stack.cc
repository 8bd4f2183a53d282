#include "api/stack.h"

#include "common/status_macros.h"

namespace cdp::api {

absl::StatusOr<std::unique_ptr<Stack>> Stack::Open(const StackOptions& options) {
  auto stack = std::make_unique<Stack>();
  stack->retention = std::make_shared<consent::RetentionPolicy>(options.consent.retention);
  storage::StoreOptions store_options;
  store_options.data_dir = options.data_dir;
  store_options.create_if_missing = options.create_if_missing;
  store_options.block_cache_bytes = options.block_cache_bytes;
  store_options.event_cache_percent = options.event_cache_percent;
  store_options.resident_identifiers = options.resident_index;
  store_options.mmap_reads = options.mmap_reads;
  store_options.data_key_cache_capacity = options.data_key_cache_keys;
  store_options.env = options.env;
  store_options.retention = stack->retention;
  CDP_ASSIGN_OR_RETURN(stack->store, storage::Store::Open(store_options));
  CDP_ASSIGN_OR_RETURN(stack->normalizer, identity::Normalizer::Create(options.identity));
  CDP_ASSIGN_OR_RETURN(stack->identity,
                       identity::IdentityGraph::Create(stack->store.get(), options.identity));
  CDP_ASSIGN_OR_RETURN(stack->consent,
                       consent::ConsentLedger::Create(stack->store.get(), options.consent));
  stack->conversations =
      std::make_unique<ingest::ConversationStore>(stack->store.get(), stack->identity.get());
  CDP_ASSIGN_OR_RETURN(stack->pipeline, ingest::Pipeline::Create({
                                            .store = stack->store.get(),
                                            .identity = stack->identity.get(),
                                            .normalizer = stack->normalizer.get(),
                                            .consent = stack->consent.get(),
                                            .conversations = stack->conversations.get(),
                                        },
                                        {.compress_events = options.compress_events,
                                         .profile_limits = options.profile_limits}));
  CDP_ASSIGN_OR_RETURN(ingest::IdentifierMasker masker,
                       ingest::IdentifierMasker::Create(options.custom_identifier_paths));
  stack->reader = std::make_unique<ingest::ContextReader>(
      stack->store.get(), stack->identity.get(), stack->consent.get(), stack->retention.get(),
      std::move(masker));
  CDP_ASSIGN_OR_RETURN(stack->audit, consent::AuditLog::Open(stack->store.get()));
  stack->rights = std::make_unique<rights::SubjectRights>(
      stack->store.get(), stack->identity.get(), stack->consent.get(), stack->audit.get());
  CDP_RETURN_IF_ERROR(stack->rights->ResumePendingErasures().status());
  return stack;
}

}  // namespace cdp::api
