#pragma once
// Small text helpers shared by the feed parsers: JSON string literals, UTF-8 checks, derived
// message ids and identifier type names.
//
// Thread safety: pure functions.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "common/json_text.h"

namespace cdp::ingest::internal {

using ::cdp::AppendJsonString;  // common/json_text.h

// True when `text` is well-formed UTF-8.
bool IsValidUtf8(absl::string_view text);

// Code points in `text`. REQUIRES: text is valid UTF-8.
size_t CountCodePoints(absl::string_view text);

// "derived-" + hex SHA-256 of `canonical`: the message id of a record that has none, so that
// re-delivering the same content is recognized as a duplicate.
std::string DeriveMessageId(absl::string_view canonical);

// An identifier type name: [a-z0-9_]{1,32} (the rule of identity/identifier.h).
bool IsValidTypeName(absl::string_view name);
// The identifier types a parser fills itself; custom types may not reuse them.
bool IsBuiltinTypeName(absl::string_view name);

// Only space, tab, CR and LF.
bool IsBlank(absl::string_view text);

// Escaped and quoted, for configuration names (columns, paths, types) in error messages; never
// for record values.
std::string QuoteName(absl::string_view name);

}  // namespace cdp::ingest::internal
