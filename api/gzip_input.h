#pragma once
// GzipInput: an input file (or stdin) as a std::istream, gunzipped when it is gzip-compressed
// (`feed.ndjson.gz`, an export piped through gzip) and read as it is otherwise, through zlib's
// transparent reading. Concatenated gzip members are read one after the other, as gunzip does.
//
// Thread safety: not thread-safe.

#include <zlib.h>

#include <cstdint>
#include <istream>
#include <memory>
#include <streambuf>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cdp::api {

class GzipInput {
 public:
  // `path` "-" reads stdin. kNotFound when the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<GzipInput>> Open(const std::string& path);
  ~GzipInput();
  GzipInput(const GzipInput&) = delete;
  GzipInput& operator=(const GzipInput&) = delete;

  std::istream& stream() { return stream_; }
  // Bytes of the file read so far (compressed bytes for a gzip file), for progress.
  uint64_t file_offset() const;
  // The error that ended the stream early (a corrupt or truncated gzip file, a read error);
  // OK at a clean end of the input.
  absl::Status status() const { return status_; }

 private:
  class Buffer : public std::streambuf {
   public:
    explicit Buffer(GzipInput* owner) : owner_(owner) {}

   protected:
    int_type underflow() override;

   private:
    GzipInput* owner_;
  };

  explicit GzipInput(gzFile file);

  gzFile file_;
  std::vector<char> data_;
  absl::Status status_;
  Buffer buffer_{this};
  std::istream stream_{&buffer_};
};

}  // namespace cdp::api
