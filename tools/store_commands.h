#pragma once
// Offline store subcommands of `cdp`. Each returns a process exit code and prints errors to
// stderr. None of them prints identifier or trait values.

#include <string>

namespace cdp::tools {

int RunStats(const std::string& data_dir);
int RunBackup(const std::string& data_dir, const std::string& backup_dir);

}  // namespace cdp::tools
