#include "ingest/ingest_options.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ingest/internal/json_path.h"
#include "ingest/internal/text.h"

namespace cdp::ingest {
namespace {

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("ParserOptions.", field, ": ", problem));
}

}  // namespace

absl::Status ParserOptions::Validate() const {
  if (max_event_bytes < 64) return FieldError("max_event_bytes", "must be at least 64");
  if (max_batch_bytes < max_event_bytes) {
    return FieldError("max_batch_bytes", "must be at least max_event_bytes");
  }
  if (max_batch_bytes > (size_t{1} << 30)) {
    return FieldError("max_batch_bytes", "must be at most 1 GiB");
  }
  if (max_message_id_chars == 0) {
    return FieldError("max_message_id_chars", "must be at least 1");
  }
  if (max_nesting_depth < 3 || max_nesting_depth > kMaxNestingDepthLimit) {
    return FieldError("max_nesting_depth",
                      absl::StrCat("must be between 3 and ", kMaxNestingDepthLimit));
  }
  if (custom_identifier_paths.size() > kMaxCustomIdentifierPaths) {
    return FieldError("custom_identifier_paths",
                      absl::StrCat("more than ", kMaxCustomIdentifierPaths, " entries"));
  }
  std::set<std::pair<absl::string_view, absl::string_view>> seen;
  for (size_t i = 0; i < custom_identifier_paths.size(); ++i) {
    const CustomIdentifierPath& entry = custom_identifier_paths[i];
    const std::string field = absl::StrCat("custom_identifier_paths[", i, "]");
    if (!internal::IsValidTypeName(entry.type)) {
      return FieldError(absl::StrCat(field, ".type"),
                        absl::StrCat(internal::QuoteName(entry.type), " is not [a-z0-9_]{1,32}"));
    }
    if (internal::IsBuiltinTypeName(entry.type)) {
      return FieldError(absl::StrCat(field, ".type"),
                        absl::StrCat(internal::QuoteName(entry.type), " is a built-in type"));
    }
    auto segments = internal::CompilePath(entry.path);
    if (!segments.ok()) {
      return FieldError(
          absl::StrCat(field, ".path"),
          absl::StrCat(internal::QuoteName(entry.path), ": ", segments.status().message()));
    }
    if (!seen.emplace(entry.type, entry.path).second) {
      return FieldError(field, "the same type and path are listed twice");
    }
  }
  return absl::OkStatus();
}

}  // namespace cdp::ingest
