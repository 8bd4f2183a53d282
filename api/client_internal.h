#pragma once
// Shared by the client subcommands (client_*.cc): the connection, argument parsing, output and
// error handling. Not for use outside api/.

#include <cstdio>
#include <memory>
#include <string>

#include <thrift/Thrift.h>

#include "absl/status/statusor.h"
#include "api/client.h"
#include "api/gen-cpp/CdpService.h"
#include "api/json_writer.h"

namespace cdp::api {

namespace t = ::cdp::api::thrift;

class Connection {
 public:
  // Connects (TLS when options.tls) and resolves the token (see ClientOptions::token).
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const ClientOptions& options);
  ~Connection();

  t::CdpServiceClient& rpc() { return *client_; }
  const std::string& token() const { return token_; }

 private:
  std::shared_ptr<apache::thrift::transport::TTransport> transport_;
  std::unique_ptr<t::CdpServiceClient> client_;
  std::string token_;
};

int PrintError(const absl::Status& status);
// Runs `call(connection)`; a CdpError or transport failure is printed and becomes the exit code
// (NOT_FOUND 3, anything else 1).
template <typename Fn>
int WithServer(const ClientOptions& options, Fn&& call) {
  auto connection = Connection::Open(options);
  if (!connection.ok()) return PrintError(connection.status());
  try {
    return call(**connection);
  } catch (const t::CdpError& e) {
    std::fprintf(stderr, "cdp: %s: %s\n", t::to_string(e.code).c_str(), e.message.c_str());
    return e.code == t::ErrorCode::NOT_FOUND ? 3 : 1;
  } catch (const apache::thrift::TException& e) {
    std::fprintf(stderr, "cdp: talking to %s:%d failed: %s\n", options.host.c_str(), options.port,
                 e.what());
    return 1;
  }
}

// "type=value" -> identifier; 32 hex digits -> profile id.
absl::StatusOr<t::PersonRef> ParsePerson(const std::string& who);
absl::StatusOr<t::Identifier> ParseIdentifier(const std::string& text);
std::string FormatTime(int64_t micros);

template <typename T>
void PrintJson(const T& value) {
  std::printf("%s\n", ToJson(value).c_str());
}

}  // namespace cdp::api
