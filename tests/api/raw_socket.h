#pragma once
// Raw loopback sockets for the end-to-end tests: hand-made Thrift frames (hostile input), a plain
// HTTP GET (the Prometheus endpoint), and a way to watch the server close a connection.
//
// Every wait takes a timeout; nothing blocks without one. Sends never raise SIGPIPE.
// Thread safety: a RawConnection is used by one thread at a time.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cdp::testing {

class RawConnection {
 public:
  // A TCP connection to 127.0.0.1:port. kUnavailable when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<RawConnection>> Open(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends every byte; false when the peer has closed or reset the connection.
  bool Send(absl::string_view bytes);
  // Waits until the peer closes the connection (EOF or reset), discarding what it sends.
  // true when closed within `timeout`.
  bool WaitClosed(absl::Duration timeout);
  // Everything the peer sends until it closes the connection or `timeout` passes.
  std::string ReadUntilClosed(absl::Duration timeout);
  // No more bytes from us; the peer sees EOF.
  void ShutdownWrite();
  // Closes with SO_LINGER 0, so the peer sees a reset instead of an orderly close.
  void Reset();

 private:
  explicit RawConnection(int fd) : fd_(fd) {}
  // Reads what is available within `timeout`: >0 bytes read, 0 EOF or reset, -1 nothing yet.
  int64_t ReadSome(std::string* out, absl::Duration timeout);

  int fd_;
};

// The body of GET `path` on 127.0.0.1:port (HTTP/1.0, the server closes the connection).
// kUnavailable when the connection fails, kInternal for a status other than 200.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path,
                                    absl::Duration timeout = absl::Seconds(30));

// Builds Thrift binary-protocol (strict) bytes by hand, for frames no Thrift writer would make.
class ThriftBytes {
 public:
  ThriftBytes& I8(int8_t v);
  ThriftBytes& I16(int16_t v);
  ThriftBytes& I32(int32_t v);
  ThriftBytes& U32(uint32_t v);
  ThriftBytes& Raw(absl::string_view bytes);
  // A strict message header: version|type, name, sequence id.
  ThriftBytes& MessageBegin(absl::string_view name, int8_t type, int32_t seq);
  // A field header: type and id.
  ThriftBytes& Field(int8_t type, int16_t id);
  ThriftBytes& Stop() { return I8(0); }

  const std::string& bytes() const { return bytes_; }
  // The bytes with a 4-byte frame length in front.
  std::string Framed() const;

 private:
  std::string bytes_;
};

// Thrift binary-protocol type ids and message types.
inline constexpr int8_t kTString = 11;
inline constexpr int8_t kTStruct = 12;
inline constexpr int8_t kTList = 15;
inline constexpr int8_t kMessageCall = 1;

}  // namespace cdp::testing
