#pragma once
// The module sections of the server configuration (identity, consent, ingest) resolved into the
// module options over their defaults and validated, with errors naming the path in the file
// ("identity.max_merges_per_profile: must be at least 1"). Used by api/server_config.cc.

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/server_config.pb.h"
#include "consent/consent_options.h"
#include "identity/identity_options.h"
#include "ingest/ingest_options.h"

namespace cdp::api::internal {

// kInvalidArgument "field: problem".
inline absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// Each overrides the fields the section sets and runs the options' Validate().
absl::Status ResolveIdentity(const pb::Identity& in, identity::IdentityOptions* out);
absl::Status ResolveConsent(const pb::Consent& in, consent::ConsentOptions* out);
// Also checks that custom identifier paths name types `identity` knows.
absl::Status ResolveIngest(const pb::Ingest& in, const identity::IdentityOptions& identity,
                           ingest::ParserOptions* out);

}  // namespace cdp::api::internal
