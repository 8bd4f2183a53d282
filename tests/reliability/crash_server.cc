#include "tests/reliability/crash_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSocket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"

#ifndef CDP_BINARY
#error "CDP_BINARY must name the cdp executable (set by tests/reliability/CMakeLists.txt)"
#endif

namespace cdp::testing {

namespace {

constexpr char kHost[] = "127.0.0.1";
constexpr char kServingOn[] = "cdp: serving on 127.0.0.1:";
constexpr int kConnectTimeoutMs = 20000;
constexpr int kIoTimeoutMs = 120000;

std::string ReadFrom(const std::string& path, size_t offset) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t FileSize(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  return in ? static_cast<size_t>(in.tellg()) : 0;
}

}  // namespace

absl::Status WriteCrashServerConfig(const std::string& path) {
  std::string config;
  for (TestRole role : kAllTestRoles) {
    const crypto::Digest digest = crypto::Sha256(ServerProcess::TokenFor(role));
    const std::string hex = absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
    absl::StrAppend(&config, "tokens { name: \"", ServerProcess::TokenName(role),
                    "\" sha256_hex: \"", hex, "\" role: \"", ServerProcess::RoleName(role),
                    "\" }\n");
  }
  std::ofstream out(path, std::ios::binary);
  out << config;
  return out.good() ? absl::OkStatus() : absl::InternalError(absl::StrCat("cannot write ", path));
}

absl::StatusOr<std::unique_ptr<CrashServer>> CrashServer::Start(const CrashServerOptions& options) {
  std::unique_ptr<CrashServer> server(new CrashServer(options));
  std::vector<std::string> args = {
      CDP_BINARY,       "serve",  "--config", options.config_path, "--data-dir",
      options.data_dir, "--port", "0",        "--metrics-port",    "0"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const size_t log_offset = FileSize(options.log_path);
  const int log_fd =
      open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("cannot open ", options.log_path));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close_range(3, ~0U, 0);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &default_action, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  setpgid(pid, pid);  // also from the parent, so that Kill() cannot race the child's setpgid
  server->pid_ = pid;
  if (absl::Status s = server->WaitForPort(log_offset); !s.ok()) return s;
  return server;
}

absl::Status CrashServer::WaitForPort(size_t log_offset) {
  const absl::Time deadline = absl::Now() + options_.start_timeout;
  while (true) {
    const std::string out = ReadFrom(options_.log_path, log_offset);
    const size_t at = out.find(kServingOn);
    if (at != std::string::npos) {
      const size_t begin = at + sizeof(kServingOn) - 1;
      const size_t end = out.find_first_not_of("0123456789", begin);
      if (end != std::string::npos && absl::SimpleAtoi(out.substr(begin, end - begin), &port_) &&
          port_ > 0) {
        return absl::OkStatus();
      }
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      return absl::InternalError(
          absl::StrCat("cdp serve exited (status ", status, ") before serving", LogTail()));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("cdp serve printed no port within ",
                                                      absl::FormatDuration(options_.start_timeout),
                                                      LogTail()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void CrashServer::Kill() {
  if (pid_ <= 0 || reaped_) return;
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

CrashServer::~CrashServer() { Kill(); }

std::string CrashServer::LogTail() const {
  std::string text = ReadFrom(options_.log_path, 0);
  constexpr size_t kMax = 4000;
  if (text.size() > kMax) text = text.substr(text.size() - kMax);
  return absl::StrCat("\n--- server log ---\n", text);
}

absl::StatusOr<std::unique_ptr<ApiClient>> CrashServer::Connect(std::string token) const {
  using apache::thrift::TException;
  auto socket = std::make_shared<apache::thrift::transport::TSocket>(kHost, port_);
  socket->setConnTimeout(kConnectTimeoutMs);
  socket->setRecvTimeout(kIoTimeoutMs);
  socket->setSendTimeout(kIoTimeoutMs);
  auto transport = std::make_shared<apache::thrift::transport::TFramedTransport>(socket);
  try {
    transport->open();
  } catch (const TException& e) {
    return absl::UnavailableError(absl::StrCat("connect to port ", port_, ": ", e.what()));
  }
  return std::make_unique<ApiClient>(std::move(token), nullptr, std::move(transport));
}

}  // namespace cdp::testing
