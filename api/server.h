#pragma once
// Server: `cdp serve`. Opens the store from a ServerConfig, ensures the local administrator
// token, and serves CdpService over Thrift (framed binary protocol, optionally TLS) on a
// thread-per-connection server, with the Prometheus endpoint beside it.
//
// Thread model (DESIGN.md, measured on 2 cores): thread-per-connection (TThreadedServer) answers
// small calls ~2x faster than TNonblockingServer; connections are bounded by
// limits.max_connections (extra ones wait in the listen backlog), calls by the admission limits.
//
// Shutdown: Stop() (e.g. from SIGTERM) stops accepting, lets in-flight calls finish and answer,
// closes idle connections at their next read, then Serve() returns; destroying the Server
// flushes and closes the store.

#include <future>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "api/server_config.h"
#include "api/stack.h"

namespace apache::thrift::server {
class TServer;
}

namespace cdp::api {

class ServiceCore;
class MetricsHttpServer;

class Server {
 public:
  // Opens the stack and binds the API and metrics listeners (port 0 picks a free port; see
  // port()). Writes the local admin token file into the data directory on first start.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerConfig& config);
  // The same with the store on `storage_env` (StackOptions::env; null = the default), for tests
  // that inject I/O faults. Not owned: it must outlive the Server.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerConfig& config,
                                                       rocksdb::Env* storage_env);
  ~Server();

  // Blocks until Stop() has drained every connection.
  void Wait();
  // Begins a graceful shutdown; returns at once. Safe to call from any thread, more than once.
  void Stop();

  int port() const { return port_; }
  int metrics_port() const;
  const ServerConfig& config() const { return config_; }
  Stack& stack() { return *stack_; }

 private:
  explicit Server(ServerConfig config);

  ServerConfig config_;
  std::unique_ptr<Stack> stack_;
  std::unique_ptr<ServiceCore> core_;
  std::shared_ptr<apache::thrift::server::TServer> thrift_;
  std::unique_ptr<MetricsHttpServer> metrics_;
  std::thread serve_thread_;
  int port_ = 0;
};

}  // namespace cdp::api
