// The client connection and helpers shared by the client subcommands.

#include <thrift/transport/TSocket.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/auth.h"
#include "api/client_internal.h"

namespace cdp::api {

using apache::thrift::transport::TSocket;

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const ClientOptions& options) {
  auto connection = std::unique_ptr<Connection>(new Connection());
  if (!options.token.empty()) {
    connection->token_ = options.token;
  } else {
    const std::string path =
        options.token_file.empty() ? AdminTokenPath(options.data_dir) : options.token_file;
    auto token = ReadTokenFile(path);
    if (!token.ok()) {
      return absl::Status(token.status().code(),
                          absl::StrCat(token.status().message(),
                                       "; pass --token, --token-file, or --data-dir of a local "
                                       "server"));
    }
    connection->token_ = *token;
  }
  ServerLimits limits;  // the client accepts what the server may send
  limits.max_frame_bytes = size_t{64} << 20;
  limits.max_string_bytes = limits.max_frame_bytes;
  limits.max_container_elements = 10'000'000;
  auto config = MakeThriftConfiguration(limits);
  std::shared_ptr<TSocket> socket;
  if (options.tls) {
    auto tls = MakeClientTls(options.tls_options);
    if (!tls.ok()) return tls.status();
    socket = (*tls)->createSocket(options.host, options.port);
  } else {
    socket = std::make_shared<TSocket>(options.host, options.port, config);
  }
  socket->setConnTimeout(std::min(options.timeout_ms, 10000));
  socket->setRecvTimeout(options.timeout_ms);
  socket->setSendTimeout(options.timeout_ms);
  auto framed = std::make_shared<apache::thrift::transport::TFramedTransport>(socket, config);
  try {
    framed->open();
  } catch (const apache::thrift::TException& e) {
    return absl::UnavailableError(absl::StrCat("cannot connect to ", options.host, ":",
                                               options.port, " (is `cdp serve` running?): ",
                                               e.what()));
  }
  connection->transport_ = framed;
  connection->client_ = std::make_unique<t::CdpServiceClient>(MakeProtocolFactory(limits)->getProtocol(framed));
  return connection;
}

Connection::~Connection() {
  try {
    if (transport_) transport_->close();
  } catch (const apache::thrift::TException&) {
  }
}

int PrintError(const absl::Status& status) {
  std::fprintf(stderr, "cdp: %s\n", std::string(status.message()).c_str());
  return absl::IsNotFound(status) ? 3 : 1;
}

absl::StatusOr<t::Identifier> ParseIdentifier(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(
        "expected an identifier as type=value, e.g. email=ann@example.com");
  }
  t::Identifier id;
  id.type = text.substr(0, eq);
  id.value = text.substr(eq + 1);
  return id;
}

absl::StatusOr<t::PersonRef> ParsePerson(const std::string& who) {
  t::PersonRef person;
  if (who.find('=') == std::string::npos) {
    bool hex = who.size() == 32;
    for (char c : who) hex = hex && absl::ascii_isxdigit(static_cast<unsigned char>(c));
    if (!hex) {
      return absl::InvalidArgumentError(
          "expected type=value (email=ann@example.com) or a 32-hex-digit profile id");
    }
    person.__set_profile_id(who);
    return person;
  }
  auto id = ParseIdentifier(who);
  if (!id.ok()) return id.status();
  person.__set_identifier(*id);
  return person;
}

std::string FormatTime(int64_t micros) {
  if (micros == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

}  // namespace cdp::api
