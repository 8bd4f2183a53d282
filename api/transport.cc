#include "api/transport.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TTransportException.h>

#include "absl/strings/str_cat.h"

namespace cdp::api {

using apache::thrift::TConfiguration;
using apache::thrift::transport::TSocket;
using apache::thrift::transport::TSSLSocket;
using apache::thrift::transport::TSSLSocketFactory;
using apache::thrift::transport::TTransport;
using apache::thrift::transport::TTransportException;

namespace {

// The first allocation for a frame; it doubles as bytes arrive.
constexpr uint32_t kInitialFrameChunk = 64 << 10;

// Legal access to TSSLSocket's protected SSL handle and handshake: a pointer to member formed through a class
// derived from it (never instantiated).
struct SslHandle : TSSLSocket {
  static SSL* Of(TSSLSocket& socket) { return socket.*(&SslHandle::ssl_); }
  // Runs the server-side handshake now (Thrift would run it inside the first read).
  static void Handshake(TSSLSocket& socket) { (socket.*(&SslHandle::initializeHandshake))(); }
};


}  // namespace

struct HandshakeWatchdog::State {
  std::mutex mu;
  std::condition_variable changed;
  std::map<const void*, std::pair<int, absl::Time>> armed;  // owner -> (fd, deadline)
  bool stopping = false;
  std::thread thread;

  void Loop() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping) {
      absl::Time next = absl::InfiniteFuture();
      const absl::Time now = absl::Now();
      for (auto it = armed.begin(); it != armed.end();) {
        if (it->second.second <= now) {
          ::shutdown(it->second.first, SHUT_RDWR);  // the blocked handshake fails at once
          it = armed.erase(it);
        } else {
          next = std::min(next, it->second.second);
          ++it;
        }
      }
      if (next == absl::InfiniteFuture()) {
        changed.wait(lock);
      } else {
        changed.wait_for(lock, absl::ToChronoNanoseconds(next - now));
      }
    }
  }
};

HandshakeWatchdog::HandshakeWatchdog() : state_(std::make_unique<State>()) {
  state_->thread = std::thread([s = state_.get()] { s->Loop(); });
}

HandshakeWatchdog::~HandshakeWatchdog() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
  }
  state_->changed.notify_all();
  state_->thread.join();
}

void HandshakeWatchdog::Arm(const void* owner, int fd, absl::Time deadline) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->armed[owner] = {fd, deadline};
  }
  state_->changed.notify_all();
}

void HandshakeWatchdog::Disarm(const void* owner) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->armed.erase(owner);
}

GuardedFramedTransport::GuardedFramedTransport(std::shared_ptr<TTransport> transport,
                                               std::shared_ptr<TConfiguration> config,
                                               uint32_t max_frame_bytes,
                                               absl::Duration frame_timeout, int idle_timeout_ms,
                                               std::shared_ptr<HandshakeWatchdog> watchdog)
    : TFramedTransport(transport, DEFAULT_BUFFER_SIZE, kKeptFrameBufferBytes, std::move(config)),
      socket_(dynamic_cast<TSocket*>(transport.get())),
      watchdog_(std::move(watchdog)),
      handshake_pending_(watchdog_ != nullptr &&
                         dynamic_cast<TSSLSocket*>(transport.get()) != nullptr),
      frame_timeout_(frame_timeout),
      idle_timeout_ms_(idle_timeout_ms),
      current_timeout_ms_(idle_timeout_ms) {
  setMaxFrameSize(max_frame_bytes);
}

GuardedFramedTransport::~GuardedFramedTransport() {
  if (watchdog_) watchdog_->Disarm(this);
}

void GuardedFramedTransport::close() {
  if (watchdog_) watchdog_->Disarm(this);
  ahead_begin_ = ahead_end_ = 0;
  TFramedTransport::close();
}

bool GuardedFramedTransport::peek() {
  return ahead_begin_ < ahead_end_ || TFramedTransport::peek();
}

uint32_t GuardedFramedTransport::TakeAhead(uint8_t* buf, uint32_t len) {
  const uint32_t n = std::min(len, ahead_end_ - ahead_begin_);
  if (n > 0) std::memcpy(buf, ahead_ + ahead_begin_, n);
  ahead_begin_ += n;
  if (ahead_begin_ == ahead_end_) ahead_begin_ = ahead_end_ = 0;
  return n;
}

void GuardedFramedTransport::BeginHandshake() {
  pollfd p{.fd = socket_->getSocketFD(), .events = POLLIN, .revents = 0};
  int ready;
  do {
    ready = ::poll(&p, 1, idle_timeout_ms_);
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) {
    throw TTransportException(TTransportException::TIMED_OUT, "no TLS handshake before the idle timeout");
  }
  watchdog_->Arm(this, p.fd, absl::Now() + frame_timeout_);
  try {
    SslHandle::Handshake(*static_cast<TSSLSocket*>(socket_));
  } catch (...) {
    watchdog_->Disarm(this);
    throw;
  }
  watchdog_->Disarm(this);
}

uint32_t GuardedFramedTransport::ReadSome(uint8_t* buf, uint32_t len, absl::Time deadline) {
  if (socket_ != nullptr && deadline != absl::InfiniteFuture()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      RestoreTimeout();
      throw TTransportException(TTransportException::TIMED_OUT,
                                "frame not received within the frame timeout");
    }
    const int ms = static_cast<int>(
        std::clamp<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1, idle_timeout_ms_));
    if (ms < current_timeout_ms_) {
      socket_->setRecvTimeout(ms);
      current_timeout_ms_ = ms;
    }
  }
  return transport_->read(buf, len);
}

void GuardedFramedTransport::RestoreTimeout() {
  if (socket_ != nullptr && current_timeout_ms_ != idle_timeout_ms_) {
    socket_->setRecvTimeout(idle_timeout_ms_);
    current_timeout_ms_ = idle_timeout_ms_;
  }
}

void GuardedFramedTransport::EnsureCapacity(uint32_t bytes, uint32_t keep) {
  if (bytes <= rBufSize_) return;
  auto* grown = new uint8_t[bytes];
  if (keep > 0) std::memcpy(grown, rBuf_.get(), keep);
  rBuf_.reset(grown);
  rBufSize_ = bytes;
}

// Like TFramedTransport::readFrame, but the buffer grows with the bytes received and the whole
// frame must arrive within frame_timeout_ of its first byte. The first read of a header and of a
// body use the socket's own (idle) timeout, so a frame that arrives at once costs no extra
// system call; only a frame that trickles in gets the shrinking deadline. The header is read with
// up to kReadAheadBytes behind it: a small frame then needs one recv, and bytes past its end
// (a pipelining client's next frame) wait in ahead_ for the next call.
bool GuardedFramedTransport::readFrame() {
  uint8_t header[4];
  uint32_t got = 0;
  absl::Time deadline = absl::InfiniteFuture();
  if (handshake_pending_) {
    handshake_pending_ = false;
    BeginHandshake();
  }
  while (got < sizeof(header)) {
    if (ahead_begin_ == ahead_end_) {
      const uint32_t n = ReadSome(ahead_, kReadAheadBytes, deadline);
      if (n == 0) {
        RestoreTimeout();
        if (got == 0) return false;
        throw TTransportException(TTransportException::END_OF_FILE,
                                  "connection closed inside a frame header");
      }
      ahead_begin_ = 0;
      ahead_end_ = n;
    }
    got += TakeAhead(header + got, static_cast<uint32_t>(sizeof(header)) - got);
    if (deadline == absl::InfiniteFuture()) deadline = absl::Now() + frame_timeout_;
  }
  uint32_t size;
  std::memcpy(&size, header, sizeof(size));
  size = ntohl(size);
  if (size > maxFrameSize_) {
    RestoreTimeout();
    throw TTransportException(TTransportException::CORRUPTED_DATA,
                              absl::StrCat("frame of ", size, " bytes exceeds the limit of ",
                                           maxFrameSize_));
  }
  EnsureCapacity(std::min(size, kInitialFrameChunk), 0);
  static_assert(kReadAheadBytes <= kInitialFrameChunk);  // what is ahead fits the first chunk
  uint32_t have = TakeAhead(rBuf_.get(), size);
  bool first_read = true;
  while (have < size) {
    if (have == rBufSize_) {
      EnsureCapacity(static_cast<uint32_t>(std::min<uint64_t>(size, uint64_t{rBufSize_} * 2)),
                     have);
    }
    const uint32_t want = std::min(size, rBufSize_) - have;
    // The first read of the body finds it already received in the common case: no deadline,
    // hence no setsockopt; only a body that trickles in gets the shrinking timeout.
    const uint32_t n =
        ReadSome(rBuf_.get() + have, want, first_read ? absl::InfiniteFuture() : deadline);
    first_read = false;
    if (n == 0) {
      RestoreTimeout();
      throw TTransportException(TTransportException::END_OF_FILE,
                                "connection closed inside a frame");
    }
    have += n;
  }
  RestoreTimeout();
  // Thrift counts the bytes a protocol consumes (strings are borrowed and consumed) against the
  // maximum message size; the count starts over with each frame. Without this a connection was
  // dropped ("MaxMessageSize reached") once its messages added up to the limit. (Not shrunk to
  // the frame's size: a read checks the count before it reads the next frame.)
  resetConsumedMessageSize();
  setReadBuffer(rBuf_.get(), size);
  return true;
}

GuardedFramedTransportFactory::GuardedFramedTransportFactory(const ServerLimits& limits)
    : config_(MakeThriftConfiguration(limits)),
      limits_(limits),
      watchdog_(std::make_shared<HandshakeWatchdog>()) {}

std::shared_ptr<TTransport> GuardedFramedTransportFactory::getTransport(
    std::shared_ptr<TTransport> trans) {
  return std::make_shared<GuardedFramedTransport>(
      std::move(trans), config_, static_cast<uint32_t>(limits_.max_frame_bytes),
      absl::Milliseconds(limits_.frame_timeout_ms),
      limits_.recv_timeout_ms, watchdog_);
}

std::shared_ptr<TConfiguration> MakeThriftConfiguration(const ServerLimits& limits) {
  const int frame = static_cast<int>(limits.max_frame_bytes);
  return std::make_shared<TConfiguration>(/*maxMessageSize=*/frame, /*maxFrameSize=*/frame,
                                          /*recursionLimit=*/32);
}

std::shared_ptr<apache::thrift::protocol::TProtocolFactory> MakeProtocolFactory(
    const ServerLimits& limits) {
  // Typed on the framed transport: on a TFramedTransport (both ends of our connections) the
  // protocol reads and writes the frame buffer through inline calls instead of one virtual call
  // per field, which was ~5% of a getContext's instructions (a response has ~200 fields).
  // Any other transport gets the generic protocol; the limits are the same either way.
  return std::make_shared<apache::thrift::protocol::TBinaryProtocolFactoryT<
      apache::thrift::transport::TFramedTransport>>(
      static_cast<int32_t>(limits.max_string_bytes),
      static_cast<int32_t>(limits.max_container_elements), /*strict_read=*/true,
      /*strict_write=*/true);
}

namespace {

// TSSLSocketFactory with TLS 1.2 as the lowest version (Thrift 0.17 still allows 1.0 and 1.1).
class ModernTlsFactory : public TSSLSocketFactory {
 public:
  ModernTlsFactory() : TSSLSocketFactory(apache::thrift::transport::SSLTLS) {
    SSL_CTX_set_min_proto_version(ctx_->get(), TLS1_2_VERSION);
  }
};

template <typename Fn>
absl::Status TlsStep(absl::string_view what, const std::string& file, Fn&& fn) {
  try {
    fn();
  } catch (const apache::thrift::TException& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", file, ": ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<TSSLSocketFactory>> MakeServerTls(const TlsSettings& tls) {
  std::shared_ptr<TSSLSocketFactory> factory;
  try {
    factory = std::make_shared<ModernTlsFactory>();
  } catch (const apache::thrift::TException& e) {
    return absl::InternalError(absl::StrCat("TLS set-up failed: ", e.what()));
  }
  factory->server(true);
  absl::Status s = TlsStep("tls.cert_file", tls.cert_file,
                           [&] { factory->loadCertificate(tls.cert_file.c_str()); });
  if (s.ok()) {
    s = TlsStep("tls.key_file", tls.key_file,
                [&] { factory->loadPrivateKey(tls.key_file.c_str()); });
  }
  if (s.ok() && !tls.ca_file.empty()) {
    s = TlsStep("tls.ca_file", tls.ca_file,
                [&] { factory->loadTrustedCertificates(tls.ca_file.c_str()); });
  }
  if (!s.ok()) return s;
  factory->authenticate(tls.require_client_cert);
  return factory;
}

absl::StatusOr<std::shared_ptr<TSSLSocketFactory>> MakeClientTls(
    const ClientTlsOptions& options) {
  std::shared_ptr<TSSLSocketFactory> factory;
  try {
    factory = std::make_shared<ModernTlsFactory>();
  } catch (const apache::thrift::TException& e) {
    return absl::InternalError(absl::StrCat("TLS set-up failed: ", e.what()));
  }
  factory->server(false);
  absl::Status s = TlsStep("CA file", options.ca_file, [&] {
    factory->loadTrustedCertificates(options.ca_file.c_str());
  });
  if (s.ok() && !options.cert_file.empty()) {
    s = TlsStep("client certificate", options.cert_file,
                [&] { factory->loadCertificate(options.cert_file.c_str()); });
    if (s.ok()) {
      s = TlsStep("client key", options.key_file,
                  [&] { factory->loadPrivateKey(options.key_file.c_str()); });
    }
  }
  if (!s.ok()) return s;
  factory->authenticate(true);
  if (options.check_host) {
    factory->access(std::make_shared<apache::thrift::transport::DefaultClientAccessManager>());
  }
  return factory;
}

std::vector<std::string> PeerCertificateNames(TTransport* transport) {
  std::vector<std::string> names;
  auto* tls = dynamic_cast<TSSLSocket*>(transport);
  if (tls == nullptr) return names;
  SSL* ssl = SslHandle::Of(*tls);
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return names;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return names;
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len > 0) names.emplace_back(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
  }
  auto* alt = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (alt != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(alt); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt, i);
      if (name->type != GEN_DNS) continue;
      const ASN1_IA5STRING* dns = name->d.dNSName;
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                         static_cast<size_t>(ASN1_STRING_length(dns)));
    }
    GENERAL_NAMES_free(alt);
  }
  return names;
}

}  // namespace cdp::api
