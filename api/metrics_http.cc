#include "api/metrics_http.h"

#include <netdb.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

// Debian ships httplib.h as declarations for libcpp-httplib.so (it compiles cleanly with our
// warnings); only this file includes it, so its OpenSSL/zlib defines stay out of api/'s headers.
#include <httplib.h>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace cdp::api {
namespace {

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr size_t kWorkerThreads = 2;
constexpr size_t kMaxPendingConnections = 16;
constexpr size_t kMaxPayloadBytes = 64 * 1024;
constexpr time_t kReadTimeoutSeconds = 5;
constexpr time_t kWriteTimeoutSeconds = 5;
constexpr size_t kKeepAliveMaxRequests = 5;
constexpr time_t kKeepAliveTimeoutSeconds = 2;

// cpp-httplib's own ThreadPool queues accepted connections without limit. This one makes the
// accepting thread wait once kMaxPendingConnections are queued, so further clients wait in the
// kernel's listen backlog instead of in our memory and file descriptors. shutdown() runs what is
// queued (each job owns an accepted socket and closes it) before joining. It uses std::mutex rather
// than absl::Mutex because Debian's Abseil is not built for ThreadSanitizer, which then reports
// every access under an absl::Mutex as a race.
class BoundedThreadPool final : public httplib::TaskQueue {
 public:
  BoundedThreadPool(size_t threads, size_t max_pending) : max_pending_(max_pending) {
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~BoundedThreadPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    has_room_.wait(lock, [this] { return jobs_.size() < max_pending_; });
    jobs_.push_back(std::move(fn));
    has_job_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      shutting_down_ = true;
    }
    has_job_.notify_all();
    for (std::thread& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        has_job_.wait(lock, [this] { return !jobs_.empty() || shutting_down_; });
        if (jobs_.empty()) return;  // shutting down with nothing left
        job = std::move(jobs_.front());
        jobs_.pop_front();
        has_room_.notify_one();
      }
      job();
    }
  }

  const size_t max_pending_;
  std::mutex mu_;
  std::condition_variable has_job_;
  std::condition_variable has_room_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool shutting_down_ = false;              // guarded by mu_
  std::vector<std::thread> workers_;
};

// cpp-httplib's default socket options add SO_REUSEPORT, which would let a second process bind
// the same port and silently take half of the scrapes. SO_REUSEADDR alone still allows a restart
// while old connections linger in TIME_WAIT.
void ListenerSocketOptions(socket_t sock) {
  const int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

std::string BindFailure(int err) {
  switch (err) {
    case EADDRINUSE:
      return "address in use";
    case EADDRNOTAVAIL:
      return "address not available on this host";
    case EACCES:
      return "permission denied";
    case 0:
      return "cannot bind";
    default:
      return absl::StrCat("cannot bind: ", std::strerror(err));
  }
}

// An unknown host is a configuration error, told apart here because cpp-httplib reports every
// bind failure alike.
absl::Status CheckResolvable(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &result);
  if (rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("metrics listener ", host, ":", port,
                                                   ": cannot resolve host: ", gai_strerror(rc)));
  }
  freeaddrinfo(result);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& host, int port, std::function<std::string()> render) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics listener ", host, ":", port, ": port must be in [0, 65535]"));
  }
  if (!render) return absl::InvalidArgumentError("metrics listener: no render function");
  if (absl::Status resolvable = CheckResolvable(host, port); !resolvable.ok()) return resolvable;

  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] {
    return new BoundedThreadPool(kWorkerThreads, kMaxPendingConnections);
  };
  server->set_socket_options(ListenerSocketOptions)
      .set_payload_max_length(kMaxPayloadBytes)
      .set_read_timeout(kReadTimeoutSeconds)
      .set_write_timeout(kWriteTimeoutSeconds)
      .set_keep_alive_max_count(kKeepAliveMaxRequests)
      .set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  server->Get("/metrics",
              [render = std::move(render)](const httplib::Request&, httplib::Response& response) {
                response.set_content(render(), kContentType);
              });
  server->Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok", "text/plain");
  });

  errno = 0;
  const int bound =
      port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    return absl::UnavailableError(
        absl::StrCat("metrics listener ", host, ":", port, ": ", BindFailure(errno)));
  }

  auto self = absl::WrapUnique(new MetricsHttpServer(std::move(server), bound));
  httplib::Server* raw = self->server_.get();
  auto exited = std::make_shared<std::atomic<bool>>(false);
  self->listener_ = std::thread([raw, exited, host, bound] {
    if (!raw->listen_after_bind()) {
      LogError("api", absl::StrCat("metrics listener ", host, ":", bound, " stopped on an error"));
    }
    exited->store(true);
  });
  // Server::stop() does nothing until the listener thread has marked the server running; wait for
  // that so that a Stop() right after Start() cannot be lost (and leave Stop() joining forever).
  while (!raw->is_running() && !exited->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return self;
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<httplib::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Stop() {
  std::call_once(stop_once_, [this] {
    server_->stop();
    if (listener_.joinable()) listener_.join();
  });
}

}  // namespace cdp::api
