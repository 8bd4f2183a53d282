#pragma once
// Test certificates made with OpenSSL's C API: a CA, a server certificate for localhost and
// 127.0.0.1, and a client certificate, all signed by the CA, written as PEM files. EC P-256 keys,
// SHA-256 signatures, valid from an hour ago for 30 days.
//
// Thread safety: free function; safe to call concurrently with distinct directories.

#include <string>

#include "absl/status/statusor.h"

namespace cdp::testing {

struct TestPki {
  std::string ca_cert;      // CA certificate (PEM)
  std::string server_cert;  // CN localhost, SAN DNS:localhost and IP:127.0.0.1, serverAuth
  std::string server_key;
  std::string client_cert;  // CN `client_name`, clientAuth
  std::string client_key;
};

// Writes the files into `dir` (which must exist), named after `prefix`. kInternal with OpenSSL's
// error when a step fails.
absl::StatusOr<TestPki> MakeTestPki(const std::string& dir, const std::string& prefix,
                                    const std::string& client_name);

}  // namespace cdp::testing
