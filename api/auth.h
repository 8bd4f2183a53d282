#pragma once
// Authentication of API callers: a bearer token (known to the server only by its SHA-256) or the
// name on a verified TLS client certificate, mapped to a role by the configuration. Also the
// local administrator token that `cdp serve` creates in its data directory on first start, so
// the `cdp` command on the same host can call the server without any configuration.
//
// Token values are never logged or kept: only their hashes are compared (in constant time).
// Thread safety: Authenticator is immutable after construction; safe for concurrent use.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "api/server_config.h"

namespace cdp::api {

// Who is calling, as the audit log names them.
struct Caller {
  std::string name;  // token name or certificate name
  Role role = Role::kCx;
};

class Authenticator {
 public:
  Authenticator(std::vector<TokenEntry> tokens,
                std::vector<std::pair<std::string, Role>> certificate_roles);

  // A non-empty token must match a configured token (the certificate is then not consulted);
  // an empty token falls back to the first of `certificate_names` that is configured.
  // kUnauthenticated otherwise, without saying which part was wrong.
  absl::StatusOr<Caller> Authenticate(absl::string_view token,
                                      absl::Span<const std::string> certificate_names) const;

 private:
  std::vector<TokenEntry> tokens_;
  std::vector<std::pair<std::string, Role>> certificate_roles_;
};

// The name the local administrator token is known by in the audit log.
inline constexpr char kLocalAdminName[] = "local-admin";

// The local administrator token file inside a data directory.
std::string AdminTokenPath(const std::string& data_dir);

// Reads the token in `path`, creating it (32 random bytes as hex, mode 0600, written atomically)
// when it does not exist. Returns the token entry to add to the configured ones.
absl::StatusOr<TokenEntry> EnsureAdminToken(const std::string& path);

// Reads a token file (one line; surrounding whitespace ignored). kNotFound when absent.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

}  // namespace cdp::api
