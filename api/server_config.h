#pragma once
// ServerConfig: everything `cdp serve` needs to start, resolved from the configuration file
// (Protobuf text format, schema api/server_config.proto, example docs/cdp.conf.example) or from the
// embedded default. Parsing fills in every default and validates the whole file, including the
// module options (IdentityOptions, ConsentOptions, ParserOptions) and the TLS files, so that an
// invalid configuration fails at start with the field path and the reason:
//
//   /etc/cdp.conf: tokens[0].role: unknown role "boss" (expected cx, ingest, compliance or admin)
//
// Errors never quote a token hash. Thread safety: plain values and free functions.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "consent/consent_options.h"
#include "identity/identity_options.h"
#include "ingest/ingest_options.h"
#include "ingest/profile_data.h"
#include "storage/store.h"

namespace cdp::api {

// What a caller may do (DESIGN.md "API over Thrift"): cx reads context, ingest writes events,
// compliance handles consent and subject rights and reads the audit log, admin does everything.
enum class Role { kCx, kIngest, kCompliance, kAdmin };

// "cx", "ingest", "compliance", "admin".
absl::string_view RoleName(Role role);
// The inverse of RoleName (exact, lower case); nullopt for anything else.
std::optional<Role> ParseRole(absl::string_view name);
// True when a caller holding `caller` may make a call that needs `needed`: admin may make every
// call, the other roles only their own.
bool RoleAllows(Role caller, Role needed);

// An API token, known only by its SHA-256.
struct TokenEntry {
  std::string name;  // the audit actor
  std::array<uint8_t, 32> sha256{};
  Role role = Role::kCx;
};

struct TlsSettings {
  bool enabled() const { return !cert_file.empty(); }

  // PEM files; empty = not configured. When enabled, cert_file and key_file are set and were
  // readable when the configuration was parsed.
  std::string cert_file;
  std::string key_file;
  std::string ca_file;  // CAs of client certificates
  // Mutual TLS: a client must present a certificate signed by ca_file (then set).
  bool require_client_cert = false;
  // Client certificate name (subject CN or DNS SAN) -> role, names unique, in file order.
  std::vector<std::pair<std::string, Role>> client_cert_roles;
};

struct ListenAddress {
  std::string host;
  int port = 0;
};

// Transport limits of the Thrift server. Each is in 1..INT32_MAX once validated.
struct ServerLimits {
  // Largest frame, bytes; at least parser.max_batch_bytes + 1 MiB. Default 16 MiB, or
  // parser.max_batch_bytes + 1 MiB when that is larger.
  size_t max_frame_bytes = size_t{16} << 20;
  // Largest string or binary field, bytes; at most max_frame_bytes, at least
  // parser.max_batch_bytes. Default max_frame_bytes.
  size_t max_string_bytes = size_t{16} << 20;
  // Most elements in one container, 1..1000000. Default 100000.
  size_t max_container_elements = 100000;
  // Socket receive and send timeouts, ms, at most one hour. Default 30 s each.
  int recv_timeout_ms = 30000;
  int send_timeout_ms = 30000;
  // Longest time to receive one frame (or a TLS handshake) once its first byte arrived, ms,
  // 100..3600000. Default 10 s.
  int frame_timeout_ms = 10000;
  // Concurrent connections, at most 4096. Default 64.
  int max_connections = 64;
  // Calls executing at once, by kind. Defaults 4 writes, 64 reads.
  int max_inflight_writes = 4;
  int max_inflight_reads = 64;
};

// The block cache when the configuration sets none: a quarter of the machine's physical memory,
// at least 64 MiB and at most 64 GiB. RocksDB fills it as blocks are read, so an idle or small
// store never takes it all; a lookup that misses it pays a pread and a block decode
// (docs/performance.md measured 28% of server CPU in cache misses with a cache 8x too small).
size_t DefaultBlockCacheBytes();

// The in-class defaults are the embedded default configuration.
struct ServerConfig {
  std::string data_dir = "./cdp-data";
  ListenAddress listen{"127.0.0.1", 7600};
  ListenAddress metrics{"127.0.0.1", 7601};
  bool metrics_enabled = true;
  TlsSettings tls;
  // Unique names and hashes. Empty is valid: the server then decides how to authenticate its
  // local administrator.
  std::vector<TokenEntry> tokens;
  ServerLimits limits;
  identity::IdentityOptions identity;
  consent::ConsentOptions consent;
  ingest::ParserOptions parser;  // `clock` is left null
  size_t block_cache_bytes = DefaultBlockCacheBytes();
  uint32_t event_cache_percent = 50;
  bool resident_index = true;  // storage::StoreOptions::resident_identifiers
  bool compress_events = true;  // ingest::PipelineOptions::compress_events
  bool mmap_reads = true;       // storage::StoreOptions::mmap_reads
  size_t data_key_cache_keys = storage::DefaultDataKeyCacheCapacity();  // StoreOptions's
  ingest::ProfileDataLimits profile_limits;  // ingest::PipelineOptions::profile_limits
};

// Parses a configuration in Protobuf text format. Returns kInvalidArgument with
// "line L column C: message" (both 1-based) for a syntax error or an unknown field, and with
// "field.path: reason" for an invalid value, an inconsistency between fields, or a TLS file that
// cannot be read. Empty text yields DefaultServerConfig().
absl::StatusOr<ServerConfig> ParseServerConfig(absl::string_view text_proto);

// Reads and parses the file at `path`. A parse or validation error is ParseServerConfig's with
// "<path>: " in front; a file that cannot be read gives "cannot read <path>: <reason>" with the
// code matching errno (kNotFound, kPermissionDenied...).
absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path);

// What `cdp serve` runs on without a configuration file: data under ./cdp-data, API on
// 127.0.0.1:7600, metrics on 127.0.0.1:7601, no TLS, no tokens, the module defaults.
ServerConfig DefaultServerConfig();

}  // namespace cdp::api
