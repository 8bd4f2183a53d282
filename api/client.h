#pragma once
// The client side of `cdp`: options shared by every client subcommand and the subcommands
// themselves (they talk to a running server over Thrift). Each Run* prints human-readable
// output (or JSON with `json`) and returns the process exit code:
//   0 ok, 1 error (printed to stderr, naming what went wrong), 2 some ingested records were
//   rejected (the rest applied), 3 not found, 4 audit chain broken.

#include <cstdint>
#include <string>
#include <vector>

#include "api/transport.h"

namespace cdp::api {

struct ClientOptions {
  std::string host = "127.0.0.1";
  int port = 7600;
  // Token; empty: read token_file, or else <data_dir>/admin.token (the local admin token).
  std::string token;
  std::string token_file;
  std::string data_dir = "./cdp-data";
  bool tls = false;
  ClientTlsOptions tls_options;
  int timeout_ms = 60000;
  bool json = false;  // machine-readable output
};

// `in_flight`: requests on their way at once, each on its own connection (1: one at a time, in
// input order; more: the server applies neighbouring requests in either order).
int RunIngest(const ClientOptions& options, const std::vector<std::string>& files,
              const std::string& mapping_path, int in_flight = 2);
int RunLookup(const ClientOptions& options, const std::string& who, const std::string& purpose,
              int max_events, const std::string& event_name);
int RunConsentGet(const ClientOptions& options, const std::string& who);
// `changes`: "purpose=granted|denied|true|false" each.
int RunConsentSet(const ClientOptions& options, const std::string& who,
                  const std::vector<std::string>& changes, const std::string& notice_version);
// Writes the export document to `output` ("-" = stdout).
int RunExport(const ClientOptions& options, const std::string& who, const std::string& reason,
              const std::string& output);
int RunErase(const ClientOptions& options, const std::string& who, const std::string& reason);
int RunUnsuppress(const ClientOptions& options, const std::string& identifier,
                  const std::string& reason);
int RunUnmerge(const ClientOptions& options, const std::string& profile,
               const std::string& identifier, const std::string& reason);
int RunMerges(const ClientOptions& options, const std::string& who);
int RunAuditList(const ClientOptions& options, const std::string& who, int64_t from_micros,
                 int64_t to_micros, int limit);
int RunAuditVerify(const ClientOptions& options);
int RunRotateKeys(const ClientOptions& options, const std::string& reason);
int RunBackup(const ClientOptions& options, const std::string& directory);
int RunStats(const ClientOptions& options);
int RunHealth(const ClientOptions& options);

}  // namespace cdp::api
