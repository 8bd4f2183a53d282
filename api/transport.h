#pragma once
// The Thrift transport stack of the server and the client, hardened for hostile input
// (DESIGN.md "API over Thrift": limits are mandatory on Thrift 0.17).
//
// - GuardedFramedTransport: a framed transport that refuses a frame longer than the limit before
//   reading it, grows its buffer only as bytes actually arrive (a declared 16 MiB frame that never
//   comes costs nothing), bounds the time to receive one frame once its first byte arrived
//   (a client sending one byte a second is dropped), and gives large buffers back after use.
// - MakeProtocolFactory: binary protocol with string and container size limits, so a declared
//   1 GiB string or a list of 2^26 structs is refused before anything is allocated.
// - TLS: TLS 1.2 minimum, the server's certificate and key, optionally client certificates
//   verified against a CA (mutual TLS) and the names on them read back for authorization.

#include <memory>
#include <string>
#include <vector>

#include <thrift/TConfiguration.h>
#include <thrift/protocol/TProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSSLSocket.h>
#include <thrift/transport/TSocket.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/server_config.h"

namespace cdp::api {

// Bytes of a frame buffer kept between messages; larger buffers are freed after each message.
inline constexpr uint32_t kKeptFrameBufferBytes = 1 << 20;

// Bounds TLS handshakes: a handshake runs inside the first read of a connection, where the
// socket's receive timeout restarts with every byte, so a client sending one byte a second could
// hold a connection slot forever. Once the handshake's first byte has arrived, the connection is
// armed with a deadline; a thread shuts down (shutdown(2)) connections still armed past it, which
// makes the blocked handshake fail. Thread safety: safe for concurrent use.
class HandshakeWatchdog {
 public:
  HandshakeWatchdog();
  ~HandshakeWatchdog();
  void Arm(const void* owner, int fd, absl::Time deadline);
  // Must be called before the owner's socket is closed (the fd could be reused).
  void Disarm(const void* owner);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class GuardedFramedTransport : public apache::thrift::transport::TFramedTransport {
 public:
  // `frame_timeout`: longest time between the first byte of a frame and its last.
  // `watchdog` (may be null) bounds the TLS handshake of a TSSLSocket by frame_timeout.
  GuardedFramedTransport(std::shared_ptr<apache::thrift::transport::TTransport> transport,
                         std::shared_ptr<apache::thrift::TConfiguration> config,
                         uint32_t max_frame_bytes, absl::Duration frame_timeout,
                         int idle_timeout_ms, std::shared_ptr<HandshakeWatchdog> watchdog = nullptr);
  ~GuardedFramedTransport() override;

  void close() override;
  // Also true while bytes of a next frame wait in the read-ahead buffer: the server asks before
  // each call, and the socket alone would say (or wait) otherwise.
  bool peek() override;

 protected:
  bool readFrame() override;

 private:
  // Bytes of a socket read kept for the frame they belong to: a frame's header is read with up to
  // this many bytes behind it, so a small call arrives in one recv instead of two.
  static constexpr uint32_t kReadAheadBytes = 8 << 10;

  // Moves up to `len` read-ahead bytes into `buf`; returns how many.
  uint32_t TakeAhead(uint8_t* buf, uint32_t len);
  // Reads at most `len` bytes; past the frame deadline throws TIMED_OUT.
  uint32_t ReadSome(uint8_t* buf, uint32_t len, absl::Time deadline);
  void EnsureCapacity(uint32_t bytes, uint32_t keep);
  void RestoreTimeout();
  // Before the first read of a TLS connection: waits (idle timeout) for the handshake to begin,
  // then arms the watchdog.
  void BeginHandshake();

  apache::thrift::transport::TSocket* socket_;
  std::shared_ptr<HandshakeWatchdog> watchdog_;
  bool handshake_pending_;  // the underlying socket, when it is one
  const absl::Duration frame_timeout_;
  const int idle_timeout_ms_;
  int current_timeout_ms_;
  uint8_t ahead_[kReadAheadBytes];
  uint32_t ahead_begin_ = 0;  // ahead_[ahead_begin_, ahead_end_) not yet handed to a frame
  uint32_t ahead_end_ = 0;
};

class GuardedFramedTransportFactory : public apache::thrift::transport::TTransportFactory {
 public:
  explicit GuardedFramedTransportFactory(const ServerLimits& limits);
  std::shared_ptr<apache::thrift::transport::TTransport> getTransport(
      std::shared_ptr<apache::thrift::transport::TTransport> trans) override;

 private:
  std::shared_ptr<apache::thrift::TConfiguration> config_;
  ServerLimits limits_;
  std::shared_ptr<HandshakeWatchdog> watchdog_;
};

// Thrift's own limits (message and frame size, recursion depth) from ours.
std::shared_ptr<apache::thrift::TConfiguration> MakeThriftConfiguration(
    const ServerLimits& limits);

// Binary protocol (strict) with the string and container limits.
std::shared_ptr<apache::thrift::protocol::TProtocolFactory> MakeProtocolFactory(
    const ServerLimits& limits);

// A server-side TLS socket factory: TLS 1.2 or later, `tls`'s certificate and key, client
// certificates required and verified against tls.ca_file when tls.require_client_cert.
// kInvalidArgument naming the file when OpenSSL refuses one.
absl::StatusOr<std::shared_ptr<apache::thrift::transport::TSSLSocketFactory>> MakeServerTls(
    const TlsSettings& tls);

struct ClientTlsOptions {
  std::string ca_file;     // CA that signed the server certificate (required)
  std::string cert_file;   // client certificate for mutual TLS (optional)
  std::string key_file;    // its key
  bool check_host = true;  // verify the server certificate's name against the host
};

// A client-side TLS socket factory: TLS 1.2 or later, the server verified against ca_file.
absl::StatusOr<std::shared_ptr<apache::thrift::transport::TSSLSocketFactory>> MakeClientTls(
    const ClientTlsOptions& options);

// The subject common name and DNS subject-alternative names of the verified client certificate
// of a TLS connection; empty for a plain socket or when the client sent no certificate.
std::vector<std::string> PeerCertificateNames(apache::thrift::transport::TTransport* transport);

}  // namespace cdp::api
