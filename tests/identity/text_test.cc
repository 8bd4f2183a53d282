#include "identity/internal/text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cdp::identity::internal {
namespace {

TEST(TextTest, TrimWhitespace) {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"", ""},
      {"abc", "abc"},
      {"  abc  ", "abc"},
      {"\t\n\v\f\rabc\r\n", "abc"},
      {"a b", "a b"},  // inner whitespace stays
      {"\xC2\xA0"
       "abc"
       "\xC2\xA0",
       "abc"},  // no-break space
      {"\xE2\x80\x8B"
       "abc"
       "\xEF\xBB\xBF",
       "abc"},  // zero-width space, byte order mark
      {"\xE3\x80\x80"
       "abc"
       "\xE2\x80\xAF",
       "abc"},                                    // ideographic, narrow no-break space
      {"\xE2\x80\x80\xE2\x80\x8A \xC2\x85", ""},  // only whitespace
      {" \xFF ", "\xFF"},                         // invalid bytes are kept
      {"caf\xC3\xA9 ", "caf\xC3\xA9"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(std::string(TrimWhitespace(c.in)), c.out) << "input: " << c.in;
  }
}

TEST(TextTest, ContainsWhitespace) {
  EXPECT_FALSE(ContainsWhitespace("ann@example.com"));
  EXPECT_TRUE(ContainsWhitespace("ann @example.com"));
  EXPECT_TRUE(ContainsWhitespace("ann\t@example.com"));
  EXPECT_TRUE(ContainsWhitespace("ann\xC2\xA0@example.com"));
  EXPECT_FALSE(ContainsWhitespace(""));
}

// Every whitespace character text.h lists, encoded here from its code point (not copied from the
// implementation's table), is found first, last and in the middle of ASCII and non-ASCII text.
TEST(TextTest, EveryListedWhitespaceCharacterIsFoundAnywhere) {
  auto utf8 = [](char32_t c) {
    std::string out;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
    return out;
  };
  std::vector<char32_t> listed = {' ', '\t', '\n', '\v', '\f', '\r', 0x85, 0xA0, 0x1680,
                                  0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0x200B, 0xFEFF};
  for (char32_t c = 0x2000; c <= 0x200A; ++c) listed.push_back(c);
  for (char32_t c : listed) {
    const std::string space = utf8(c);
    for (const std::string& text : {"ann" + space + "@x.io", "caf\xC3\xA9" + space + "\xE2\x82\xAC"}) {
      EXPECT_TRUE(ContainsWhitespace(text)) << static_cast<uint32_t>(c);
    }
    EXPECT_EQ(LeadingWhitespaceBytes(space + "a"), space.size()) << static_cast<uint32_t>(c);
    EXPECT_EQ(std::string(TrimWhitespace(space + "a\xC3\xA9" + space)), "a\xC3\xA9")
        << static_cast<uint32_t>(c);
  }
  // Characters that share lead bytes with the listed ones are not whitespace.
  for (char32_t c : {char32_t{0xA9}, char32_t{0x2010}, char32_t{0x20AC}, char32_t{0x3001},
                     char32_t{0xFEFE}, char32_t{0x1681}}) {
    EXPECT_FALSE(ContainsWhitespace("a" + utf8(c) + "b")) << static_cast<uint32_t>(c);
    EXPECT_EQ(LeadingWhitespaceBytes(utf8(c)), 0u) << static_cast<uint32_t>(c);
  }
}

TEST(TextTest, IsValidUtf8) {
  struct Case {
    std::string in;
    bool valid;
  };
  const Case cases[] = {
      {"", true},
      {"ascii", true},
      {"caf\xC3\xA9", true},
      {"\xE2\x82\xAC", true},      // U+20AC
      {"\xF0\x9F\x98\x80", true},  // U+1F600
      {"\xF4\x8F\xBF\xBF", true},  // U+10FFFF
      {"\xEF\xBF\xBF", true},      // U+FFFF
      {"\xFF", false},
      {"\x80", false},              // lone continuation byte
      {"\xC3", false},              // truncated
      {"\xE2\x82", false},          // truncated
      {"\xC0\x80", false},          // overlong NUL
      {"\xC1\xBF", false},          // overlong
      {"\xE0\x80\xAF", false},      // overlong '/'
      {"\xF0\x80\x80\xAF", false},  // overlong
      {"\xED\xA0\x80", false},      // surrogate U+D800
      {"\xF4\x90\x80\x80", false},  // U+110000
      {"\xF5\x80\x80\x80", false},
      {"\xC3\x28", false},  // bad continuation
      {"\xE2\x28\xA1", false},
      {"\xF0\x9F\x98", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsValidUtf8(c.in), c.valid) << "input bytes: " << c.in.size();
  }
}

TEST(TextTest, ContainsControlCharacter) {
  EXPECT_FALSE(ContainsControlCharacter("abc \xC3\xA9"));
  EXPECT_TRUE(ContainsControlCharacter(std::string("a\0b", 3)));
  EXPECT_TRUE(ContainsControlCharacter("a\x1F"));
  EXPECT_TRUE(ContainsControlCharacter("a\x7F"));
  EXPECT_TRUE(ContainsControlCharacter("a\nb"));
}

}  // namespace
}  // namespace cdp::identity::internal
