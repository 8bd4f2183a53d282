#include "common/proc_status.h"

#include <gtest/gtest.h>

#include <memory>

namespace cdp {
namespace {

TEST(ProcStatusTest, ReadsTheProcesssMemoryInBytes) {
  const std::optional<int64_t> rss = ProcStatusBytes("VmRSS");
  ASSERT_TRUE(rss.has_value());
  EXPECT_GT(*rss, 0);
  EXPECT_EQ(*rss % 1024, 0);  // the file gives kB
  const std::optional<int64_t> anon = ProcStatusBytes("RssAnon");
  const std::optional<int64_t> file = ProcStatusBytes("RssFile");
  ASSERT_TRUE(anon.has_value());
  ASSERT_TRUE(file.has_value());
  EXPECT_LE(*anon + *file, *rss);
}

TEST(ProcStatusTest, OwnMemoryGrowsWhenTheProcessTouchesMore) {
  const int64_t before = ProcStatusBytes("RssAnon").value_or(-1);
  ASSERT_GT(before, 0);
  constexpr size_t kBytes = size_t{64} << 20;
  std::unique_ptr<char[]> block(new char[kBytes]);
  volatile char* pages = block.get();
  for (size_t i = 0; i < kBytes; i += 4096) pages[i] = 1;  // one write per page, kept
  const int64_t after = ProcStatusBytes("RssAnon").value_or(-1);
  EXPECT_GE(after - before, static_cast<int64_t>(kBytes / 2));
}

TEST(ProcStatusTest, UnknownOrNonSizeFieldsAreAbsent) {
  EXPECT_EQ(ProcStatusBytes("NoSuchField"), std::nullopt);
  EXPECT_EQ(ProcStatusBytes("Name"), std::nullopt);     // not in kB
  EXPECT_EQ(ProcStatusBytes("Threads"), std::nullopt);  // a count
  EXPECT_EQ(ProcStatusBytes("VmRS"), std::nullopt);     // a prefix of a field is not the field
}

}  // namespace
}  // namespace cdp
