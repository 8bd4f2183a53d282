#include "common/proc_status.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace cdp {

std::optional<int64_t> ProcStatusBytes(absl::string_view field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    // "RssAnon:\t  123456 kB"
    const std::pair<absl::string_view, absl::string_view> name_value =
        absl::StrSplit(line, absl::MaxSplits(':', 1));
    if (name_value.first != field) continue;
    absl::string_view value = absl::StripAsciiWhitespace(name_value.second);
    if (!absl::ConsumeSuffix(&value, " kB")) return std::nullopt;
    int64_t kib = 0;
    if (!absl::SimpleAtoi(value, &kib) || kib < 0) return std::nullopt;
    return kib * 1024;
  }
  return std::nullopt;
}

uint64_t ProcessMajorFaults() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<uint64_t>(usage.ru_majflt);
}

uint64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
}

}  // namespace cdp
