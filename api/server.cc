#include "api/server.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TSSLServerSocket.h>
#include <thrift/transport/TServerSocket.h>

#include "absl/strings/str_cat.h"
#include "api/auth.h"
#include "api/metrics_http.h"
#include "api/service.h"
#include "api/transport.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace cdp::api {

using apache::thrift::server::TThreadedServer;
using apache::thrift::transport::TServerSocket;

// TServerSocket's default accept backlog.
constexpr int kAcceptBacklog = 1024;

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerConfig& config) {
  return Start(config, nullptr);
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerConfig& config,
                                                      rocksdb::Env* storage_env) {
  std::unique_ptr<Server> server(new Server(config));
  const ServerConfig& c = server->config_;
  CDP_ASSIGN_OR_RETURN(server->stack_, Stack::Open({.data_dir = c.data_dir,
                                                    .create_if_missing = true,
                                                    .identity = c.identity,
                                                    .consent = c.consent,
                                                    .block_cache_bytes = c.block_cache_bytes,
                                                    .event_cache_percent = c.event_cache_percent,
                                                    .resident_index = c.resident_index,
                                                    .compress_events = c.compress_events,
                                                    .profile_limits = c.profile_limits,
                                                    .mmap_reads = c.mmap_reads,
                                                    .data_key_cache_keys = c.data_key_cache_keys,
                                                    .custom_identifier_paths =
                                                        c.parser.custom_identifier_paths,
                                                    .env = storage_env}));
  CDP_ASSIGN_OR_RETURN(TokenEntry admin, EnsureAdminToken(AdminTokenPath(c.data_dir)));
  server->core_ = std::make_unique<ServiceCore>(server->stack_.get(), &server->config_,
                                                std::vector<TokenEntry>{admin});

  std::shared_ptr<TServerSocket> socket;
  if (c.tls.enabled()) {
    CDP_ASSIGN_OR_RETURN(auto tls, MakeServerTls(c.tls));
    socket = std::make_shared<apache::thrift::transport::TSSLServerSocket>(c.listen.host,
                                                                          c.listen.port, tls);
  } else {
    socket = std::make_shared<TServerSocket>(c.listen.host, c.listen.port);
  }
  socket->setRecvTimeout(c.limits.recv_timeout_ms);
  socket->setSendTimeout(c.limits.send_timeout_ms);
  socket->setInterruptableChildren(true);
  auto bound = std::make_shared<std::promise<int>>();
  socket->setListenCallback([bound](THRIFT_SOCKET fd) {
    // Thrift calls this after bind() but before listen(): listen here, so that the port is
    // reported (and Start returns) only once connections to it can succeed. Thrift's own
    // listen() that follows only sets the same backlog again.
    if (::listen(fd, kAcceptBacklog) != 0) return;  // Thrift's listen() reports the error
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    int port = 0;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = addr.ss_family == AF_INET6
                 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                 : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    }
    bound->set_value(port);
  });

  auto processor = std::make_shared<thrift::CdpServiceProcessorFactory>(
      std::make_shared<HandlerFactory>(server->core_.get()));
  auto thrift = std::make_shared<TThreadedServer>(
      processor, socket, std::make_shared<GuardedFramedTransportFactory>(c.limits),
      MakeProtocolFactory(c.limits));
  thrift->setConcurrentClientLimit(c.limits.max_connections);
  server->thrift_ = thrift;

  std::future<int> port = bound->get_future();
  auto failed = std::make_shared<std::promise<std::string>>();
  std::future<std::string> failure = failed->get_future();
  server->serve_thread_ = std::thread([thrift, failed] {
    try {
      thrift->serve();
      failed->set_value("");
    } catch (const std::exception& e) {
      failed->set_value(e.what());
    }
  });
  // Either the listener is up, or serve() failed (address in use...) before listening.
  while (port.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready) {
    if (failure.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) {
      server->serve_thread_.join();
      return absl::UnavailableError(absl::StrCat("cannot listen on ", c.listen.host, ":",
                                                 c.listen.port, ": ", failure.get()));
    }
  }
  server->port_ = port.get();

  if (c.metrics_enabled) {
    ServiceCore* core = server->core_.get();
    CDP_ASSIGN_OR_RETURN(server->metrics_,
                         MetricsHttpServer::Start(c.metrics.host, c.metrics.port, [core] {
                           return core->metrics().RenderPrometheus(core->Gauges());
                         }));
  }
  LogInfo("server", absl::StrCat("serving on ", c.listen.host, ":", server->port_,
                       c.tls.enabled() ? " (TLS)" : " (plain TCP)"));
  return server;
}

Server::Server(ServerConfig config) : config_(std::move(config)) {}

int Server::metrics_port() const { return metrics_ ? metrics_->port() : 0; }

void Server::Stop() {
  if (core_) core_->shutting_down.store(true);
  if (thrift_) thrift_->stop();
}

void Server::Wait() {
  if (serve_thread_.joinable()) serve_thread_.join();
}

Server::~Server() {
  Stop();
  Wait();
  if (metrics_) metrics_->Stop();
  if (stack_ && stack_->rights) stack_->rights->WaitForCompactions();
  core_.reset();  // export sessions end before the stack closes
  stack_.reset();
}

}  // namespace cdp::api
