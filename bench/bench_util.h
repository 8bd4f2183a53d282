#pragma once
// Small helpers shared by the benchmark programs: environment knobs, fatal set-up errors, timing,
// the machine's load and a temporary store directory.

#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/proc_status.h"

namespace cdp::bench {

// A positive integer from the environment, or `fallback` (also for 0: see EnvFlag).
inline size_t EnvSize(const char* name, size_t fallback) {
  const char* text = std::getenv(name);
  size_t value = 0;
  if (text == nullptr || !absl::SimpleAtoi(text, &value) || value == 0) return fallback;
  return value;
}

// A switch from the environment: "0" is off, any other integer on, unset or not a number
// `fallback`.
inline bool EnvFlag(const char* name, bool fallback) {
  const char* text = std::getenv(name);
  int value = 0;
  if (text == nullptr || !absl::SimpleAtoi(text, &value)) return fallback;
  return value != 0;
}

// Benchmark set-up has no caller to report to: a failure ends the program with its reason.
inline void CheckOk(const absl::Status& status, const char* what) {
  if (status.ok()) return;
  std::fprintf(stderr, "bench setup: %s: %s\n", what, status.ToString().c_str());
  std::exit(1);
}

inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of the calling thread.
inline double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// CPU time (user + system) of the whole process: every thread, background ones included.
inline double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// "1.23 0.98 0.50" from /proc/loadavg, to print beside figures taken on a shared machine.
inline std::string LoadAverage() {
  double one = 0, five = 0, fifteen = 0;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &one, &five, &fifteen) != 3) one = -1;
    std::fclose(f);
  }
  return absl::StrCat(one, " ", five, " ", fifteen);
}

// A field of /proc/self/status in MiB ("VmHWM", "VmRSS", "RssAnon"); -1 when unreadable.
inline double ProcStatusMib(const char* field) {
  const std::optional<int64_t> bytes = ProcStatusBytes(field);
  return bytes.has_value() ? static_cast<double>(*bytes) / (1 << 20) : -1;
}

// A fresh directory under $CDP_BENCH_DIR (default: the system temp dir); the caller removes it.
inline std::string MakeTempDir(const char* name) {
  const char* parent = std::getenv("CDP_BENCH_DIR");
  std::string dir_template =
      (parent ? std::filesystem::path(parent) : std::filesystem::temp_directory_path()) /
      absl::StrCat(name, "-XXXXXX");
  if (mkdtemp(dir_template.data()) == nullptr) CheckOk(absl::InternalError("mkdtemp"), name);
  return dir_template;
}

}  // namespace cdp::bench
