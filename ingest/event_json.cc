#include "ingest/event_json.h"

namespace cdp::ingest {

absl::Status StoredEventJson(const storage::DictionaryCodec& codec, absl::string_view json,
                             uint32_t dictionary, absl::string_view compressed, std::string* out) {
  if (dictionary == storage::DictionaryCodec::kNone) {
    out->assign(json.data(), json.size());
    return absl::OkStatus();
  }
  return codec.Decompress(dictionary, compressed, out);
}

}  // namespace cdp::ingest
