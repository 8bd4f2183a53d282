// ParseServerConfig / LoadServerConfig: defaults, every section resolved, syntax errors, the
// documented example, roles. Validation errors are in server_config_validation_test.cc.

#include "api/server_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace cdp::api {
namespace {

using ::cdp::testing::StatusIs;
using ::cdp::testing::TempDir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

constexpr char kHashA[] = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
constexpr char kHashB[] = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

TEST(ServerConfigTest, EmptyTextGivesTheEmbeddedDefault) {
  CDP_ASSERT_OK_AND_ASSIGN(ServerConfig config, ParseServerConfig(""));
  EXPECT_EQ(config.data_dir, "./cdp-data");
  EXPECT_EQ(config.listen.host, "127.0.0.1");
  EXPECT_EQ(config.listen.port, 7600);
  EXPECT_EQ(config.metrics.host, "127.0.0.1");
  EXPECT_EQ(config.metrics.port, 7601);
  EXPECT_TRUE(config.metrics_enabled);
  EXPECT_FALSE(config.tls.enabled());
  EXPECT_FALSE(config.tls.require_client_cert);
  EXPECT_TRUE(config.tokens.empty());
  EXPECT_EQ(config.limits.max_frame_bytes, size_t{16} << 20);
  EXPECT_EQ(config.limits.max_string_bytes, size_t{16} << 20);
  EXPECT_EQ(config.limits.max_container_elements, 100000u);
  EXPECT_EQ(config.limits.recv_timeout_ms, 30000);
  EXPECT_EQ(config.limits.send_timeout_ms, 30000);
  EXPECT_EQ(config.limits.frame_timeout_ms, 10000);
  EXPECT_EQ(config.limits.max_connections, 64);
  EXPECT_EQ(config.limits.max_inflight_writes, 4);
  EXPECT_EQ(config.limits.max_inflight_reads, 64);
  EXPECT_EQ(config.block_cache_bytes, DefaultBlockCacheBytes());
  EXPECT_EQ(config.event_cache_percent, 50u);
  EXPECT_TRUE(config.resident_index);
  EXPECT_TRUE(config.mmap_reads);
  EXPECT_EQ(config.data_key_cache_keys, storage::DefaultDataKeyCacheCapacity());
  EXPECT_GE(DefaultBlockCacheBytes(), size_t{64} << 20);
  EXPECT_LE(DefaultBlockCacheBytes(), size_t{64} << 30);
  EXPECT_EQ(DefaultBlockCacheBytes() % (size_t{1} << 20), 0u);  // whole MiB
  EXPECT_EQ(config.identity.default_phone_region, "US");
  EXPECT_EQ(config.identity.default_blocked_patterns, identity::DefaultBlockedPatterns());
  EXPECT_EQ(config.consent.purposes.size(), consent::ConsentOptions::DefaultPurposes().size());
  EXPECT_EQ(config.consent.category_purposes.size(), 2u);
  EXPECT_EQ(config.parser.max_batch_bytes, size_t{4} << 20);

  const ServerConfig fallback = DefaultServerConfig();
  EXPECT_EQ(fallback.data_dir, config.data_dir);
  EXPECT_EQ(fallback.listen.port, config.listen.port);
  EXPECT_EQ(fallback.limits.max_frame_bytes, config.limits.max_frame_bytes);
  EXPECT_TRUE(fallback.identity.Validate().ok());
  EXPECT_TRUE(fallback.consent.Validate().ok());
  EXPECT_TRUE(fallback.parser.Validate().ok());
}

TEST(ServerConfigTest, ResolvesEverySection) {
  TempDir dir;
  WriteFile(dir.Sub("cert.pem"), "cert");
  WriteFile(dir.Sub("key.pem"), "key");
  WriteFile(dir.Sub("ca.pem"), "ca");
  // $DIR, $HASH_A and $HASH_B are filled in below.
  constexpr char kFull[] = R"pb(
    data_dir: "/srv/cdp"
    listen { host: "0.0.0.0" port: 9000 }
    metrics { host: "10.0.0.1" port: 9001 disabled: true }
    tls {
      cert_file: "$DIR/cert.pem"
      key_file: "$DIR/key.pem"
      ca_file: "$DIR/ca.pem"
      require_client_cert: true
      client_cert_roles { name: "desk.internal" role: "cx" }
      client_cert_roles { name: "Feed Service" role: "ingest" }
    }
    tokens { name: "ops" sha256_hex: "$HASH_A" role: "admin" }
    tokens { name: "dpo@example.com" sha256_hex: "$HASH_B" role: "compliance" }
    identity {
      default_phone_region: "FR"
      require_valid_phone: false
      custom_types: [ "crm_id" ]
      max_values_per_type { key: "email" value: 3 }
      default_max_values_per_type: 0
      priority_order: [ "crm_id", "user_id", "email", "phone", "device_id", "anonymous_id" ]
      max_identifiers_per_profile: 50
      max_merges_per_profile: 7
      default_blocked_patterns {}
      blocked_patterns_by_type {
        key: "email"
        value { patterns: "test@.*" }
      }
    }
    consent {
      purposes {
        name: "analytics"
        data_kinds: [ "events", "computed" ]
      }
      purposes { name: "support" basis: "contract" }
      purposes { name: "fraud" basis: "legitimate_interest" }
      category_purposes {
        key: "stats"
        value { purposes: "analytics" }
      }
      event_name_purposes {
        key: "Order Completed"
        value { purposes: [ "support", "fraud" ] }
      }
      event_type_purposes {
        key: "page"
        value { purposes: "analytics" }
      }
      default_event_purposes: "analytics"
      retention {
        events_ttl: "30d"
        event_type_ttl { key: "page" value: "12h" }
        event_name_ttl { key: "Viewed" value: "1h30m" }
        traits_ttl: "45s"
        inactive_profile_ttl: "365d"
        dedup_window: "2d"
        audit_ttl: "10m"
      }
    }
    ingest {
      max_event_bytes: 1024
      max_batch_bytes: 65536
      max_message_id_chars: 64
      max_nesting_depth: 8
      custom_identifier_paths { type: "crm_id" path: "traits.crm_id" }
      skew_correct_with_ingest_time: true
    }
    limits {
      max_frame_bytes: 2097152
      max_string_bytes: 1048576
      max_container_elements: 500
      recv_timeout_ms: 1500
      send_timeout_ms: 2500
      frame_timeout_ms: 4000
      max_connections: 8
      max_inflight_writes: 2
      max_inflight_reads: 6
    }
    storage {
      block_cache_mib: 64
      event_cache_percent: 20
      resident_index: false
      mmap_reads: false
      data_key_cache_keys: 5000000
    }
  )pb";
  const std::string text =
      absl::StrReplaceAll(kFull, {{"$DIR", dir.path()}, {"$HASH_A", kHashA}, {"$HASH_B", kHashB}});
  CDP_ASSERT_OK_AND_ASSIGN(ServerConfig config, ParseServerConfig(text));

  EXPECT_EQ(config.data_dir, "/srv/cdp");
  EXPECT_EQ(config.listen.host, "0.0.0.0");
  EXPECT_EQ(config.listen.port, 9000);
  EXPECT_EQ(config.metrics.host, "10.0.0.1");
  EXPECT_EQ(config.metrics.port, 9001);
  EXPECT_FALSE(config.metrics_enabled);

  EXPECT_TRUE(config.tls.enabled());
  EXPECT_EQ(config.tls.cert_file, dir.Sub("cert.pem"));
  EXPECT_EQ(config.tls.key_file, dir.Sub("key.pem"));
  EXPECT_EQ(config.tls.ca_file, dir.Sub("ca.pem"));
  EXPECT_TRUE(config.tls.require_client_cert);
  EXPECT_THAT(config.tls.client_cert_roles,
              ElementsAre(Pair("desk.internal", Role::kCx), Pair("Feed Service", Role::kIngest)));

  ASSERT_EQ(config.tokens.size(), 2u);
  EXPECT_EQ(config.tokens[0].name, "ops");
  EXPECT_EQ(config.tokens[0].role, Role::kAdmin);
  EXPECT_EQ(config.tokens[0].sha256[0], 0x00);
  EXPECT_EQ(config.tokens[0].sha256[1], 0x11);
  EXPECT_EQ(config.tokens[0].sha256[31], 0xff);  // upper-case hex accepted
  EXPECT_EQ(config.tokens[1].name, "dpo@example.com");
  EXPECT_EQ(config.tokens[1].role, Role::kCompliance);
  EXPECT_EQ(config.tokens[1].sha256[0], 0xff);

  const identity::IdentityOptions& id = config.identity;
  EXPECT_EQ(id.default_phone_region, "FR");
  EXPECT_FALSE(id.require_valid_phone);
  EXPECT_THAT(id.custom_types, ElementsAre("crm_id"));
  // Entries are added to the default {user_id: 1}.
  EXPECT_THAT(id.max_values_per_type, ElementsAre(Pair("email", 3u), Pair("user_id", 1u)));
  EXPECT_EQ(id.default_max_values_per_type, 0u);
  EXPECT_EQ(id.priority_order.front(), "crm_id");
  EXPECT_EQ(id.max_identifiers_per_profile, 50u);
  EXPECT_EQ(id.max_merges_per_profile, 7u);
  EXPECT_TRUE(id.default_blocked_patterns.empty());  // present but empty: blocks nothing
  EXPECT_THAT(id.blocked_patterns_by_type, ElementsAre(Pair("email", ElementsAre("test@.*"))));

  const consent::ConsentOptions& co = config.consent;
  ASSERT_EQ(co.purposes.size(), 3u);
  EXPECT_EQ(co.purposes[0].name, "analytics");
  EXPECT_EQ(co.purposes[0].basis, consent::LegalBasis::kConsent);
  EXPECT_THAT(co.purposes[0].data_kinds,
              ElementsAre(consent::DataKind::kEvents, consent::DataKind::kComputed));
  EXPECT_EQ(co.purposes[1].basis, consent::LegalBasis::kContract);
  EXPECT_EQ(co.purposes[2].basis, consent::LegalBasis::kLegitimateInterest);
  EXPECT_THAT(co.category_purposes, ElementsAre(Pair("stats", ElementsAre("analytics"))));
  EXPECT_THAT(co.event_name_purposes,
              ElementsAre(Pair("Order Completed", ElementsAre("support", "fraud"))));
  EXPECT_THAT(co.event_type_purposes, ElementsAre(Pair("page", ElementsAre("analytics"))));
  EXPECT_THAT(co.default_event_purposes, ElementsAre("analytics"));
  EXPECT_EQ(co.retention.events_ttl_seconds, 30 * 86400);
  EXPECT_THAT(co.retention.event_type_ttl_seconds, ElementsAre(Pair("page", 12 * 3600)));
  EXPECT_THAT(co.retention.event_name_ttl_seconds, ElementsAre(Pair("Viewed", 5400)));
  EXPECT_EQ(co.retention.traits_ttl_seconds, 45);
  EXPECT_EQ(co.retention.inactive_profile_ttl_seconds, 365 * 86400);
  EXPECT_EQ(co.retention.dedup_window_seconds, 2 * 86400);
  EXPECT_EQ(co.retention.audit_ttl_seconds, 600);

  EXPECT_EQ(config.parser.max_event_bytes, 1024u);
  EXPECT_EQ(config.parser.max_batch_bytes, 65536u);
  EXPECT_EQ(config.parser.max_message_id_chars, 64u);
  EXPECT_EQ(config.parser.max_nesting_depth, 8u);
  ASSERT_EQ(config.parser.custom_identifier_paths.size(), 1u);
  EXPECT_EQ(config.parser.custom_identifier_paths[0].type, "crm_id");
  EXPECT_EQ(config.parser.custom_identifier_paths[0].path, "traits.crm_id");
  EXPECT_TRUE(config.parser.skew_correct_with_ingest_time);

  EXPECT_EQ(config.limits.max_frame_bytes, 2097152u);
  EXPECT_EQ(config.limits.max_string_bytes, 1048576u);
  EXPECT_EQ(config.limits.max_container_elements, 500u);
  EXPECT_EQ(config.limits.recv_timeout_ms, 1500);
  EXPECT_EQ(config.limits.send_timeout_ms, 2500);
  EXPECT_EQ(config.limits.frame_timeout_ms, 4000);
  EXPECT_EQ(config.limits.max_connections, 8);
  EXPECT_EQ(config.limits.max_inflight_writes, 2);
  EXPECT_EQ(config.limits.max_inflight_reads, 6);
  EXPECT_EQ(config.block_cache_bytes, size_t{64} << 20);
  EXPECT_EQ(config.event_cache_percent, 20u);
  EXPECT_FALSE(config.resident_index);
  EXPECT_FALSE(config.mmap_reads);
  EXPECT_EQ(config.data_key_cache_keys, 5'000'000u);
}

TEST(ServerConfigTest, FrameLimitsFollowALargerBatchByDefault) {
  CDP_ASSERT_OK_AND_ASSIGN(ServerConfig config,
                           ParseServerConfig("ingest { max_batch_bytes: 33554432 }"));
  EXPECT_EQ(config.limits.max_frame_bytes, size_t{33} << 20);
  EXPECT_EQ(config.limits.max_string_bytes, size_t{33} << 20);
}

TEST(ServerConfigTest, CustomPurposesDropTheDefaultCategoryMapping) {
  CDP_ASSERT_OK_AND_ASSIGN(ServerConfig config,
                           ParseServerConfig(R"pb(consent { purposes { name: "support" } })pb"));
  EXPECT_TRUE(config.consent.category_purposes.empty());
}

TEST(ServerConfigTest, SyntaxErrorReportsLineAndColumn) {
  EXPECT_THAT(ParseServerConfig("data_dir: \"/x\"\nlisten {\n  port: seven\n}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3 column 9: ")));
  EXPECT_THAT(ParseServerConfig("\n\nlisten { prot: 1 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("line 3 column "), HasSubstr("prot"))));
  EXPECT_THAT(ParseServerConfig("data_dir: \"a\"\ndata_dir: \"b\""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2 ")));
}

TEST(ServerConfigTest, LoadPrefixesErrorsWithThePath) {
  TempDir dir;
  const std::string path = dir.Sub("cdp.conf");
  WriteFile(path, absl::StrCat("tokens {\n  name: \"a\"\n  sha256_hex: \"", kHashA,
                               "\"\n  role: \"boss\"\n}\n"));
  absl::StatusOr<ServerConfig> config = LoadServerConfig(path);
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(config.status().message(),
            absl::StrCat(path,
                         ": tokens[0].role: unknown role \"boss\" (expected cx, ingest, "
                         "compliance or admin)"));

  WriteFile(path, "listen {");
  EXPECT_THAT(LoadServerConfig(path), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr(absl::StrCat(path, ": line 1 column"))));

  EXPECT_THAT(LoadServerConfig(dir.Sub("missing.conf")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(dir.Sub("missing.conf"))));

  WriteFile(path, "data_dir: \"/srv/cdp\"");
  CDP_ASSERT_OK_AND_ASSIGN(ServerConfig loaded, LoadServerConfig(path));
  EXPECT_EQ(loaded.data_dir, "/srv/cdp");
}

// The documented example must always parse; its TLS files are stood in for by temp files.
TEST(ServerConfigTest, DocumentedExampleParses) {
  const std::string example = ReadFile(CDP_CONFIG_EXAMPLE);
  ASSERT_THAT(example, HasSubstr("/etc/cdp/tls/"));
  TempDir dir;
  for (const char* name : {"server.pem", "server.key", "clients-ca.pem"}) {
    WriteFile(dir.Sub(name), "pem");
  }
  CDP_ASSERT_OK_AND_ASSIGN(
      ServerConfig config,
      ParseServerConfig(absl::StrReplaceAll(example, {{"/etc/cdp/tls/", dir.path() + "/"}})));
  EXPECT_TRUE(config.tls.enabled());
  EXPECT_TRUE(config.tls.require_client_cert);
  EXPECT_EQ(config.tokens.size(), 4u);
  EXPECT_EQ(config.identity.custom_types.size(), 2u);
  EXPECT_EQ(config.parser.custom_identifier_paths.size(), 2u);
  EXPECT_TRUE(config.consent.retention.events_ttl_seconds.has_value());
  EXPECT_EQ(config.block_cache_bytes, size_t{512} << 20);
}

TEST(ServerConfigTest, RoleNamesRoundTripAndAdminAllowsEverything) {
  for (Role role : {Role::kCx, Role::kIngest, Role::kCompliance, Role::kAdmin}) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
    EXPECT_TRUE(RoleAllows(Role::kAdmin, role));
    EXPECT_TRUE(RoleAllows(role, role));
  }
  EXPECT_EQ(ParseRole("Admin"), std::nullopt);
  EXPECT_EQ(ParseRole(""), std::nullopt);
  EXPECT_FALSE(RoleAllows(Role::kCx, Role::kAdmin));
  EXPECT_FALSE(RoleAllows(Role::kIngest, Role::kCx));
  EXPECT_FALSE(RoleAllows(Role::kCompliance, Role::kIngest));
}

}  // namespace
}  // namespace cdp::api
