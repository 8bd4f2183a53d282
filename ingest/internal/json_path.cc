#include "ingest/internal/json_path.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ingest/ingest_options.h"

namespace cdp::ingest::internal {
namespace {

// RFC 6901: "~1" is '/', "~0" is '~'; any other '~' is malformed.
absl::StatusOr<std::string> UnescapePointerSegment(absl::string_view segment) {
  std::string out;
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '~') {
      out.push_back(segment[i]);
      continue;
    }
    if (i + 1 < segment.size() && (segment[i + 1] == '0' || segment[i + 1] == '1')) {
      out.push_back(segment[i + 1] == '0' ? '~' : '/');
      ++i;
    } else {
      return absl::InvalidArgumentError("'~' must be followed by 0 or 1 in a JSON pointer");
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> CompilePath(absl::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("path is empty");
  const bool pointer = path[0] == '/';
  if (pointer) path.remove_prefix(1);
  std::vector<std::string> segments;
  for (absl::string_view segment : absl::StrSplit(path, pointer ? '/' : '.')) {
    if (segment.empty()) return absl::InvalidArgumentError("path has an empty segment");
    if (pointer) {
      auto unescaped = UnescapePointerSegment(segment);
      if (!unescaped.ok()) return unescaped.status();
      segments.push_back(*std::move(unescaped));
    } else {
      segments.emplace_back(segment);
    }
    if (segments.size() > kMaxPathSegments) {
      return absl::InvalidArgumentError(
          absl::StrCat("path has more than ", kMaxPathSegments, " segments"));
    }
  }
  return segments;
}

absl::StatusOr<std::vector<CompiledPath>> CompilePaths(
    absl::Span<const CustomIdentifierPath> paths) {
  std::vector<CompiledPath> compiled;
  compiled.reserve(paths.size());
  for (const CustomIdentifierPath& entry : paths) {
    absl::StatusOr<std::vector<std::string>> segments = CompilePath(entry.path);
    if (!segments.ok()) return segments.status();
    compiled.push_back({entry.type, *std::move(segments)});
  }
  return compiled;
}

}  // namespace cdp::ingest::internal
