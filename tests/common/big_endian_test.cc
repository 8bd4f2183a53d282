#include "common/big_endian.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace cdp {
namespace {

TEST(BigEndianTest, OrderedInt64SortsLikeNumbers) {
  std::vector<int64_t> values = {std::numeric_limits<int64_t>::min(), -1'000'000, -1, 0, 1,
                                 1'700'000'000'000'000, std::numeric_limits<int64_t>::max()};
  std::vector<std::string> encoded;
  for (int64_t v : values) {
    std::string s;
    PutOrderedInt64(&s, v);
    EXPECT_EQ(GetOrderedInt64(s), v);
    encoded.push_back(s);
  }
  EXPECT_TRUE(std::is_sorted(encoded.begin(), encoded.end()));
}

TEST(BigEndianTest, UnsignedRoundTripAndOrder) {
  std::string a, b;
  PutBigEndian64(&a, 255);
  PutBigEndian64(&b, 256);
  EXPECT_LT(a, b);
  EXPECT_EQ(GetBigEndian64(a), 255u);
  std::string c;
  PutBigEndian32(&c, 0xdeadbeef);
  EXPECT_EQ(GetBigEndian32(c), 0xdeadbeefu);
}

}  // namespace
}  // namespace cdp
