#pragma once
// Byte-level text checks on identifier values: whitespace trimming that knows the Unicode
// spaces people paste from spreadsheets and web forms, and UTF-8 well-formedness.
//
// Thread safety: pure functions.

#include <cstddef>

#include "absl/strings/string_view.h"

namespace cdp::identity::internal {

// Byte length of the whitespace character `text` starts with, or 0. Whitespace is ASCII
// (space, \t, \n, \v, \f, \r), the Unicode White_Space characters (U+0085, U+00A0, U+1680,
// U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000) and the invisible U+200B and U+FEFF
// (zero-width space, byte order mark).
size_t LeadingWhitespaceBytes(absl::string_view text);

// `text` without leading and trailing whitespace (as above). Bytes that are not well-formed
// UTF-8 are never stripped.
absl::string_view TrimWhitespace(absl::string_view text);

// True when any whitespace character (as above) occurs anywhere in `text`.
bool ContainsWhitespace(absl::string_view text);

// True when `text` is well-formed UTF-8: no stray continuation bytes, overlong forms,
// surrogates (U+D800..U+DFFF) or code points above U+10FFFF.
bool IsValidUtf8(absl::string_view text);

// True when `text` contains an ASCII control character (U+0000..U+001F or U+007F).
bool ContainsControlCharacter(absl::string_view text);

}  // namespace cdp::identity::internal
