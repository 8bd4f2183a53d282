// ParseServerConfig validation: every invalid value or combination fails with kInvalidArgument
// naming the field path, including the errors of the module Validate() functions.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/server_config.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace cdp::api {
namespace {

using ::cdp::testing::StatusIs;
using ::cdp::testing::TempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kHashA[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr char kHashB[] = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

std::string Token(absl::string_view name, absl::string_view hash, absl::string_view role) {
  return absl::StrCat("tokens { name: \"", name, "\" sha256_hex: \"", hash, "\" role: \"", role,
                      "\" }\n");
}

struct Case {
  std::string text;
  std::string expected;  // the message starts with this (field path and reason)
};

class ServerConfigValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.Sub("cert.pem")) << "cert";
    std::ofstream(dir_.Sub("key.pem")) << "key";
    std::ofstream(dir_.Sub("ca.pem")) << "ca";
    std::ofstream(dir_.Sub("empty.pem"));
  }

  std::string Tls(absl::string_view body) { return absl::StrCat("tls { ", body, " }"); }
  std::string File(absl::string_view field, absl::string_view name) {
    return absl::StrCat(field, ": \"", dir_.Sub(std::string(name)), "\" ");
  }

  void ExpectAll(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
      EXPECT_THAT(ParseServerConfig(c.text),
                  StatusIs(absl::StatusCode::kInvalidArgument, StartsWith(c.expected)))
          << c.text;
    }
  }

  TempDir dir_;
};

TEST_F(ServerConfigValidationTest, RejectsBadAddresses) {
  ExpectAll({
      {"listen { port: 0 }", "listen.port: must be in 1..65535"},
      {"listen { port: 65536 }", "listen.port: must be in 1..65535"},
      {"listen { port: -1 }", "listen.port: must be in 1..65535"},
      {"metrics { port: 0 }", "metrics.port: must be in 1..65535"},
      {"metrics { port: 7600 }", "metrics.port: must differ from listen.port"},
      {R"pb(listen { host: "0.0.0.0" }
            metrics { port: 7600 })pb",
       "metrics.port: must differ from listen.port"},
  });
  // A disabled endpoint does not collide.
  EXPECT_TRUE(ParseServerConfig("metrics { port: 7600 disabled: true }").ok());
}

TEST_F(ServerConfigValidationTest, RejectsBadTokens) {
  ExpectAll({
      {Token("a", "abc", "cx"), "tokens[0].sha256_hex: must be 64 hex characters"},
      {Token("a", kHashA, "cx") + Token("b", std::string(63, 'a') + "g", "cx"),
       "tokens[1].sha256_hex: must be 64 hex characters"},
      {Token("a", kHashA, "cx") + Token("a", kHashB, "cx"), "tokens[1].name: duplicate name"},
      {Token("a", kHashA, "cx") + Token("b", kHashA, "cx"),
       "tokens[1].sha256_hex: the same hash as tokens[0]"},
      {Token("", kHashA, "cx"), "tokens[0].name: must be"},
      {Token("has space", kHashA, "cx"), "tokens[0].name: must be"},
      {Token("a", kHashA, "boss"),
       "tokens[0].role: unknown role \"boss\" (expected cx, ingest, compliance or admin)"},
      {Token("a", kHashA, ""), "tokens[0].role: required"},
  });
}

TEST_F(ServerConfigValidationTest, ErrorsNeverQuoteATokenHash) {
  const std::string text = Token("a", kHashA, "cx") + Token("b", kHashA, "cx");
  EXPECT_THAT(ParseServerConfig(text),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr(kHashA))));
}

TEST_F(ServerConfigValidationTest, RejectsInconsistentTls) {
  const std::string cert = File("cert_file", "cert.pem");
  const std::string key = File("key_file", "key.pem");
  const std::string ca = File("ca_file", "ca.pem");
  ExpectAll({
      {Tls(cert), "tls.key_file: required when tls.cert_file is set"},
      {Tls(key), "tls.cert_file: required when tls.key_file is set"},
      {Tls(ca), "tls.cert_file: required when tls.ca_file is set"},
      {Tls(cert + key + "require_client_cert: true"),
       "tls.require_client_cert: requires tls.ca_file"},
      {Tls(cert + key + ca + "client_cert_roles { name: \"x\" role: \"cx\" }"),
       "tls.client_cert_roles: requires tls.require_client_cert"},
      {Tls(cert + key + ca + "require_client_cert: true client_cert_roles { name: \"x\" }"),
       "tls.client_cert_roles[0].role: required"},
      {Tls(cert + key + ca + "require_client_cert: true client_cert_roles { role: \"cx\" }"),
       "tls.client_cert_roles[0].name: required"},
      {Tls(cert + key + ca +
           "require_client_cert: true client_cert_roles { name: \"x\" role: \"root\" }"),
       "tls.client_cert_roles[0].role: unknown role \"root\""},
      {Tls(cert + key + ca +
           "require_client_cert: true client_cert_roles { name: \"x\" role: \"cx\" } "
           "client_cert_roles { name: \"x\" role: \"admin\" }"),
       "tls.client_cert_roles[1].name: \"x\" is already in tls.client_cert_roles[0]"},
  });
  EXPECT_TRUE(ParseServerConfig(Tls(cert + key + ca + "require_client_cert: true")).ok());
}

TEST_F(ServerConfigValidationTest, RejectsUnreadableTlsFiles) {
  const std::string key = File("key_file", "key.pem");
  ExpectAll({
      {Tls("cert_file: \"/nonexistent/cert.pem\" " + key),
       "tls.cert_file: cannot read /nonexistent/cert.pem: No such file or directory"},
      {Tls(File("cert_file", "cert.pem") + File("key_file", "missing.pem")),
       "tls.key_file: cannot read "},
      {Tls(File("cert_file", "cert.pem") + key + File("ca_file", "empty.pem")),
       absl::StrCat("tls.ca_file: ", dir_.Sub("empty.pem"), " is empty")},
      {Tls(absl::StrCat("cert_file: \"", dir_.path(), "\" ", key)),
       absl::StrCat("tls.cert_file: cannot read ", dir_.path(), ": Is a directory")},
  });
}

TEST_F(ServerConfigValidationTest, RejectsBadLimits) {
  ExpectAll({
      {"limits { max_frame_bytes: 4194304 }",
       "limits.max_frame_bytes: must be at least ingest.max_batch_bytes + 1 MiB"},
      {"ingest { max_batch_bytes: 8388608 } limits { max_frame_bytes: 9000000 }",
       "limits.max_frame_bytes: must be at least ingest.max_batch_bytes + 1 MiB"},
      {"limits { max_frame_bytes: 4294967296 }", "limits.max_frame_bytes: must be in 1.."},
      {"limits { max_string_bytes: 1024 }",
       "limits.max_string_bytes: must be at least ingest.max_batch_bytes"},
      {"limits { max_string_bytes: 16777217 }", "limits.max_string_bytes: must be in 1..16777216"},
      {"limits { max_container_elements: 0 }", "limits.max_container_elements: must be in 1.."},
      {"limits { recv_timeout_ms: 0 }", "limits.recv_timeout_ms: must be in 1..3600000"},
      {"limits { send_timeout_ms: 3600001 }", "limits.send_timeout_ms: must be in 1..3600000"},
      {"limits { frame_timeout_ms: 99 }", "limits.frame_timeout_ms: must be in 100..3600000"},
      {"limits { frame_timeout_ms: 3600001 }",
       "limits.frame_timeout_ms: must be in 100..3600000"},
      {"limits { max_connections: 0 }", "limits.max_connections: must be in 1..4096"},
      {"limits { max_inflight_writes: 0 }", "limits.max_inflight_writes: must be in 1..4096"},
      {"limits { max_inflight_reads: 0 }", "limits.max_inflight_reads: must be in 1..4096"},
      {"storage { block_cache_mib: 0 }", "storage.block_cache_mib: must be in 1..1048576"},
      {"storage { event_cache_percent: 0 }", "storage.event_cache_percent: must be in 1..99"},
      {"storage { event_cache_percent: 100 }", "storage.event_cache_percent: must be in 1..99"},
      {"storage { data_key_cache_keys: 15 }",
       "storage.data_key_cache_keys: must be in 16..1000000000"},
      {"storage { data_key_cache_keys: 1000000001 }",
       "storage.data_key_cache_keys: must be in 16..1000000000"},
  });
}

TEST_F(ServerConfigValidationTest, RejectsBadConsentValues) {
  ExpectAll({
      {R"pb(consent { purposes { name: "a" basis: "whim" } })pb",
       "consent.purposes[0].basis: unknown legal basis \"whim\""},
      {R"pb(consent {
              purposes {
                name: "a"
                data_kinds: [ "events", "dna" ]
              }
            })pb",
       "consent.purposes[0].data_kinds[1]: unknown data kind \"dna\""},
      {R"pb(consent { retention { events_ttl: "forever" } })pb",
       "consent.retention.events_ttl: \"forever\" is not a duration"},
      {R"pb(consent { retention { audit_ttl: "0d" } })pb",
       "consent.retention.audit_ttl: a TTL must be positive"},
      {R"pb(consent { retention { event_type_ttl { key: "page" value: "" } } })pb",
       "consent.retention.event_type_ttl[page]: required"},
      {R"pb(consent { retention { event_name_ttl { key: "Viewed" value: "-1h" } } })pb",
       "consent.retention.event_name_ttl[Viewed]: a TTL must be positive"},
  });
}

// The module Validate() functions run on the resolved options; their errors carry the path of
// the field in the file, not the C++ struct name.
TEST_F(ServerConfigValidationTest, ModuleValidationSurfacesWithTheConfigPath) {
  ExpectAll({
      {R"pb(identity { default_phone_region: "usa" })pb", "identity.default_phone_region: "},
      {R"pb(identity { max_identifiers_per_profile: 0 })pb",
       "identity.max_identifiers_per_profile: must be at least 1"},
      {R"pb(identity { custom_types: "email" })pb", "identity.custom_types[0]: "},
      {R"pb(identity { max_values_per_type { key: "shoe_size" value: 1 } })pb",
       "identity.max_values_per_type[shoe_size]: "},
      {R"pb(identity { default_blocked_patterns { patterns: "[a" } })pb",
       "identity.default_blocked_patterns[0]: invalid regex"},
      {R"pb(consent { default_event_purposes: "spying" })pb",
       "consent.default_event_purposes[0]: unknown purpose \"spying\""},
      {R"pb(consent {
              purposes { name: "a" }
              purposes { name: "a" }
            })pb",
       "consent.purposes[1].name: duplicate"},
      {R"pb(consent {
              purposes { name: "support" }
              category_purposes {
                key: "ads"
                value { purposes: "marketing" }
              }
            })pb",
       "consent.category_purposes[ads][0]: unknown purpose \"marketing\""},
      {R"pb(ingest { max_event_bytes: 10 })pb", "ingest.max_event_bytes: must be at least 64"},
      {R"pb(ingest { max_nesting_depth: 2 })pb", "ingest.max_nesting_depth: "},
      {R"pb(ingest { max_traits_per_profile: 0 })pb",
       "ingest.max_traits_per_profile: must be in 1..1000000"},
      {R"pb(ingest { max_event_names_per_profile: 2000000 })pb",
       "ingest.max_event_names_per_profile: must be in 1..1000000"},
      {R"pb(ingest { max_groups_per_profile: 0 })pb", "ingest.max_groups_per_profile: "},
      {R"pb(ingest { custom_identifier_paths { type: "email" path: "traits.mail" } })pb",
       "ingest.custom_identifier_paths[0].type: "},
      {R"pb(ingest { custom_identifier_paths { type: "crm_id" path: "traits.crm" } })pb",
       "ingest.custom_identifier_paths[0].type: \"crm_id\" is not in identity.custom_types"},
  });
  EXPECT_THAT(ParseServerConfig(R"pb(identity { max_merges_per_profile: 0 })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(Not(HasSubstr("IdentityOptions")), HasSubstr("identity."))));
}

}  // namespace
}  // namespace cdp::api
