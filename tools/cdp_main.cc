// The `cdp` command: `cdp serve` runs the server; every other subcommand is a client that talks
// to a running server over Thrift (by default 127.0.0.1:7600 with the local admin token from
// ./cdp-data/admin.token).

#include <csignal>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "api/client.h"
#include "tools/serve_command.h"

int main(int argc, char** argv) {
  // A server that drops a connection must not kill the client (or the server) with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"cdp: real-time customer data platform"};
  app.require_subcommand(1);

  // serve
  cdp::tools::ServeFlags serve_flags;
  auto* serve = app.add_subcommand("serve", "Run the server (embedded defaults without --config)");
  serve->add_option("--config", serve_flags.config_path, "Configuration file (Protobuf text)");
  serve->add_option("--data-dir", serve_flags.data_dir, "Store directory (overrides the config)");
  serve->add_option("--port", serve_flags.port, "API port (0: any free port)");
  serve->add_option("--metrics-port", serve_flags.metrics_port, "Prometheus port (0: any)");
  serve->add_flag("--demo", serve_flags.demo, "Load the bundled sample feed into a new store");

  // Options every client subcommand shares.
  cdp::api::ClientOptions client;
  auto add_client = [&](CLI::App* sub) {
    sub->add_option("--host", client.host, "Server host")->capture_default_str();
    sub->add_option("--port", client.port, "Server port")->capture_default_str();
    sub->add_option("--token", client.token, "API token (default: the local admin token)");
    sub->add_option("--token-file", client.token_file, "File holding the API token");
    sub->add_option("--data-dir", client.data_dir, "Local server's data dir (for its admin token)")
        ->capture_default_str();
    sub->add_flag("--tls", client.tls, "Connect with TLS");
    sub->add_option("--ca", client.tls_options.ca_file, "CA file for the server certificate");
    sub->add_option("--cert", client.tls_options.cert_file, "Client certificate (mutual TLS)");
    sub->add_option("--key", client.tls_options.key_file, "Client key (mutual TLS)");
    sub->add_option("--timeout-ms", client.timeout_ms, "Per-call timeout")->capture_default_str();
    sub->add_flag("--json", client.json, "Machine-readable output");
    return sub;
  };

  std::vector<std::string> files;
  std::string mapping;
  auto* ingest = add_client(app.add_subcommand(
      "ingest", "Ingest NDJSON, {\"batch\": [...]} or CSV files (- for stdin)"));
  ingest->add_option("files", files, "Input files")->required();
  ingest->add_option("--mapping", mapping, "CSV column mapping (JSON); makes the inputs CSV");
  int in_flight = 2;
  ingest->add_option("--in-flight", in_flight,
                     "Requests on their way at once (1: applied in input order)")
      ->check(CLI::Range(1, 8))
      ->capture_default_str();

  std::string who, purpose, event_name;
  int max_events = 20;
  auto* lookup = add_client(app.add_subcommand("lookup", "Show a person's context for a purpose"));
  lookup->add_option("who", who, "type=value (email=ann@example.com) or a profile id")
      ->required();
  lookup->add_option("--purpose", purpose, "Purpose of the lookup (support, marketing...)")
      ->required();
  lookup->add_option("--events", max_events, "Last events to show")->capture_default_str();
  lookup->add_option("--event-name", event_name, "Only events of this name");

  auto* consent = app.add_subcommand("consent", "Consent of a person");
  consent->require_subcommand(1);
  auto* consent_get = add_client(consent->add_subcommand("get", "State and ledger"));
  consent_get->add_option("who", who, "type=value or a profile id")->required();
  std::vector<std::string> changes;
  std::string notice;
  auto* consent_set = add_client(consent->add_subcommand(
      "set", "Record answers: cdp consent set email=a@b.c marketing=denied support=granted"));
  consent_set->add_option("who", who, "type=value or a profile id")->required();
  consent_set->add_option("changes", changes, "purpose=granted|denied")->required();
  consent_set->add_option("--notice-version", notice, "Version of the notice shown");

  std::string reason, output = "-";
  auto add_rights = [&](const char* name, const char* help) {
    auto* sub = add_client(app.add_subcommand(name, help));
    sub->add_option("who", who, "type=value or a profile id")->required();
    sub->add_option("--reason", reason, "Ticket or justification (audited)")->required();
    return sub;
  };
  auto* export_cmd = add_rights("export", "Everything held about a person, as JSON");
  export_cmd->add_option("-o,--output", output, "Output file (- for stdout)")
      ->capture_default_str();
  auto* erase = add_rights("erase", "Erase a person: destroy their key, delete, suppress");
  auto* unsuppress = add_rights("unsuppress", "Accept records naming an erased identifier again");
  std::string profile_hex;
  auto* unmerge =
      add_client(app.add_subcommand("unmerge", "Take a wrong identifier off a profile"));
  unmerge->add_option("profile", profile_hex, "Profile id (32 hex digits)")->required();
  unmerge->add_option("identifier", who, "The wrong identifier, type=value")->required();
  unmerge->add_option("--reason", reason, "Ticket or justification (audited)")->required();
  auto* merges = add_client(app.add_subcommand("merges", "A person's merge history"));
  merges->add_option("who", who, "type=value or a profile id")->required();

  auto* audit = app.add_subcommand("audit", "Audit log");
  audit->require_subcommand(1);
  int64_t from = 0, to = 0;
  int limit = 1000;
  auto* audit_list = add_client(audit->add_subcommand("list", "Entries, oldest first"));
  audit_list->add_option("--subject", who, "Only entries about this person");
  audit_list->add_option("--from", from, "From (microseconds since the epoch)");
  audit_list->add_option("--to", to, "To (microseconds since the epoch, exclusive)");
  audit_list->add_option("--limit", limit, "Most entries")->capture_default_str();
  auto* audit_verify =
      add_client(audit->add_subcommand("verify", "Walk the hash chain, report the first break"));

  auto* keys = app.add_subcommand("keys", "Key management");
  keys->require_subcommand(1);
  auto* rotate = add_client(keys->add_subcommand(
      "rotate", "New key-encryption key version; every data key rewrapped under it"));
  rotate->add_option("--reason", reason, "Why (audited)");
  std::string backup_dir;
  auto* backup = add_client(app.add_subcommand("backup", "Online checkpoint of the database"));
  backup->add_option("dir", backup_dir, "Absolute path on the server's host (must not exist)")
      ->required();
  auto* stats = add_client(app.add_subcommand("stats", "Per-call latency and server counters"));
  auto* health = add_client(app.add_subcommand("health", "Is the server serving?"));

  CLI11_PARSE(app, argc, argv);

  using namespace cdp::api;
  if (serve->parsed()) return cdp::tools::RunServe(serve_flags);
  if (ingest->parsed()) return RunIngest(client, files, mapping, in_flight);
  if (lookup->parsed()) return RunLookup(client, who, purpose, max_events, event_name);
  if (consent_get->parsed()) return RunConsentGet(client, who);
  if (consent_set->parsed()) return RunConsentSet(client, who, changes, notice);
  if (export_cmd->parsed()) return RunExport(client, who, reason, output);
  if (erase->parsed()) return RunErase(client, who, reason);
  if (unsuppress->parsed()) return RunUnsuppress(client, who, reason);
  if (unmerge->parsed()) return RunUnmerge(client, profile_hex, who, reason);
  if (merges->parsed()) return RunMerges(client, who);
  if (audit_list->parsed()) return RunAuditList(client, who, from, to, limit);
  if (audit_verify->parsed()) return RunAuditVerify(client);
  if (rotate->parsed()) return RunRotateKeys(client, reason);
  if (backup->parsed()) return RunBackup(client, backup_dir);
  if (stats->parsed()) return RunStats(client);
  if (health->parsed()) return RunHealth(client);
  return 1;
}
