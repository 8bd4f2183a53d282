#pragma once
// The process's own memory figures from /proc/self/status (Linux), and how often it waited for
// the disk, for metrics and benchmarks.

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace cdp {

// The value of a kB field of /proc/self/status ("VmRSS", "VmHWM", "RssAnon", "RssFile"), in
// bytes; nullopt when the file cannot be read or has no such field. RssAnon is the process's
// own memory; RssFile counts the pages of mapped files (the store's SST files with mapped
// reads), which are page cache the kernel can reclaim.
std::optional<int64_t> ProcStatusBytes(absl::string_view field);

// Major page faults of the process since it started (getrusage): pages it had to wait for the
// disk to read, e.g. pages of mapped SST files no longer in the page cache.
uint64_t ProcessMajorFaults();

// This machine's physical memory in bytes (sysconf); 0 when it cannot be read. For defaults
// sized to the machine.
uint64_t PhysicalMemoryBytes();

}  // namespace cdp
