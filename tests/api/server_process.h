#pragma once
// ServerProcess: a real `cdp serve` child process for the end-to-end tests, on free loopback
// ports, with a fresh data directory and a generated configuration holding one token per role.
//
//   CDP_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start());
//   CDP_ASSERT_OK_AND_ASSIGN(auto cx, server->Connect(ServerProcess::TokenFor(TestRole::kCx)));
//   thrift::HealthResponse health;
//   cx->rpc().health(health, {});
//
// Every wait has a deadline: a server that does not come up, or does not stop, is an error with
// its stdout and stderr attached, never a hung test. The child is killed when the ServerProcess is
// destroyed, and (PR_SET_PDEATHSIG) when the thread that started it exits, so a test killed by a
// timeout leaves no server behind. Start servers inside tests, never in static initializers:
// gtest_discover_tests runs the binary at build time to list the tests. Start() makes the test
// process ignore SIGPIPE, so that writing to a connection the server dropped is an exception.
//
// Thread safety: a ServerProcess may be used from several threads once started, except Stop()
// and destruction. An ApiClient is one connection: one thread at a time.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/gen-cpp/CdpService.h"
#include "api/transport.h"
#include "tests/support/temp_dir.h"

namespace cdp::testing {

namespace thrift = ::cdp::api::thrift;

enum class TestRole { kCx, kIngest, kCompliance, kAdmin };
inline constexpr TestRole kAllTestRoles[] = {TestRole::kCx, TestRole::kIngest,
                                             TestRole::kCompliance, TestRole::kAdmin};

struct ServerProcessOptions {
  // Appended to the generated configuration (Protobuf text format): limits { ... }, tls { ... }.
  // The generated part holds only the tokens; data_dir and ports are given as flags.
  std::string extra_config;
  // Longest wait for the "serving on" line; generous for a loaded 2-core machine.
  absl::Duration start_timeout = absl::Seconds(120);
};

// One connection to the server with the token its requests should carry.
class ApiClient {
 public:
  ApiClient(std::string token, std::shared_ptr<apache::thrift::transport::TSSLSocketFactory> tls,
            std::shared_ptr<apache::thrift::transport::TTransport> transport);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  thrift::CdpServiceClient& rpc() { return *client_; }
  const std::string& token() const { return token_; }

 private:
  std::string token_;
  std::shared_ptr<apache::thrift::transport::TSSLSocketFactory> tls_;  // outlives the socket
  std::shared_ptr<apache::thrift::transport::TTransport> transport_;
  std::unique_ptr<thrift::CdpServiceClient> client_;
};

class ServerProcess {
 public:
  // Writes the configuration, starts `cdp serve --port 0 --metrics-port 0` and waits for the
  // lines naming both ports. kDeadlineExceeded when the server prints no ports in time;
  // kInternal "... ended with exit status N before serving" when it exits. Both carry the
  // server's stdout and stderr.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(ServerProcessOptions options = {});
  // Kills the server (SIGKILL) if it still runs.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // The bearer token configured for `role`, and the name it has in the audit log.
  static std::string TokenFor(TestRole role);
  static std::string TokenName(TestRole role);
  static const char* RoleName(TestRole role);

  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }
  std::string data_dir() const { return dir_.Sub("data"); }
  // A scratch path inside the server's temporary directory (not created).
  std::string ScratchPath(const std::string& name) const { return dir_.Sub(name); }

  // A connected plain-TCP client (TSocket + TFramedTransport + TBinaryProtocol). The receive
  // timeout is long enough for any call on a loaded machine and bounds every wait.
  // kUnavailable when the connection cannot be opened.
  absl::StatusOr<std::unique_ptr<ApiClient>> Connect(std::string token = "") const;
  // The same over TLS. The handshake happens at the first call, so a refused handshake shows
  // as a TTransportException from that call.
  absl::StatusOr<std::unique_ptr<ApiClient>> ConnectTls(
      std::string token, std::shared_ptr<apache::thrift::transport::TSSLSocketFactory> tls) const;
  absl::StatusOr<std::unique_ptr<ApiClient>> ConnectTls(std::string token,
                                                        const api::ClientTlsOptions& options) const;

  // The server's resident set size (VmRSS of /proc/PID/status).
  absl::StatusOr<int64_t> RssBytes() const;

  // True while the child has not exited (reaps it when it has).
  bool Running();

  // SIGTERM, then waits for the exit. OK only for exit status 0 after "cdp: stopped";
  // kDeadlineExceeded (and SIGKILL) when it does not exit within `timeout`.
  absl::Status Stop(absl::Duration timeout = absl::Seconds(60));

  // What the server wrote so far (for failure messages).
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  ServerProcess() = default;
  absl::Status WaitForPorts(absl::Duration timeout);
  std::string Diagnostics() const;

  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  std::optional<int> exit_status_;  // waitpid status once reaped
};

// A person named by one identifier.
inline thrift::PersonRef PersonBy(const std::string& type, const std::string& value) {
  thrift::PersonRef person;
  thrift::Identifier id;
  id.type = type;
  id.value = value;
  person.__set_identifier(id);
  return person;
}

// The code of the CdpError that `call` throws; nullopt when it returns normally. Transport and
// protocol exceptions propagate (they fail the test: a refused call must be a CdpError).
template <typename Call>
std::optional<thrift::ErrorCode::type> ErrorCodeOf(Call&& call) {
  try {
    call();
  } catch (const thrift::CdpError& e) {
    return e.code;
  }
  return std::nullopt;
}

}  // namespace cdp::testing
