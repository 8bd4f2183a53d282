#pragma once
// A minimal structured logging shim: one line per record on stderr,
//   2026-11-23T12:00:00.123456Z INFO storage: opened path=./cdp-data/db families=11
// Privacy rule for every caller: never pass identifier values, trait values, tokens or key
// material. Profile ids, counts, codes and file paths are fine.
//
// Thread safety: safe for concurrent use; each record is written with one write(2).

#include "absl/strings/string_view.h"

namespace cdp {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Records below `level` are dropped. Default kInfo.
void SetMinLogLevel(LogLevel level);

void Log(LogLevel level, absl::string_view component, absl::string_view message);

inline void LogInfo(absl::string_view component, absl::string_view message) {
  Log(LogLevel::kInfo, component, message);
}
inline void LogWarning(absl::string_view component, absl::string_view message) {
  Log(LogLevel::kWarning, component, message);
}
inline void LogError(absl::string_view component, absl::string_view message) {
  Log(LogLevel::kError, component, message);
}

}  // namespace cdp
