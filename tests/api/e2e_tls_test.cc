// End to end over loopback on a real `cdp serve` with TLS, using certificates made by the test
// (tls_certs.h): TLS clients with a token are served, plain TCP and TLS 1.1 are refused, and
// with mutual TLS a client certificate maps to a role without a token while a client without a
// certificate is refused.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/api/raw_socket.h"
#include "tests/api/server_process.h"
#include "tests/api/tls_certs.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace cdp::testing {
namespace {

using apache::thrift::transport::TSSLSocketFactory;

// A client that offers TLS 1.1 and nothing newer. The security level is lowered so that OpenSSL
// really offers it: the refusal must come from the server.
class Tls11OnlyFactory : public TSSLSocketFactory {
 public:
  Tls11OnlyFactory() : TSSLSocketFactory(apache::thrift::transport::SSLTLS) {
    SSL_CTX_set_security_level(ctx_->get(), 0);
    SSL_CTX_set_min_proto_version(ctx_->get(), TLS1_1_VERSION);
    SSL_CTX_set_max_proto_version(ctx_->get(), TLS1_1_VERSION);
  }
};

// Whether a health call on `client` is answered. A CdpError is an answer; a transport or TLS
// failure is not, and its message goes to `failure`.
bool Answered(ApiClient& client, std::string* failure = nullptr) {
  try {
    thrift::HealthResponse health;
    client.rpc().health(health, thrift::HealthRequest());
    return health.status == "serving";
  } catch (const thrift::CdpError&) {
    return true;
  } catch (const apache::thrift::TException& e) {
    if (failure != nullptr) *failure = e.what();
    return false;
  }
}

std::optional<thrift::ErrorCode::type> GetContextCode(ApiClient& client) {
  thrift::GetContextRequest request;
  request.token = client.token();
  request.person = PersonBy("email", "tls-nobody@example.com");
  request.purpose = "support";
  thrift::GetContextResponse response;
  return ErrorCodeOf([&] { client.rpc().getContext(response, request); });
}

std::optional<thrift::ErrorCode::type> StatsCode(ApiClient& client) {
  thrift::StatsRequest request;
  request.token = client.token();
  thrift::StatsResponse response;
  return ErrorCodeOf([&] { client.rpc().stats(response, request); });
}

class E2eTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CDP_ASSERT_OK_AND_ASSIGN(pki_, MakeTestPki(dir_.path(), "main", "agent-desk"));
  }

  std::string TlsConfig(const std::string& more = "") const {
    return absl::StrCat("tls {\n  cert_file: \"", pki_.server_cert, "\"\n  key_file: \"",
                        pki_.server_key, "\"\n", more, "}\n");
  }

  TempDir dir_;
  TestPki pki_;
};

TEST_F(E2eTlsTest, TlsClientWithTokenIsServedAndPlainOrOldClientsAreRefused) {
  CDP_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start({.extra_config = TlsConfig()}));
  EXPECT_THAT(server->Stdout(), ::testing::HasSubstr("(TLS)"));

  CDP_ASSERT_OK_AND_ASSIGN(auto cx, server->ConnectTls(ServerProcess::TokenFor(TestRole::kCx),
                                                       {.ca_file = pki_.ca_cert}));
  EXPECT_TRUE(Answered(*cx));
  EXPECT_EQ(GetContextCode(*cx), std::nullopt);
  EXPECT_EQ(StatsCode(*cx), thrift::ErrorCode::PERMISSION_DENIED);

  // Plain TCP to a TLS port: the connection opens, the call does not get through.
  CDP_ASSERT_OK_AND_ASSIGN(auto plain, server->Connect(ServerProcess::TokenFor(TestRole::kCx)));
  EXPECT_FALSE(Answered(*plain)) << "a plain-TCP client was served by a TLS server";

  // TLS 1.1 only: refused (TLS 1.2 minimum).
  auto old = std::make_shared<Tls11OnlyFactory>();
  old->server(false);
  old->loadTrustedCertificates(pki_.ca_cert.c_str());
  old->authenticate(true);
  CDP_ASSERT_OK_AND_ASSIGN(auto tls11,
                           server->ConnectTls(ServerProcess::TokenFor(TestRole::kCx), old));
  std::string failure;
  EXPECT_FALSE(Answered(*tls11, &failure)) << "a TLS 1.1 client was served";
  EXPECT_THAT(failure, ::testing::HasSubstr("protocol version")) << "not refused by the server";

  // A client that trusts another CA does not accept the server.
  CDP_ASSERT_OK_AND_ASSIGN(TestPki other, MakeTestPki(dir_.path(), "other", "agent-desk"));
  CDP_ASSERT_OK_AND_ASSIGN(
      auto untrusting,
      server->ConnectTls(ServerProcess::TokenFor(TestRole::kCx), {.ca_file = other.ca_cert}));
  EXPECT_FALSE(Answered(*untrusting));

  // The refused handshakes did not hurt the server.
  CDP_ASSERT_OK_AND_ASSIGN(auto again, server->ConnectTls(ServerProcess::TokenFor(TestRole::kCx),
                                                          {.ca_file = pki_.ca_cert}));
  EXPECT_TRUE(Answered(*again));
  cx.reset();
  plain.reset();
  tls11.reset();
  untrusting.reset();
  again.reset();
  EXPECT_THAT(server->Stop(), IsOk());
}

TEST_F(E2eTlsTest, MutualTlsMapsTheClientCertificateToItsRole) {
  CDP_ASSERT_OK_AND_ASSIGN(
      auto server,
      ServerProcess::Start({.extra_config = TlsConfig(absl::StrCat(
                                "  ca_file: \"", pki_.ca_cert,
                                "\"\n  require_client_cert: true\n"
                                "  client_cert_roles { name: \"agent-desk\" role: \"cx\" }\n"))}));
  const api::ClientTlsOptions with_cert{
      .ca_file = pki_.ca_cert, .cert_file = pki_.client_cert, .key_file = pki_.client_key};

  // The certificate alone makes the caller cx: context yes, stats no.
  CDP_ASSERT_OK_AND_ASSIGN(auto desk, server->ConnectTls("", with_cert));
  EXPECT_TRUE(Answered(*desk));
  EXPECT_EQ(GetContextCode(*desk), std::nullopt);
  EXPECT_EQ(StatsCode(*desk), thrift::ErrorCode::PERMISSION_DENIED);

  // A token, when given, decides the role instead of the certificate.
  CDP_ASSERT_OK_AND_ASSIGN(
      auto admin, server->ConnectTls(ServerProcess::TokenFor(TestRole::kAdmin), with_cert));
  EXPECT_EQ(StatsCode(*admin), std::nullopt);
  CDP_ASSERT_OK_AND_ASSIGN(auto wrong, server->ConnectTls("not-a-token", with_cert));
  EXPECT_EQ(GetContextCode(*wrong), thrift::ErrorCode::UNAUTHENTICATED);

  // Without a certificate, even with a good token, the handshake fails.
  CDP_ASSERT_OK_AND_ASSIGN(
      auto anonymous,
      server->ConnectTls(ServerProcess::TokenFor(TestRole::kCx), {.ca_file = pki_.ca_cert}));
  EXPECT_FALSE(Answered(*anonymous)) << "a client without a certificate was served";

  // A certificate from another CA is refused too.
  CDP_ASSERT_OK_AND_ASSIGN(TestPki other, MakeTestPki(dir_.path(), "other", "agent-desk"));
  CDP_ASSERT_OK_AND_ASSIGN(auto stranger, server->ConnectTls("", {.ca_file = pki_.ca_cert,
                                                                  .cert_file = other.client_cert,
                                                                  .key_file = other.client_key}));
  EXPECT_FALSE(Answered(*stranger)) << "a certificate of an unknown CA was accepted";

  CDP_ASSERT_OK_AND_ASSIGN(auto again, server->ConnectTls("", with_cert));
  EXPECT_EQ(GetContextCode(*again), std::nullopt);
  desk.reset();
  admin.reset();
  wrong.reset();
  anonymous.reset();
  stranger.reset();
  again.reset();
  EXPECT_THAT(server->Stop(), IsOk());
}

// A client that sends its TLS handshake one byte a second must be dropped like a plain client
// that sends a frame that way (the 10 s frame timeout of api/transport.cc), not kept as long as
// each byte comes within the idle timeout: otherwise max_connections such clients shut everyone
// else out.
TEST_F(E2eTlsTest, HandshakeSentOneBytePerSecondIsDropped) {
  CDP_ASSERT_OK_AND_ASSIGN(
      auto server,
      ServerProcess::Start({.extra_config = TlsConfig() + "limits { recv_timeout_ms: 2000 }\n"}));
  CDP_ASSERT_OK_AND_ASSIGN(auto conn, RawConnection::Open(server->port()));
  // A TLS record header announcing a 16 KiB handshake message, then its body byte by byte.
  ASSERT_TRUE(conn->Send(absl::string_view("\x16\x03\x01\x40\x00", 5)));
  const absl::Time start = absl::Now();
  bool closed = false;
  while (!closed && absl::Now() - start < absl::Seconds(30)) {
    closed = !conn->Send(absl::string_view("\x01", 1)) || conn->WaitClosed(absl::Seconds(1));
  }
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(closed) << "a handshake trickling in was kept for " << absl::FormatDuration(took);
  if (closed) {
    EXPECT_LT(took, absl::Seconds(20)) << "dropped only after " << took;
  }

  CDP_ASSERT_OK_AND_ASSIGN(auto cx, server->ConnectTls(ServerProcess::TokenFor(TestRole::kCx),
                                                       {.ca_file = pki_.ca_cert}));
  EXPECT_TRUE(Answered(*cx));
  cx.reset();
  EXPECT_THAT(server->Stop(), IsOk());
}

}  // namespace
}  // namespace cdp::testing
