#pragma once
// The dead-letter file of a file ingest: one JSON object per rejected record, in input order,
//   {"source":"feed.ndjson","position":12,"reason":"userId must be a string","raw":"{...}"}
// ("raw_base64" instead of "raw" when the record is not valid UTF-8). The file holds the
// rejected records themselves, personal data included, so it is created with mode 0600.

#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "ingest/parsed_event.h"

namespace cdp::ingest {

// The conventional dead-letter path beside an input file: "<input>.rejected.ndjson".
std::string DeadLetterPath(const std::string& input_path);

// Writes (replacing) `path`; writes nothing and returns OK when there are no rejections.
absl::Status WriteDeadLetters(const std::string& path, absl::Span<const Rejection> rejections);

}  // namespace cdp::ingest
