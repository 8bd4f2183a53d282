#pragma once
// Writing JSON text: string literals with RFC 8259 escaping. Parsing is simdjson's job (ingest/).
// REQUIRES for well-formed output: the input is valid UTF-8 (callers check or base64 it).
// Also one structural look at JSON text that needs no parser (LeavesJsonOpen).

#include <string>

#include "absl/strings/string_view.h"

namespace cdp {

// Appends `text` as a quoted JSON string literal.
void AppendJsonString(absl::string_view text, std::string* out);

// True when `json` opens more objects or arrays than it closes (brackets inside strings do not
// count): a record cut short, or the first line of a pretty-printed document.
bool LeavesJsonOpen(absl::string_view json);

}  // namespace cdp
