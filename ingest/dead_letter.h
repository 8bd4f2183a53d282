#pragma once
// The dead-letter file of a file ingest: one JSON object per rejected record, in input order,
//   {"source":"feed.ndjson","position":12,"reason":"userId must be a string","raw":"{...}"}
// ("raw_base64" instead of "raw" when the record is not valid UTF-8). The file holds the
// rejected records themselves, personal data included, so it is created with mode 0600.

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "ingest/parsed_event.h"

namespace cdp::ingest {

// The conventional dead-letter path beside an input file: "<input>.rejected.ndjson".
std::string DeadLetterPath(const std::string& input_path);

// Writes (replacing) `path`; writes nothing and returns OK when there are no rejections.
absl::Status WriteDeadLetters(const std::string& path, absl::Span<const Rejection> rejections);

// Writes a dead-letter file as rejections come, so that a large input's rejected records need
// not be held in memory: the file is created (replacing one left by an earlier run) at the first
// Add, and Close syncs it. Nothing is created when nothing is added. Not thread-safe.
class DeadLetterWriter {
 public:
  explicit DeadLetterWriter(std::string path) : path_(std::move(path)) {}
  ~DeadLetterWriter();  // closes without syncing when Close was not called
  DeadLetterWriter(const DeadLetterWriter&) = delete;
  DeadLetterWriter& operator=(const DeadLetterWriter&) = delete;

  absl::Status Add(const Rejection& rejection);
  // Syncs and closes the file; OK when nothing was added.
  absl::Status Close();
  uint64_t added() const { return added_; }
  const std::string& path() const { return path_; }

 private:
  absl::Status Flush();

  std::string path_;
  int fd_ = -1;
  std::string pending_;  // formatted, not yet written
  uint64_t added_ = 0;
};

}  // namespace cdp::ingest
