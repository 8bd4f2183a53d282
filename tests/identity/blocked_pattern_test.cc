// internal::CompileBlockedSet / FirstWholeMatch: one pass over a value answers as the patterns
// matched one by one would. (The fallback for a set whose DFA runs out of memory is not reached
// here: RE2 20220601 refuses to compile a set under a budget too small for its DFA.)

#include "identity/internal/blocked_pattern.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace cdp::identity::internal {
namespace {

std::vector<std::shared_ptr<const RE2>> EachOf(const std::vector<std::string>& patterns) {
  std::vector<std::shared_ptr<const RE2>> each;
  for (const std::string& pattern : patterns) {
    auto re = CompileBlockedPattern(pattern);
    EXPECT_TRUE(re.ok()) << re.status();
    each.push_back(*re);
  }
  return each;
}

TEST(BlockedPatternTest, SetAnswersTheFirstPatternMatchingTheWholeValue) {
  const std::vector<std::string> patterns = {"^[0-]*$", "-1", "null", "n.*", "\\s*"};
  auto set = CompileBlockedSet(patterns);
  ASSERT_TRUE(set.ok()) << set.status();
  const auto each = EachOf(patterns);
  struct Case {
    std::string value;
    int index;
  };
  for (const Case& c : std::vector<Case>{{"000", 0},
                                         {"", 0},      // [0-]* and \s* both match: the first
                                         {"-1", 1},
                                         {"NULL", 2},  // null before n.*, case-insensitive
                                         {"none", 3},
                                         {"  ", 4},
                                         {"nullx", 3},
                                         {"ann", -1},
                                         {"x-1", -1}}) {
    int expected = -1;
    for (size_t i = 0; i < each.size() && expected < 0; ++i) {
      if (MatchesWhole(*each[i], c.value)) expected = static_cast<int>(i);
    }
    EXPECT_EQ(expected, c.index) << c.value;  // the reference, one pattern at a time
    EXPECT_EQ(FirstWholeMatch(**set, each, c.value), expected) << c.value;
  }
  EXPECT_EQ(FirstWholeMatch(**set, each, "Null"), 2);
}

}  // namespace
}  // namespace cdp::identity::internal
