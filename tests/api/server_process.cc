#include "tests/api/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSocket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"

#ifndef CDP_BINARY
#error "CDP_BINARY must name the cdp executable (set by tests/api/CMakeLists.txt)"
#endif

namespace cdp::testing {

using apache::thrift::TException;
using apache::thrift::protocol::TBinaryProtocol;
using apache::thrift::transport::TFramedTransport;
using apache::thrift::transport::TSocket;
using apache::thrift::transport::TSSLSocketFactory;
using apache::thrift::transport::TTransport;

namespace {

constexpr char kHost[] = "127.0.0.1";
// Client-side bounds: long enough for any call on a loaded machine, short enough to never hang.
constexpr int kConnectTimeoutMs = 20000;
constexpr int kIoTimeoutMs = 60000;
constexpr absl::Duration kPollInterval = absl::Milliseconds(20);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Sha256Hex(const std::string& text) {
  const crypto::Digest digest = crypto::Sha256(text);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

// The port on the line that starts at `marker`: the digits after the first ':' that digits
// follow ("127.0.0.1:7600;", "http://127.0.0.1:7601/metrics"); 0 when the line is incomplete.
int PortAfter(const std::string& out, const std::string& marker) {
  const size_t at = out.find(marker);
  if (at == std::string::npos) return 0;
  const size_t eol = out.find('\n', at);
  if (eol == std::string::npos) return 0;  // the line is not complete yet
  const std::string line = out.substr(at + marker.size(), eol - at - marker.size());
  for (size_t colon = line.find(':'); colon != std::string::npos;
       colon = line.find(':', colon + 1)) {
    const size_t end = line.find_first_not_of("0123456789", colon + 1);
    int port = 0;
    if (absl::SimpleAtoi(line.substr(colon + 1, end - colon - 1), &port) && port > 0) {
      return port;
    }
  }
  return 0;
}

// "exit status 2" or "signal 9", from a waitpid status.
std::string DescribeExit(int status) {
  return WIFEXITED(status) ? absl::StrCat("exit status ", WEXITSTATUS(status))
                           : absl::StrCat("signal ", WTERMSIG(status));
}

// A write to a connection the server has dropped (a refused TLS handshake: SSL_write has no
// MSG_NOSIGNAL) must be an exception in the test, not SIGPIPE killing the test process.
void IgnoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { signal(SIGPIPE, SIG_IGN); });
}

}  // namespace

ApiClient::ApiClient(std::string token, std::shared_ptr<TSSLSocketFactory> tls,
                     std::shared_ptr<TTransport> transport)
    : token_(std::move(token)),
      tls_(std::move(tls)),
      transport_(std::move(transport)),
      client_(std::make_unique<thrift::CdpServiceClient>(
          std::make_shared<TBinaryProtocol>(transport_))) {}

ApiClient::~ApiClient() {
  try {
    transport_->close();
  } catch (const TException&) {
    // Closing a connection the server already dropped is fine.
  }
}

const char* ServerProcess::RoleName(TestRole role) {
  switch (role) {
    case TestRole::kCx:
      return "cx";
    case TestRole::kIngest:
      return "ingest";
    case TestRole::kCompliance:
      return "compliance";
    case TestRole::kAdmin:
      return "admin";
  }
  return "?";
}

std::string ServerProcess::TokenFor(TestRole role) {
  return absl::StrCat("e2e-", RoleName(role), "-token-6f1c2a9e4b7d");
}

std::string ServerProcess::TokenName(TestRole role) { return absl::StrCat("e2e-", RoleName(role)); }

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(ServerProcessOptions options) {
  IgnoreSigpipe();
  std::unique_ptr<ServerProcess> server(new ServerProcess());
  std::string config;
  for (TestRole role : kAllTestRoles) {
    absl::StrAppend(&config, "tokens { name: \"", TokenName(role), "\" sha256_hex: \"",
                    Sha256Hex(TokenFor(role)), "\" role: \"", RoleName(role), "\" }\n");
  }
  absl::StrAppend(&config, options.extra_config, "\n");
  const std::string config_path = server->dir_.Sub("cdp.conf");
  {
    std::ofstream out(config_path, std::ios::binary);
    out << config;
    if (!out.good()) return absl::InternalError(absl::StrCat("cannot write ", config_path));
  }

  const std::string stdout_path = server->dir_.Sub("stdout.log");
  const std::string stderr_path = server->dir_.Sub("stderr.log");
  const std::string data_dir = server->data_dir();
  std::vector<std::string> args = {CDP_BINARY, "serve",  "--config", config_path,      "--data-dir",
                                   data_dir,   "--port", "0",        "--metrics-port", "0"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  const int out_fd = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out_fd < 0 || err_fd < 0) return absl::InternalError("cannot create the server's logs");
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    close_range(3, ~0U, 0);  // no client socket of the test may live on in the server
    // The server gets default signal handling, not the test's ignored SIGPIPE: it must ignore
    // SIGPIPE itself (the hostile tests would catch it).
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &default_action, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out_fd);
  close(err_fd);
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  server->pid_ = pid;
  if (absl::Status s = server->WaitForPorts(options.start_timeout); !s.ok()) return s;
  return server;
}

absl::Status ServerProcess::WaitForPorts(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const std::string out = Stdout();
    port_ = PortAfter(out, "cdp: serving on ");
    metrics_port_ = PortAfter(out, "cdp: metrics on ");
    if (port_ > 0 && metrics_port_ > 0) return absl::OkStatus();
    if (!Running()) {
      return absl::InternalError(absl::StrCat("cdp serve (", CDP_BINARY, ") ended with ",
                                              DescribeExit(*exit_status_), " before serving",
                                              Diagnostics()));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "cdp serve printed no ports within ", absl::FormatDuration(timeout), Diagnostics()));
    }
    absl::SleepFor(kPollInterval);
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exit_status_.has_value()) {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

bool ServerProcess::Running() {
  if (pid_ <= 0 || exit_status_.has_value()) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = status;
    return false;
  }
  return r == 0;
}

absl::Status ServerProcess::Stop(absl::Duration timeout) {
  if (!Running()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the server is not running (status ", exit_status_.value_or(-1), ")", Diagnostics()));
  }
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + timeout;
  while (Running()) {
    if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      while (Running()) absl::SleepFor(kPollInterval);
      return absl::DeadlineExceededError(absl::StrCat("cdp serve did not exit within ",
                                                      absl::FormatDuration(timeout), " of SIGTERM",
                                                      Diagnostics()));
    }
    absl::SleepFor(kPollInterval);
  }
  const int status = *exit_status_;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("cdp serve ended with ", DescribeExit(status), Diagnostics()));
  }
  if (Stdout().find("cdp: stopped") == std::string::npos) {
    return absl::InternalError(absl::StrCat("exit 0 without \"cdp: stopped\"", Diagnostics()));
  }
  return absl::OkStatus();
}

std::string ServerProcess::Stdout() const { return ReadFile(dir_.Sub("stdout.log")); }
std::string ServerProcess::Stderr() const { return ReadFile(dir_.Sub("stderr.log")); }

std::string ServerProcess::Diagnostics() const {
  auto tail = [](std::string text) {
    constexpr size_t kMax = 4000;
    return text.size() > kMax ? text.substr(text.size() - kMax) : text;
  };
  return absl::StrCat("\n--- stdout ---\n", tail(Stdout()), "\n--- stderr ---\n", tail(Stderr()));
}

absl::StatusOr<int64_t> ServerProcess::RssBytes() const {
  std::ifstream in(absl::StrCat("/proc/", pid_, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    int64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  return absl::NotFoundError(absl::StrCat("no VmRSS for pid ", pid_));
}

absl::StatusOr<std::unique_ptr<ApiClient>> ServerProcess::Connect(std::string token) const {
  auto socket = std::make_shared<TSocket>(kHost, port_);
  socket->setConnTimeout(kConnectTimeoutMs);
  socket->setRecvTimeout(kIoTimeoutMs);
  socket->setSendTimeout(kIoTimeoutMs);
  auto transport = std::make_shared<TFramedTransport>(socket);
  try {
    transport->open();
  } catch (const TException& e) {
    return absl::UnavailableError(absl::StrCat("connect to ", kHost, ":", port_, ": ", e.what()));
  }
  return std::make_unique<ApiClient>(std::move(token), nullptr, std::move(transport));
}

absl::StatusOr<std::unique_ptr<ApiClient>> ServerProcess::ConnectTls(
    std::string token, std::shared_ptr<TSSLSocketFactory> tls) const {
  std::shared_ptr<TTransport> transport;
  try {
    auto socket = tls->createSocket(kHost, port_);
    socket->setConnTimeout(kConnectTimeoutMs);
    socket->setRecvTimeout(kIoTimeoutMs);
    socket->setSendTimeout(kIoTimeoutMs);
    transport = std::make_shared<TFramedTransport>(socket);
    transport->open();
  } catch (const TException& e) {
    return absl::UnavailableError(
        absl::StrCat("TLS connect to ", kHost, ":", port_, ": ", e.what()));
  }
  return std::make_unique<ApiClient>(std::move(token), std::move(tls), std::move(transport));
}

absl::StatusOr<std::unique_ptr<ApiClient>> ServerProcess::ConnectTls(
    std::string token, const api::ClientTlsOptions& options) const {
  auto tls = api::MakeClientTls(options);
  if (!tls.ok()) return tls.status();
  return ConnectTls(std::move(token), *std::move(tls));
}

}  // namespace cdp::testing
