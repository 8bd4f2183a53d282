#pragma once
// The latency floor of request/response on this machine: a TCP server on loopback that answers
// every request of `request_bytes` with `response_bytes` and does nothing else, one thread per
// connection like the real server, driven by the same load generator (bench/load_generator.h).
// Whatever latency this shows at a given rate and connection count (thread wake-ups, the
// hypervisor descheduling an idle vCPU, copying the response through loopback) is in every
// getContext figure too, so the context benchmark runs it as mode `floor` with the measured
// request and response sizes and reports the two side by side.
//
// Thread safety: Start, port and the destructor from one thread; the call functions from the
// load generator's connection threads, one each.

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/load_generator.h"

namespace cdp::bench {

class EchoFloorServer {
 public:
  // Listens on 127.0.0.1, an ephemeral port.
  static absl::StatusOr<std::unique_ptr<EchoFloorServer>> Start(size_t request_bytes,
                                                                size_t response_bytes);
  // Stops accepting, closes every connection and joins its threads.
  ~EchoFloorServer();
  EchoFloorServer(const EchoFloorServer&) = delete;
  EchoFloorServer& operator=(const EchoFloorServer&) = delete;

  int port() const { return port_; }
  // Connects one client; its call sends one request and reads the whole response.
  absl::StatusOr<CallFunction> Connect() const;

 private:
  EchoFloorServer(int listen_fd, int port, size_t request_bytes, size_t response_bytes);
  void AcceptLoop();
  void Serve(int fd) const;

  const int listen_fd_;
  const int port_;
  const size_t request_bytes_, response_bytes_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;  // guards connections_ and threads_
  std::vector<int> connections_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace cdp::bench
