// The `cdp` command. Until the Thrift server lands, every subcommand opens the store directly
// (offline): demo, ingest, lookup, export, erase, unsuppress, unmerge, audit verify, stats,
// backup, keys rotate.

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "tools/person_commands.h"
#include "tools/store_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"cdp: real-time customer data platform"};
  app.require_subcommand(1);
  std::string data_dir = "./cdp-data";
  app.add_option("--data-dir", data_dir, "Store directory (db/, keyvault/, keys)")
      ->capture_default_str();

  auto* demo = app.add_subcommand(
      "demo", "Load the bundled sample feed (first run) and show one person across channels");

  std::vector<std::string> files;
  std::string mapping;
  auto* ingest = app.add_subcommand(
      "ingest", "Ingest NDJSON, {\"batch\": [...]} or CSV files (- for stdin)");
  ingest->add_option("files", files, "Input files")->required();
  ingest->add_option("--mapping", mapping, "CSV column mapping (JSON); makes the inputs CSV");

  std::string who, purpose;
  size_t max_events = 20;
  auto* lookup = app.add_subcommand("lookup", "Show a person's context for a purpose");
  lookup->add_option("who", who, "type=value (email=ann@example.com) or a profile id")
      ->required();
  lookup->add_option("--purpose", purpose, "Purpose of the lookup (support, marketing...)")
      ->required();
  lookup->add_option("--events", max_events, "Last events to show")->capture_default_str();

  std::string actor = "local-admin", reason;
  auto add_rights = [&](const char* name, const char* help) {
    auto* sub = app.add_subcommand(name, help);
    sub->add_option("who", who, "type=value or a profile id")->required();
    sub->add_option("--actor", actor, "Who asks (recorded in the audit log)")
        ->capture_default_str();
    sub->add_option("--reason", reason, "Ticket or justification (recorded in the audit log)")
        ->required();
    return sub;
  };
  auto* export_cmd = add_rights("export", "Write everything held about a person as JSON to stdout");
  auto* erase = add_rights("erase", "Erase a person: destroy their key, delete, suppress");
  auto* unsuppress = add_rights("unsuppress", "Accept records naming an erased identifier again");
  std::string profile_hex;
  auto* unmerge = app.add_subcommand("unmerge", "Take a wrong identifier off a profile and split it");
  unmerge->add_option("profile", profile_hex, "Profile id (32 hex digits)")->required();
  unmerge->add_option("identifier", who, "The wrong identifier, type=value")->required();
  unmerge->add_option("--actor", actor, "Who asks (recorded in the audit log)")
      ->capture_default_str();
  unmerge->add_option("--reason", reason, "Ticket or justification")->required();
  auto* audit = app.add_subcommand("audit", "Audit log");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand("verify", "Walk the hash chain and report the first break");

  auto* stats = app.add_subcommand("stats", "Print record counts and sizes of the store");
  std::string backup_dir;
  auto* backup = app.add_subcommand("backup", "Write an online checkpoint of the record database");
  backup->add_option("dir", backup_dir, "Target directory (must not exist)")->required();
  auto* keys = app.add_subcommand("keys", "Key management");
  keys->require_subcommand(1);
  auto* rotate = keys->add_subcommand(
      "rotate", "Add a new key-encryption key version and rewrap every data key under it");
  rotate->add_option("--actor", actor, "Who asks (recorded in the audit log)")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (demo->parsed()) return cdp::tools::RunDemo(data_dir);
  if (ingest->parsed()) return cdp::tools::RunIngest(data_dir, files, mapping);
  if (lookup->parsed()) return cdp::tools::RunLookup(data_dir, who, purpose, max_events);
  if (export_cmd->parsed()) return cdp::tools::RunExport(data_dir, who, actor, reason);
  if (erase->parsed()) return cdp::tools::RunErase(data_dir, who, actor, reason);
  if (unsuppress->parsed()) return cdp::tools::RunUnsuppress(data_dir, who, actor, reason);
  if (verify->parsed()) return cdp::tools::RunAuditVerify(data_dir);
  if (stats->parsed()) return cdp::tools::RunStats(data_dir);
  if (backup->parsed()) return cdp::tools::RunBackup(data_dir, backup_dir);
  if (unmerge->parsed()) {
    return cdp::tools::RunUnmerge(data_dir, profile_hex, who, actor, reason);
  }
  if (rotate->parsed()) return cdp::tools::RunRotateKeys(data_dir, actor);
  return 1;
}
