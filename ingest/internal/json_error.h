#pragma once
// simdjson error codes as rejection reasons: fixed phrases that never quote the input.
//
// Thread safety: pure function.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "simdjson.h"

namespace cdp::ingest::internal {

// "invalid UTF-8", "nesting deeper than 32 levels", "invalid JSON: unclosed string (truncated
// record?)"... `max_depth` is the limit the parser was given, for DEPTH_ERROR; `input` is what
// failed to parse, looked at only to tell a truncated document from other structural errors.
std::string JsonErrorReason(simdjson::error_code error, size_t max_depth, absl::string_view input);

}  // namespace cdp::ingest::internal
