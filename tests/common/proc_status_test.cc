#include "common/proc_status.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

namespace cdp {
namespace {

TEST(ProcStatusTest, ReadsTheProcesssMemoryInBytes) {
  const std::optional<int64_t> rss = ProcStatusBytes("VmRSS");
  ASSERT_TRUE(rss.has_value());
  EXPECT_GT(*rss, 0);
  EXPECT_EQ(*rss % 1024, 0);  // the file gives kB
  const std::optional<int64_t> anon = ProcStatusBytes("RssAnon");
  const std::optional<int64_t> file = ProcStatusBytes("RssFile");
  const std::optional<int64_t> shmem = ProcStatusBytes("RssShmem");
  ASSERT_TRUE(anon.has_value());
  ASSERT_TRUE(file.has_value());
  ASSERT_TRUE(shmem.has_value());
  EXPECT_GT(*anon, 0);
  // VmRSS is the sum of the three, but each is read from the kernel's per-CPU counters apart
  // from the others, which proc(5) calls inaccurate: the sum may be off by a few pages.
  EXPECT_NEAR(static_cast<double>(*anon + *file + *shmem), static_cast<double>(*rss), 1 << 20);
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

// A file written, synced and dropped from the page cache: the first touch of its mapped page
// waits for the disk, which getrusage counts as a major fault. Skipped where the file system
// keeps the pages anyway (tmpfs).
TEST(ProcStatusTest, MajorFaultsCountPagesReadFromDisk) {
  const std::string path = ::testing::TempDir() + "/major_fault_probe";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::unlink(path.c_str());  // gone when closed
  constexpr size_t kBytes = 1 << 20;
  const std::string data(kBytes, 'x');
  ASSERT_EQ(::write(fd, data.data(), kBytes), static_cast<ssize_t>(kBytes));
  ASSERT_EQ(::fdatasync(fd), 0);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  void* mapped = ::mmap(nullptr, kBytes, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(mapped, MAP_FAILED);
  std::vector<unsigned char> resident(kBytes / static_cast<size_t>(::getpagesize()));
  ASSERT_EQ(::mincore(mapped, kBytes, resident.data()), 0);
  if (resident[0] & 1) {
    ::munmap(mapped, kBytes);
    GTEST_SKIP() << "the file system kept the dropped page in memory";
  }
  const uint64_t before = ProcessMajorFaults();
  EXPECT_EQ(static_cast<volatile const char*>(mapped)[0], 'x');
  EXPECT_GT(ProcessMajorFaults(), before);
  ::munmap(mapped, kBytes);
}

}  // namespace
}  // namespace cdp
