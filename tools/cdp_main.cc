// The `cdp` command. Until the Thrift server lands, it offers offline operations on a stopped
// store: a demo that writes and reads back a sample person, key rotation, backup and stats.

#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "tools/store_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"cdp: real-time customer data platform"};
  app.require_subcommand(1);
  std::string data_dir = "./cdp-data";
  app.add_option("--data-dir", data_dir, "Store directory (db/, keyvault/, keys)")
      ->capture_default_str();

  auto* demo = app.add_subcommand(
      "demo", "Write a sample person into the store and read it back (the storage demo)");
  auto* stats = app.add_subcommand("stats", "Print record counts and sizes of the store");
  std::string backup_dir;
  auto* backup = app.add_subcommand("backup", "Write an online checkpoint of the record database");
  backup->add_option("dir", backup_dir, "Target directory (must not exist)")->required();
  auto* keys = app.add_subcommand("keys", "Key management");
  keys->require_subcommand(1);
  auto* rotate = keys->add_subcommand(
      "rotate", "Add a new key-encryption key version and rewrap every data key under it");

  CLI11_PARSE(app, argc, argv);

  if (demo->parsed()) return cdp::tools::RunDemo(data_dir);
  if (stats->parsed()) return cdp::tools::RunStats(data_dir);
  if (backup->parsed()) return cdp::tools::RunBackup(data_dir, backup_dir);
  if (rotate->parsed()) return cdp::tools::RunRotateKeys(data_dir);
  return 1;
}
