#pragma once
// CrashServer: a `cdp serve` child process that a crash test kills with SIGKILL and starts again
// on the same data directory. Unlike tests/api/server_process.h (a fresh data directory per
// server), the configuration and data directory belong to the caller and outlive the process.
//
// The child leads a process group of its own; Kill() and the destructor send SIGKILL to the whole
// group and reap the child, and PR_SET_PDEATHSIG kills it if the test process dies, so no server
// outlives the test. Start servers inside tests, never in static initializers.
//
// Thread safety: Connect() may be called from several threads; Kill() and destruction may not
// run concurrently with anything else.

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/api/server_process.h"

namespace cdp::testing {

struct CrashServerOptions {
  std::string config_path;  // the server's configuration (must exist)
  std::string data_dir;     // reused across restarts
  std::string log_path;     // stdout and stderr of every run, appended
  // Longest wait for "serving on"; recovery after a kill replays the WAL, so be generous.
  absl::Duration start_timeout = absl::Seconds(180);
};

class CrashServer {
 public:
  // Starts the server and waits for its port. kDeadlineExceeded when it prints none in time,
  // kInternal when it exits first; both carry the tail of the log.
  static absl::StatusOr<std::unique_ptr<CrashServer>> Start(const CrashServerOptions& options);
  ~CrashServer();  // Kill()
  CrashServer(const CrashServer&) = delete;
  CrashServer& operator=(const CrashServer&) = delete;

  // SIGKILL to the server's process group, then reaps the child. Idempotent.
  void Kill();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  // A plain-TCP client with the receive timeouts of ServerProcess::Connect. kUnavailable when
  // the connection cannot be opened.
  absl::StatusOr<std::unique_ptr<ApiClient>> Connect(std::string token) const;

 private:
  explicit CrashServer(CrashServerOptions options) : options_(std::move(options)) {}
  absl::Status WaitForPort(size_t log_offset);
  std::string LogTail() const;

  CrashServerOptions options_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int port_ = 0;
};

// Writes a configuration holding the tokens of ServerProcess::TokenFor for every role.
absl::Status WriteCrashServerConfig(const std::string& path);

}  // namespace cdp::testing
