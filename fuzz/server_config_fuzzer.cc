// Fuzz target: the server configuration parser (api/server_config.h), Protobuf text format plus
// the validation of every field. Beyond the sanitizers it checks that a configuration accepted
// once is accepted with the limits ServerConfig documents.
//
// Configuration is trusted input (only the operator writes it); the target is here because a
// typo must fail with a message, never crash the server at start. Paths in tls.* are opened and
// read by the parser, so inputs naming files read them.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "api/server_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = cdp::api::ParseServerConfig(text);
  if (!config.ok()) return 0;
  const cdp::api::ServerLimits& limits = config->limits;
  if (limits.max_string_bytes > limits.max_frame_bytes) std::abort();
  if (limits.max_container_elements < 1 || limits.max_container_elements > 1000000) std::abort();
  if (limits.max_connections < 1 || limits.max_connections > 4096) std::abort();
  return 0;
}
