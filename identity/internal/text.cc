#include "identity/internal/text.h"

#include <array>
#include <cstdint>

#include "absl/strings/match.h"

namespace cdp::identity::internal {
namespace {

// UTF-8 encodings of the whitespace characters listed in text.h.
constexpr std::array<absl::string_view, 27> kWhitespace = {
    " ",
    "\t",
    "\n",
    "\v",
    "\f",
    "\r",
    "\xC2\x85",
    "\xC2\xA0",
    "\xE1\x9A\x80",
    "\xE2\x80\x80",
    "\xE2\x80\x81",
    "\xE2\x80\x82",
    "\xE2\x80\x83",
    "\xE2\x80\x84",
    "\xE2\x80\x85",
    "\xE2\x80\x86",
    "\xE2\x80\x87",
    "\xE2\x80\x88",
    "\xE2\x80\x89",
    "\xE2\x80\x8A",
    "\xE2\x80\x8B",
    "\xE2\x80\xA8",
    "\xE2\x80\xA9",
    "\xE2\x80\xAF",
    "\xE2\x81\x9F",
    "\xE3\x80\x80",
    "\xEF\xBB\xBF",
};

// Whether `byte` is one of the one-byte entries of kWhitespace (space, \t, \n, \v, \f, \r).
constexpr bool IsAsciiWhitespace(uint8_t byte) {
  return byte == ' ' || (byte >= '\t' && byte <= '\r');
}

// Whether `byte` can start a multi-byte entry of kWhitespace: most text is ASCII or starts its
// characters with other lead bytes, and is answered without trying the 27 entries.
constexpr bool MayStartMultiByteWhitespace(uint8_t byte) {
  return byte == 0xC2 || byte == 0xE1 || byte == 0xE2 || byte == 0xE3 || byte == 0xEF;
}

// Byte length of the whitespace character `text` ends with, or 0. Every multi-byte entry starts
// with a lead byte, so a suffix match is a whole character when the text is well-formed.
size_t TrailingWhitespaceBytes(absl::string_view text) {
  if (text.empty()) return 0;
  const auto last = static_cast<uint8_t>(text.back());
  if (last < 0x80) return IsAsciiWhitespace(last) ? 1 : 0;
  for (absl::string_view space : kWhitespace) {
    if (absl::EndsWith(text, space)) return space.size();
  }
  return 0;
}

}  // namespace

size_t LeadingWhitespaceBytes(absl::string_view text) {
  if (text.empty()) return 0;
  const auto first = static_cast<uint8_t>(text.front());
  if (first < 0x80) return IsAsciiWhitespace(first) ? 1 : 0;
  if (!MayStartMultiByteWhitespace(first)) return 0;
  for (absl::string_view space : kWhitespace) {
    if (absl::StartsWith(text, space)) return space.size();
  }
  return 0;
}

absl::string_view TrimWhitespace(absl::string_view text) {
  while (size_t n = LeadingWhitespaceBytes(text)) text.remove_prefix(n);
  while (size_t n = TrailingWhitespaceBytes(text)) text.remove_suffix(n);
  return text;
}

bool ContainsWhitespace(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (LeadingWhitespaceBytes(text.substr(i)) > 0) return true;
  }
  return false;
}

bool IsValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const uint8_t* end = p + text.size();
  auto is_continuation = [](uint8_t b) { return (b & 0xC0) == 0x80; };
  while (p < end) {
    uint8_t lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    size_t length;
    // Bounds of the second byte narrow the continuation range (Unicode Table 3-7): they rule out
    // overlong forms (E0, F0), surrogates (ED) and code points past U+10FFFF (F4).
    uint8_t second_min = 0x80, second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;
      if (lead == 0xED) second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;
      if (lead == 0xF4) second_max = 0x8F;
    } else {
      return false;  // continuation byte without a lead, C0/C1 overlong lead, or F5..FF
    }
    if (static_cast<size_t>(end - p) < length) return false;
    if (p[1] < second_min || p[1] > second_max) return false;
    for (size_t i = 2; i < length; ++i) {
      if (!is_continuation(p[i])) return false;
    }
    p += length;
  }
  return true;
}

bool ContainsControlCharacter(absl::string_view text) {
  for (char c : text) {
    auto b = static_cast<uint8_t>(c);
    if (b < 0x20 || b == 0x7F) return true;
  }
  return false;
}

}  // namespace cdp::identity::internal
