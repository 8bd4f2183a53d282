#include "ingest/internal/json_error.h"

#include "absl/strings/str_cat.h"
#include "common/json_text.h"

namespace cdp::ingest::internal {

std::string JsonErrorReason(simdjson::error_code error, size_t max_depth, absl::string_view input) {
  switch (error) {
    case simdjson::UTF8_ERROR:
      return "invalid UTF-8";
    case simdjson::DEPTH_ERROR:
      return absl::StrCat("nesting deeper than ", max_depth, " levels");
    case simdjson::CAPACITY:
      return "record too large for the parser";
    case simdjson::MEMALLOC:
      return "out of memory while parsing";
    case simdjson::EMPTY:
      return "invalid JSON: empty";
    case simdjson::UNCLOSED_STRING:
      return "invalid JSON: unclosed string (truncated record?)";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "invalid JSON: unclosed object or array (truncated record?)";
    case simdjson::STRING_ERROR:
      return "invalid JSON: malformed string";
    case simdjson::UNESCAPED_CHARS:
      return "invalid JSON: unescaped control character in a string";
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE:
      return "invalid JSON: malformed or out-of-range number";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return "invalid JSON: malformed true, false or null";
    case simdjson::TRAILING_CONTENT:
      return "invalid JSON: content after the value";
    case simdjson::TAPE_ERROR:
      if (LeavesJsonOpen(input)) {
        return "invalid JSON: unclosed object or array (truncated record?)";
      }
      return "invalid JSON: malformed structure (missing or extra comma, brace, bracket or key)";
    default:
      // simdjson's messages are fixed strings; none quotes the input.
      return absl::StrCat("invalid JSON: ", simdjson::error_message(error));
  }
}

}  // namespace cdp::ingest::internal
