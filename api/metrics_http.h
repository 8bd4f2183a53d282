#pragma once
// MetricsHttpServer: the plain-HTTP endpoint that Prometheus scrapes, separate from the Thrift
// port. It serves
//   GET /metrics  200, Content-Type "text/plain; version=0.0.4; charset=utf-8", body = render()
//   GET /healthz  200, "ok"
// and 404 for any other path. It binds only to the given host (the default configuration uses
// 127.0.0.1: the metrics are not authenticated) and is bounded so that a misbehaving client cannot
// hold it: 2 worker threads, at most 16 accepted connections waiting for one, request bodies of at
// most 64 KiB, 5 s read and write timeouts, keep-alive for at most 5 requests and 2 s of idleness.
//
// Thread safety: `render` is called on the worker threads, up to two calls at a time, and must be
// thread-safe (ServerMetrics::RenderPrometheus is). port() and Stop() may be called from any
// thread.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace cdp::api {

class MetricsHttpServer {
 public:
  // Binds host:port (port 0 = an ephemeral port, see port()) and starts serving on a thread of its
  // own. Errors: kInvalidArgument for a port outside [0, 65535], an empty `render` or a host that
  // does not resolve; kUnavailable naming host:port when the address cannot be bound (in use, not
  // an address of this host, no permission), e.g. "metrics listener 127.0.0.1:7601: address in
  // use".
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& host, int port, std::function<std::string()> render);

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;
  // Stops the server (see Stop).
  ~MetricsHttpServer();

  // The bound port (the ephemeral one when Start was given 0).
  int port() const { return port_; }

  // Closes the listener, lets the requests in progress finish and joins the threads; afterwards a
  // connection to port() is refused. Idempotent.
  void Stop();

 private:
  MetricsHttpServer(std::unique_ptr<httplib::Server> server, int port);

  const std::unique_ptr<httplib::Server> server_;
  const int port_;
  std::thread listener_;
  std::once_flag stop_once_;  // a second Stop() waits for the first; joining twice is undefined
};

}  // namespace cdp::api
