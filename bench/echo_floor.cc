#include "bench/echo_floor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace cdp::bench {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Reads exactly `size` bytes; false on end of stream or error.
bool ReadFully(int fd, char* out, size_t size) {
  while (size > 0) {
    const ssize_t n = recv(fd, out, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool WriteFully(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void NoDelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

absl::StatusOr<std::unique_ptr<EchoFloorServer>> EchoFloorServer::Start(size_t request_bytes,
                                                                        size_t response_bytes) {
  if (request_bytes == 0 || response_bytes == 0) {
    return absl::InvalidArgumentError("request and response sizes must be positive");
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 128) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    absl::Status status = Errno("listen");
    close(fd);
    return status;
  }
  auto server = std::unique_ptr<EchoFloorServer>(
      new EchoFloorServer(fd, ntohs(address.sin_port), request_bytes, response_bytes));
  server->acceptor_ = std::thread([raw = server.get()] { raw->AcceptLoop(); });
  return server;
}

EchoFloorServer::EchoFloorServer(int listen_fd, int port, size_t request_bytes,
                                 size_t response_bytes)
    : listen_fd_(listen_fd),
      port_(port),
      request_bytes_(request_bytes),
      response_bytes_(response_bytes) {}

EchoFloorServer::~EchoFloorServer() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  close(listen_fd_);
  std::lock_guard lock(mutex_);
  for (int fd : connections_) shutdown(fd, SHUT_RDWR);  // wakes recv()
  for (std::thread& thread : threads_) thread.join();
  for (int fd : connections_) close(fd);
}

void EchoFloorServer::AcceptLoop() {
  while (!stopping_) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    NoDelay(fd);
    std::lock_guard lock(mutex_);
    connections_.push_back(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void EchoFloorServer::Serve(int fd) const {
  std::string request(request_bytes_, '\0');
  const std::string response(response_bytes_, 'x');
  while (ReadFully(fd, request.data(), request.size()) &&
         WriteFully(fd, response.data(), response.size())) {
  }
}

absl::StatusOr<CallFunction> EchoFloorServer::Connect() const {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port_));
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    absl::Status status = Errno("connect");
    close(fd);
    return status;
  }
  NoDelay(fd);
  // The socket closes when the last copy of the call function goes.
  struct Connection {
    int fd = -1;
    std::string request, response;
    ~Connection() {
      if (fd >= 0) close(fd);
    }
  };
  auto connection = std::make_shared<Connection>();
  connection->fd = fd;
  connection->request.assign(request_bytes_, 'r');
  connection->response.assign(response_bytes_, '\0');
  return CallFunction([connection] {
    return WriteFully(connection->fd, connection->request.data(), connection->request.size()) &&
           ReadFully(connection->fd, connection->response.data(), connection->response.size());
  });
}

}  // namespace cdp::bench
