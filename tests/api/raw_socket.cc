#include "tests/api/raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace cdp::testing {

absl::StatusOr<std::unique_ptr<RawConnection>> RawConnection::Open(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A blocking connect on loopback either succeeds or is refused at once.
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("connect to 127.0.0.1:", port, ": ", std::strerror(err)));
  }
  return std::unique_ptr<RawConnection>(new RawConnection(fd));
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::Send(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

int64_t RawConnection::ReadSome(std::string* out, absl::Duration timeout) {
  pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
  const int ms = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
  const int ready = poll(&p, 1, ms);
  if (ready <= 0) return -1;
  char buf[16 << 10];
  const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
  if (n < 0) return errno == EINTR || errno == EAGAIN ? -1 : 0;  // a reset counts as closed
  if (out != nullptr) out->append(buf, static_cast<size_t>(n));
  return n;
}

bool RawConnection::WaitClosed(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (ReadSome(nullptr, deadline - absl::Now()) == 0) return true;
  }
  return false;
}

std::string RawConnection::ReadUntilClosed(absl::Duration timeout) {
  std::string out;
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (ReadSome(&out, deadline - absl::Now()) == 0) break;
  }
  return out;
}

void RawConnection::ShutdownWrite() { shutdown(fd_, SHUT_WR); }

void RawConnection::Reset() {
  linger l{.l_onoff = 1, .l_linger = 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd_);
  fd_ = -1;
}

absl::StatusOr<std::string> HttpGet(int port, const std::string& path, absl::Duration timeout) {
  auto conn = RawConnection::Open(port);
  if (!conn.ok()) return conn.status();
  if (!(*conn)->Send(absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"))) {
    return absl::UnavailableError("the metrics endpoint closed the connection");
  }
  const std::string response = (*conn)->ReadUntilClosed(timeout);
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) {
    return absl::InternalError(absl::StrCat("not an HTTP response: ", response.substr(0, 200)));
  }
  const std::string status_line = response.substr(0, response.find("\r\n"));
  if (status_line.find(" 200") == std::string::npos) {
    return absl::InternalError(absl::StrCat("GET ", path, ": ", status_line));
  }
  return response.substr(body + 4);
}

ThriftBytes& ThriftBytes::I8(int8_t v) {
  bytes_.push_back(static_cast<char>(v));
  return *this;
}

ThriftBytes& ThriftBytes::I16(int16_t v) {
  const uint16_t be = htons(static_cast<uint16_t>(v));
  bytes_.append(reinterpret_cast<const char*>(&be), sizeof(be));
  return *this;
}

ThriftBytes& ThriftBytes::U32(uint32_t v) {
  const uint32_t be = htonl(v);
  bytes_.append(reinterpret_cast<const char*>(&be), sizeof(be));
  return *this;
}

ThriftBytes& ThriftBytes::I32(int32_t v) { return U32(static_cast<uint32_t>(v)); }

ThriftBytes& ThriftBytes::Raw(absl::string_view bytes) {
  bytes_.append(bytes.data(), bytes.size());
  return *this;
}

ThriftBytes& ThriftBytes::MessageBegin(absl::string_view name, int8_t type, int32_t seq) {
  constexpr uint32_t kVersion1 = 0x80010000;
  U32(kVersion1 | static_cast<uint8_t>(type));
  I32(static_cast<int32_t>(name.size()));
  Raw(name);
  return I32(seq);
}

ThriftBytes& ThriftBytes::Field(int8_t type, int16_t id) { return I8(type).I16(id); }

std::string ThriftBytes::Framed() const {
  ThriftBytes framed;
  framed.U32(static_cast<uint32_t>(bytes_.size())).Raw(bytes_);
  return framed.bytes_;
}

}  // namespace cdp::testing
