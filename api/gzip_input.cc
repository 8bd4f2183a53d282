#include "api/gzip_input.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace cdp::api {
namespace {

constexpr size_t kReadBytes = size_t{1} << 20;
constexpr unsigned kZlibBufferBytes = 256u << 10;

}  // namespace

absl::StatusOr<std::unique_ptr<GzipInput>> GzipInput::Open(const std::string& path) {
  gzFile file = nullptr;
  if (path == "-") {
    const int fd = dup(STDIN_FILENO);  // gzclose closes it, not stdin
    if (fd >= 0) {
      file = gzdopen(fd, "rb");
      if (file == nullptr) close(fd);
    }
  } else {
    file = gzopen(path.c_str(), "rb");
  }
  if (file == nullptr) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  gzbuffer(file, kZlibBufferBytes);  // before the first read
  return std::unique_ptr<GzipInput>(new GzipInput(file));
}

GzipInput::GzipInput(gzFile file) : file_(file), data_(kReadBytes) {}

GzipInput::~GzipInput() { gzclose(file_); }

uint64_t GzipInput::file_offset() const {
  const z_off_t offset = gzoffset(file_);
  return offset < 0 ? 0 : static_cast<uint64_t>(offset);
}

GzipInput::Buffer::int_type GzipInput::Buffer::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  GzipInput& in = *owner_;
  if (!in.status_.ok()) return traits_type::eof();
  const int n = gzread(in.file_, in.data_.data(), static_cast<unsigned>(in.data_.size()));
  int error = Z_OK;
  const char* message = n > 0 ? nullptr : gzerror(in.file_, &error);
  if (n <= 0) {
    // A clean end, or a gzip stream that is corrupt or ends early ("unexpected end of file").
    if (error != Z_OK) {
      // zlib's message starts with the path ("feed.gz: unexpected end of file"); callers name
      // the input themselves.
      absl::string_view what = message != nullptr ? message : "?";
      if (const size_t colon = what.rfind(": "); colon != absl::string_view::npos) {
        what.remove_prefix(colon + 2);
      }
      in.status_ =
          absl::DataLossError(absl::StrCat("the input ends early or is not valid gzip: ", what));
    }
    return traits_type::eof();
  }
  setg(in.data_.data(), in.data_.data(), in.data_.data() + n);
  return traits_type::to_int_type(*gptr());
}

}  // namespace cdp::api
