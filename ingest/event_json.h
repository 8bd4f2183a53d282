#pragma once
// The JSON of a stored event: kept as it is in pb::EventBody.json, or compressed with one of the
// store's value dictionaries (Pipeline::Options::compress_events). Every reader of stored events
// goes through here.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ingest/ingest.pb.h"
#include "storage/dictionary_codec.h"

namespace cdp::ingest {

// Sets `*out` to the event's JSON, given the body's fields json, json_dictionary and
// json_compressed. kDataLoss when the compressed form cannot be opened.
absl::Status StoredEventJson(const storage::DictionaryCodec& codec, absl::string_view json,
                             uint32_t dictionary, absl::string_view compressed, std::string* out);

inline absl::Status StoredEventJson(const storage::DictionaryCodec& codec,
                                    const pb::EventBody& body, std::string* out) {
  return StoredEventJson(codec, body.json(), body.json_dictionary(), body.json_compressed(), out);
}

}  // namespace cdp::ingest
