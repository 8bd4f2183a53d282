#include "api/server_config.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/internal/module_config.h"
#include "api/server_config.pb.h"
#include "common/proc_status.h"
#include "common/status_macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace cdp::api {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kIntMax = std::numeric_limits<int32_t>::max();

using internal::FieldError;
using internal::ResolveConsent;
using internal::ResolveIdentity;
using internal::ResolveIngest;

// Keeps the first error (the parser stops there anyway), with 1-based line and column.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!error_.empty()) return;
    error_ = absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message);
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  std::string text;
  char buffer[16384];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n == 0) return text;
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
    }
    text.append(buffer, static_cast<size_t>(n));
  }
}

// The TLS files are loaded by the server later; checking them here makes a typo fail at start
// with the field name instead of at the first handshake.
absl::Status CheckReadable(const std::string& path, absl::string_view field) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return FieldError(field, text.status().message());
  if (text->empty()) return FieldError(field, absl::StrCat(path, " is empty"));
  return absl::OkStatus();
}

absl::StatusOr<Role> RoleField(const std::string& value, absl::string_view field) {
  if (value.empty()) return FieldError(field, "required (cx, ingest, compliance or admin)");
  std::optional<Role> role = ParseRole(value);
  if (!role) {
    return FieldError(field, absl::StrCat("unknown role \"", absl::CEscape(value),
                                          "\" (expected cx, ingest, compliance or admin)"));
  }
  return *role;
}

template <typename T>
absl::Status InRange(bool present, uint64_t value, uint64_t min, uint64_t max,
                     absl::string_view field, T* out) {
  if (!present) return absl::OkStatus();
  if (value < min || value > max) {
    return FieldError(field, absl::StrCat("must be in ", min, "..", max));
  }
  *out = static_cast<T>(value);
  return absl::OkStatus();
}

absl::Status ResolveAddress(const std::string& host, bool has_port, int32_t port,
                            absl::string_view field, ListenAddress* out) {
  if (!host.empty()) out->host = host;
  if (has_port && (port < 1 || port > 65535)) {
    return FieldError(absl::StrCat(field, ".port"), "must be in 1..65535");
  }
  if (has_port) out->port = port;
  return absl::OkStatus();
}

absl::Status ResolveTls(const pb::Tls& in, TlsSettings* out) {
  if (in.cert_file().empty() && !in.key_file().empty()) {
    return FieldError("tls.cert_file", "required when tls.key_file is set");
  }
  if (in.cert_file().empty() && !in.ca_file().empty()) {
    return FieldError("tls.cert_file", "required when tls.ca_file is set");
  }
  if (!in.cert_file().empty() && in.key_file().empty()) {
    return FieldError("tls.key_file", "required when tls.cert_file is set");
  }
  if (in.require_client_cert() && in.ca_file().empty()) {
    return FieldError("tls.require_client_cert", "requires tls.ca_file");
  }
  if (in.client_cert_roles_size() > 0 && !in.require_client_cert()) {
    return FieldError("tls.client_cert_roles", "requires tls.require_client_cert");
  }
  absl::flat_hash_map<std::string, int> seen;
  for (int i = 0; i < in.client_cert_roles_size(); ++i) {
    const pb::ClientCertRole& entry = in.client_cert_roles(i);
    const std::string field = absl::StrCat("tls.client_cert_roles[", i, "]");
    if (entry.name().empty()) return FieldError(absl::StrCat(field, ".name"), "required");
    if (auto [it, added] = seen.emplace(entry.name(), i); !added) {
      return FieldError(absl::StrCat(field, ".name"),
                        absl::StrCat("\"", absl::CEscape(entry.name()),
                                     "\" is already in tls.client_cert_roles[", it->second, "]"));
    }
    CDP_ASSIGN_OR_RETURN(Role role, RoleField(entry.role(), absl::StrCat(field, ".role")));
    out->client_cert_roles.emplace_back(entry.name(), role);
  }
  out->cert_file = in.cert_file();
  out->key_file = in.key_file();
  out->ca_file = in.ca_file();
  out->require_client_cert = in.require_client_cert();
  if (!out->cert_file.empty()) CDP_RETURN_IF_ERROR(CheckReadable(out->cert_file, "tls.cert_file"));
  if (!out->key_file.empty()) CDP_RETURN_IF_ERROR(CheckReadable(out->key_file, "tls.key_file"));
  if (!out->ca_file.empty()) CDP_RETURN_IF_ERROR(CheckReadable(out->ca_file, "tls.ca_file"));
  return absl::OkStatus();
}

bool IsTokenName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '@' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

absl::Status ResolveTokens(const google::protobuf::RepeatedPtrField<pb::Token>& in,
                           std::vector<TokenEntry>* out) {
  absl::flat_hash_map<std::string, int> names;
  absl::flat_hash_map<std::string, int> hashes;
  for (int i = 0; i < in.size(); ++i) {
    const pb::Token& token = in[i];
    const std::string field = absl::StrCat("tokens[", i, "]");
    if (!IsTokenName(token.name())) {
      return FieldError(absl::StrCat(field, ".name"), "must be [A-Za-z0-9_.@-]{1,64}");
    }
    if (auto [it, added] = names.emplace(token.name(), i); !added) {
      return FieldError(
          absl::StrCat(field, ".name"),
          absl::StrCat("duplicate name \"", token.name(), "\" (also tokens[", it->second, "])"));
    }
    bool hex_ok = token.sha256_hex().size() == 64;
    for (char c : token.sha256_hex()) {
      hex_ok = hex_ok && absl::ascii_isxdigit(static_cast<unsigned char>(c));
    }
    if (!hex_ok) return FieldError(absl::StrCat(field, ".sha256_hex"), "must be 64 hex characters");
    TokenEntry entry;
    const std::string digest = absl::HexStringToBytes(token.sha256_hex());
    std::memcpy(entry.sha256.data(), digest.data(), entry.sha256.size());
    if (auto [it, added] = hashes.emplace(digest, i); !added) {
      return FieldError(absl::StrCat(field, ".sha256_hex"),
                        absl::StrCat("the same hash as tokens[", it->second, "]"));
    }
    CDP_ASSIGN_OR_RETURN(entry.role, RoleField(token.role(), absl::StrCat(field, ".role")));
    entry.name = token.name();
    out->push_back(std::move(entry));
  }
  return absl::OkStatus();
}

absl::Status ResolveProfileLimits(const pb::Ingest& in, ingest::ProfileDataLimits* out) {
  constexpr uint64_t kMax = 1000000;
  CDP_RETURN_IF_ERROR(InRange(in.has_max_traits_per_profile(), in.max_traits_per_profile(), 1,
                              kMax, "ingest.max_traits_per_profile", &out->max_traits));
  CDP_RETURN_IF_ERROR(InRange(in.has_max_event_names_per_profile(),
                              in.max_event_names_per_profile(), 1, kMax,
                              "ingest.max_event_names_per_profile", &out->max_event_names));
  return InRange(in.has_max_groups_per_profile(), in.max_groups_per_profile(), 1, kMax,
                 "ingest.max_groups_per_profile", &out->max_groups);
}

absl::Status ResolveLimits(const pb::Limits& in, size_t max_batch_bytes, ServerLimits* out) {
  // Large enough by default for the largest batch plus the rest of the request.
  out->max_frame_bytes = std::max<size_t>(out->max_frame_bytes, max_batch_bytes + kMiB);
  if (in.has_max_frame_bytes() && in.max_frame_bytes() < max_batch_bytes + kMiB) {
    return FieldError("limits.max_frame_bytes",
                      absl::StrCat("must be at least ingest.max_batch_bytes + 1 MiB (",
                                   max_batch_bytes + kMiB, ")"));
  }
  CDP_RETURN_IF_ERROR(InRange(in.has_max_frame_bytes(), in.max_frame_bytes(), 1, kIntMax,
                              "limits.max_frame_bytes", &out->max_frame_bytes));
  out->max_string_bytes = out->max_frame_bytes;
  if (in.has_max_string_bytes() && in.max_string_bytes() < max_batch_bytes) {
    return FieldError(
        "limits.max_string_bytes",
        absl::StrCat("must be at least ingest.max_batch_bytes (", max_batch_bytes, ")"));
  }
  CDP_RETURN_IF_ERROR(InRange(in.has_max_string_bytes(), in.max_string_bytes(), 1,
                              out->max_frame_bytes, "limits.max_string_bytes",
                              &out->max_string_bytes));
  // Bounded: each element of a declared container may cost a struct's worth of memory before
  // the bytes behind it are read (a list of 2^26 structs grows Thrift 0.17 by gigabytes).
  CDP_RETURN_IF_ERROR(InRange(in.has_max_container_elements(), in.max_container_elements(), 1,
                              1'000'000, "limits.max_container_elements",
                              &out->max_container_elements));
  CDP_RETURN_IF_ERROR(InRange(in.has_recv_timeout_ms(), in.recv_timeout_ms(), 1, 3600000,
                              "limits.recv_timeout_ms", &out->recv_timeout_ms));
  CDP_RETURN_IF_ERROR(InRange(in.has_send_timeout_ms(), in.send_timeout_ms(), 1, 3600000,
                              "limits.send_timeout_ms", &out->send_timeout_ms));
  // At least 100 ms: a shorter deadline would drop ordinary frames split across packets.
  CDP_RETURN_IF_ERROR(InRange(in.has_frame_timeout_ms(), in.frame_timeout_ms(), 100, 3600000,
                              "limits.frame_timeout_ms", &out->frame_timeout_ms));
  CDP_RETURN_IF_ERROR(InRange(in.has_max_connections(), in.max_connections(), 1, 4096,
                              "limits.max_connections", &out->max_connections));
  CDP_RETURN_IF_ERROR(InRange(in.has_max_inflight_writes(), in.max_inflight_writes(), 1, 4096,
                              "limits.max_inflight_writes", &out->max_inflight_writes));
  return InRange(in.has_max_inflight_reads(), in.max_inflight_reads(), 1, 4096,
                 "limits.max_inflight_reads", &out->max_inflight_reads);
}

absl::StatusOr<ServerConfig> Resolve(const pb::ServerConfig& in) {
  ServerConfig config = DefaultServerConfig();
  if (!in.data_dir().empty()) config.data_dir = in.data_dir();
  CDP_RETURN_IF_ERROR(ResolveAddress(in.listen().host(), in.listen().has_port(), in.listen().port(),
                                     "listen", &config.listen));
  CDP_RETURN_IF_ERROR(ResolveAddress(in.metrics().host(), in.metrics().has_port(),
                                     in.metrics().port(), "metrics", &config.metrics));
  config.metrics_enabled = !in.metrics().disabled();
  auto wildcard = [](const std::string& host) { return host == "0.0.0.0" || host == "::"; };
  if (config.metrics_enabled && config.metrics.port == config.listen.port &&
      (config.metrics.host == config.listen.host || wildcard(config.metrics.host) ||
       wildcard(config.listen.host))) {
    return FieldError("metrics.port", "must differ from listen.port on the same host");
  }
  CDP_RETURN_IF_ERROR(ResolveTls(in.tls(), &config.tls));
  CDP_RETURN_IF_ERROR(ResolveTokens(in.tokens(), &config.tokens));
  CDP_RETURN_IF_ERROR(ResolveIdentity(in.identity(), &config.identity));
  CDP_RETURN_IF_ERROR(ResolveConsent(in.consent(), &config.consent));
  CDP_RETURN_IF_ERROR(ResolveIngest(in.ingest(), config.identity, &config.parser));
  CDP_RETURN_IF_ERROR(ResolveProfileLimits(in.ingest(), &config.profile_limits));
  CDP_RETURN_IF_ERROR(ResolveLimits(in.limits(), config.parser.max_batch_bytes, &config.limits));
  uint64_t cache_mib = DefaultBlockCacheBytes() / kMiB;
  CDP_RETURN_IF_ERROR(InRange(in.storage().has_block_cache_mib(), in.storage().block_cache_mib(), 1,
                              1 << 20, "storage.block_cache_mib", &cache_mib));
  config.block_cache_bytes = cache_mib * kMiB;
  uint64_t event_percent = config.event_cache_percent;
  CDP_RETURN_IF_ERROR(InRange(in.storage().has_event_cache_percent(),
                              in.storage().event_cache_percent(), 1, 99,
                              "storage.event_cache_percent", &event_percent));
  config.event_cache_percent = static_cast<uint32_t>(event_percent);
  if (in.storage().has_resident_index()) config.resident_index = in.storage().resident_index();
  if (in.storage().has_compress_events()) config.compress_events = in.storage().compress_events();
  if (in.storage().has_mmap_reads()) config.mmap_reads = in.storage().mmap_reads();
  CDP_RETURN_IF_ERROR(InRange(in.storage().has_data_key_cache_keys(),
                              in.storage().data_key_cache_keys(), 16, 1'000'000'000,
                              "storage.data_key_cache_keys", &config.data_key_cache_keys));
  return config;
}

}  // namespace

size_t DefaultBlockCacheBytes() {
  constexpr uint64_t kMin = uint64_t{64} << 20, kMax = uint64_t{64} << 30;
  const uint64_t memory = PhysicalMemoryBytes();
  if (memory == 0) return kMin;
  const uint64_t quarter = memory / 4;
  return static_cast<size_t>(std::clamp(quarter, kMin, kMax) & ~((uint64_t{1} << 20) - 1));
}

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kCx:
      return "cx";
    case Role::kIngest:
      return "ingest";
    case Role::kCompliance:
      return "compliance";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::optional<Role> ParseRole(absl::string_view name) {
  for (Role role : {Role::kCx, Role::kIngest, Role::kCompliance, Role::kAdmin}) {
    if (name == RoleName(role)) return role;
  }
  return std::nullopt;
}

bool RoleAllows(Role caller, Role needed) { return caller == Role::kAdmin || caller == needed; }

absl::StatusOr<ServerConfig> ParseServerConfig(absl::string_view text_proto) {
  pb::ServerConfig proto;
  FirstErrorCollector errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text_proto), &proto)) {
    return absl::InvalidArgumentError(errors.error().empty() ? "not a valid configuration"
                                                             : errors.error());
  }
  return Resolve(proto);
}

absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<ServerConfig> config = ParseServerConfig(*text);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

ServerConfig DefaultServerConfig() { return ServerConfig{}; }

}  // namespace cdp::api
