#pragma once
// `cdp serve`: runs the server until SIGTERM or SIGINT, then shuts down gracefully.

#include <string>

namespace cdp::tools {

struct ServeFlags {
  std::string config_path;  // empty: the embedded default
  std::string data_dir;     // empty: the configuration's
  int port = -1;            // -1: the configuration's; 0: any free port
  int metrics_port = -1;    // -1: the configuration's; 0: any free port
  bool demo = false;        // load the bundled sample feed when the store is new
};

// Returns the process exit code: 0 after a clean shutdown, 2 for an invalid configuration,
// 1 when the server cannot start.
int RunServe(const ServeFlags& flags);

}  // namespace cdp::tools
