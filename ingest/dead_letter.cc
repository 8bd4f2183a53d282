#include "ingest/dead_letter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "ingest/internal/text.h"

namespace cdp::ingest {

std::string DeadLetterPath(const std::string& input_path) {
  return absl::StrCat(input_path, ".rejected.ndjson");
}

absl::Status WriteDeadLetters(const std::string& path, absl::Span<const Rejection> rejections) {
  if (rejections.empty()) return absl::OkStatus();
  std::string text;
  for (const Rejection& r : rejections) {
    text += "{\"source\":";
    internal::AppendJsonString(r.source, &text);
    absl::StrAppend(&text, ",\"position\":", r.position, ",\"reason\":");
    internal::AppendJsonString(r.reason, &text);
    if (internal::IsValidUtf8(r.raw)) {
      text += ",\"raw\":";
      internal::AppendJsonString(r.raw, &text);
    } else {
      absl::StrAppend(&text, ",\"raw_base64\":\"", absl::Base64Escape(r.raw), "\"");
    }
    text += "}\n";
  }
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create dead-letter file ", path, ": ", std::strerror(errno)));
  }
  absl::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return absl::Status(err == ENOSPC ? absl::StatusCode::kResourceExhausted
                                        : absl::StatusCode::kUnavailable,
                          absl::StrCat("cannot write dead-letter file ", path, ": ",
                                       std::strerror(err)));
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot sync dead-letter file ", path));
  }
  return absl::OkStatus();
}

}  // namespace cdp::ingest
