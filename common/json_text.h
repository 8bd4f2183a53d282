#pragma once
// Writing JSON text: string literals with RFC 8259 escaping. Parsing is simdjson's job (ingest/).
// REQUIRES for well-formed output: the input is valid UTF-8 (callers check or base64 it).

#include <string>

#include "absl/strings/string_view.h"

namespace cdp {

// Appends `text` as a quoted JSON string literal.
void AppendJsonString(absl::string_view text, std::string* out);

}  // namespace cdp
