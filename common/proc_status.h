#pragma once
// The process's own memory figures from /proc/self/status (Linux), for metrics and benchmarks.

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace cdp {

// The value of a kB field of /proc/self/status ("VmRSS", "VmHWM", "RssAnon", "RssFile"), in
// bytes; nullopt when the file cannot be read or has no such field. RssAnon is the process's
// own memory; RssFile counts the pages of mapped files (the store's SST files with mapped
// reads), which are page cache the kernel can reclaim.
std::optional<int64_t> ProcStatusBytes(absl::string_view field);

}  // namespace cdp
