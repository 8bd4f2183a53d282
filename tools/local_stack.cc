#include "tools/local_stack.h"

#include "common/status_macros.h"

namespace cdp::tools {

absl::StatusOr<std::unique_ptr<LocalStack>> LocalStack::Open(const std::string& data_dir,
                                                             bool create) {
  auto stack = std::make_unique<LocalStack>();
  identity::IdentityOptions identity_options;
  consent::ConsentOptions consent_options;
  stack->retention = std::make_shared<consent::RetentionPolicy>(consent_options.retention);
  storage::StoreOptions store_options;
  store_options.data_dir = data_dir;
  store_options.create_if_missing = create;
  store_options.block_cache_bytes = 64 << 20;
  store_options.retention = stack->retention;
  CDP_ASSIGN_OR_RETURN(stack->store, storage::Store::Open(store_options));
  CDP_ASSIGN_OR_RETURN(stack->normalizer, identity::Normalizer::Create(identity_options));
  CDP_ASSIGN_OR_RETURN(stack->identity,
                       identity::IdentityGraph::Create(stack->store.get(), identity_options));
  CDP_ASSIGN_OR_RETURN(stack->consent,
                       consent::ConsentLedger::Create(stack->store.get(), consent_options));
  CDP_ASSIGN_OR_RETURN(stack->pipeline, ingest::Pipeline::Create({
                                            .store = stack->store.get(),
                                            .identity = stack->identity.get(),
                                            .normalizer = stack->normalizer.get(),
                                            .consent = stack->consent.get(),
                                        }));
  stack->reader = std::make_unique<ingest::ContextReader>(
      stack->store.get(), stack->identity.get(), stack->consent.get(), stack->retention.get());
  CDP_ASSIGN_OR_RETURN(stack->audit, consent::AuditLog::Open(stack->store.get()));
  stack->rights = std::make_unique<rights::SubjectRights>(
      stack->store.get(), stack->identity.get(), stack->consent.get(), stack->audit.get());
  CDP_RETURN_IF_ERROR(stack->rights->ResumePendingErasures().status());
  return stack;
}

}  // namespace cdp::tools
