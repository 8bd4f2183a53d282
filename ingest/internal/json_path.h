#pragma once
// Custom identifier paths (ParserOptions::custom_identifier_paths) compiled into key segments.
//
// Thread safety: pure functions.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ingest/ingest_options.h"

namespace cdp::ingest::internal {

// A custom identifier path, split into segments (see CompilePath).
struct CompiledPath {
  std::string type;
  std::vector<std::string> segments;
};

// "traits.crm_id" -> {"traits", "crm_id"}; "/context/a~1b/0" -> {"context", "a/b", "0"}.
// kInvalidArgument (without quoting the path) when the path is empty, has an empty segment, a
// JSON pointer escape other than ~0 or ~1, or more than kMaxPathSegments segments.
absl::StatusOr<std::vector<std::string>> CompilePath(absl::string_view path);

// Every path of `paths` compiled, with its type; the first error of CompilePath.
absl::StatusOr<std::vector<CompiledPath>> CompilePaths(
    absl::Span<const CustomIdentifierPath> paths);

}  // namespace cdp::ingest::internal
