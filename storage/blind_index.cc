#include "storage/blind_index.h"

namespace cdp::storage {

crypto::Digest BlindIndex::Hash(absl::string_view type, absl::string_view value) const {
  const char type_size = static_cast<char>(static_cast<uint8_t>(type.size()));
  return mac_.Mac({absl::string_view(&type_size, 1), type, value});
}

}  // namespace cdp::storage
