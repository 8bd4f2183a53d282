#include "api/auth.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/secret_file.h"

namespace cdp::api {

Authenticator::Authenticator(std::vector<TokenEntry> tokens,
                             std::vector<std::pair<std::string, Role>> certificate_roles)
    : tokens_(std::move(tokens)), certificate_roles_(std::move(certificate_roles)) {}

absl::StatusOr<Caller> Authenticator::Authenticate(
    absl::string_view token, absl::Span<const std::string> certificate_names) const {
  if (!token.empty()) {
    const crypto::Digest digest = crypto::Sha256(token);
    const absl::string_view presented(reinterpret_cast<const char*>(digest.data()), digest.size());
    // Compare against every entry so the time taken does not tell which one matched.
    const TokenEntry* match = nullptr;
    for (const TokenEntry& entry : tokens_) {
      const absl::string_view known(reinterpret_cast<const char*>(entry.sha256.data()),
                                    entry.sha256.size());
      if (crypto::ConstantTimeEquals(presented, known) && match == nullptr) match = &entry;
    }
    if (match != nullptr) return Caller{match->name, match->role};
    return absl::UnauthenticatedError("unknown token");
  }
  for (const std::string& name : certificate_names) {
    for (const auto& [configured, role] : certificate_roles_) {
      if (configured == name) return Caller{name, role};
    }
  }
  return absl::UnauthenticatedError(
      certificate_names.empty() ? "a token is required"
                                : "the client certificate is not mapped to a role");
}

std::string AdminTokenPath(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "admin.token").string();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (!std::filesystem::exists(path)) {
      return absl::NotFoundError(absl::StrCat("no token file at ", path));
    }
    return absl::PermissionDeniedError(absl::StrCat("cannot read token file ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(buffer.str()));
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat("empty token file ", path));
  return token;
}

absl::StatusOr<TokenEntry> EnsureAdminToken(const std::string& path) {
  auto token = ReadTokenFile(path);
  if (absl::IsNotFound(token.status())) {
    std::string fresh = absl::BytesToHexString(crypto::RandomBytes(32));
    if (absl::Status s = WriteSecretFile(path, absl::StrCat(fresh, "\n")); !s.ok()) return s;
    token = std::move(fresh);
  }
  if (!token.ok()) return token.status();
  TokenEntry entry{.name = kLocalAdminName, .role = Role::kAdmin};
  entry.sha256 = crypto::Sha256(*token);
  return entry;
}

}  // namespace cdp::api
