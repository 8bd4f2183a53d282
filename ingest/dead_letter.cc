#include "ingest/dead_letter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ingest/internal/text.h"

namespace cdp::ingest {

std::string DeadLetterPath(const std::string& input_path) {
  return absl::StrCat(input_path, ".rejected.ndjson");
}

absl::Status WriteDeadLetters(const std::string& path, absl::Span<const Rejection> rejections) {
  DeadLetterWriter writer(path);
  for (const Rejection& r : rejections) CDP_RETURN_IF_ERROR(writer.Add(r));
  return writer.Close();
}

DeadLetterWriter::~DeadLetterWriter() {
  if (fd_ >= 0) close(fd_);
}

absl::Status DeadLetterWriter::Add(const Rejection& r) {
  if (fd_ < 0) {
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot create dead-letter file ", path_, ": ", std::strerror(errno)));
    }
  }
  pending_ += "{\"source\":";
  internal::AppendJsonString(r.source, &pending_);
  absl::StrAppend(&pending_, ",\"position\":", r.position, ",\"reason\":");
  internal::AppendJsonString(r.reason, &pending_);
  if (internal::IsValidUtf8(r.raw)) {
    pending_ += ",\"raw\":";
    internal::AppendJsonString(r.raw, &pending_);
  } else {
    absl::StrAppend(&pending_, ",\"raw_base64\":\"", absl::Base64Escape(r.raw), "\"");
  }
  pending_ += "}\n";
  ++added_;
  return pending_.size() >= (size_t{1} << 20) ? Flush() : absl::OkStatus();
}

absl::Status DeadLetterWriter::Flush() {
  absl::string_view rest = pending_;
  while (!rest.empty()) {
    ssize_t n = write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      return absl::Status(err == ENOSPC ? absl::StatusCode::kResourceExhausted
                                        : absl::StatusCode::kUnavailable,
                          absl::StrCat("cannot write dead-letter file ", path_, ": ",
                                       std::strerror(err)));
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  pending_.clear();
  return absl::OkStatus();
}

absl::Status DeadLetterWriter::Close() {
  if (fd_ < 0) return absl::OkStatus();
  absl::Status flushed = Flush();
  const bool synced = flushed.ok() && fsync(fd_) == 0;
  const bool closed = close(fd_) == 0;
  fd_ = -1;
  CDP_RETURN_IF_ERROR(flushed);
  if (!synced || !closed) {
    return absl::UnavailableError(absl::StrCat("cannot sync dead-letter file ", path_));
  }
  return absl::OkStatus();
}

}  // namespace cdp::ingest
