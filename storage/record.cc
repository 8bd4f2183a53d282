#include "storage/record.h"

#include "common/big_endian.h"

namespace cdp::storage::envelope {

void AppendHeader(Format format, const RecordMeta& meta, std::string* out) {
  out->push_back(static_cast<char>(format));
  PutBigEndian32(out, meta.category);
  PutOrderedInt64(out, meta.time_micros);
}

absl::StatusOr<Parsed> Parse(absl::string_view value) {
  if (value.size() < kHeaderSize) return absl::DataLossError("record envelope is truncated");
  const auto format = static_cast<Format>(value[0]);
  if (format != Format::kPlain && format != Format::kSealed) {
    return absl::DataLossError("record envelope has an unknown format byte");
  }
  Parsed parsed{.format = format,
                .meta = {.category = GetBigEndian32(value.substr(1, 4)),
                         .time_micros = GetOrderedInt64(value.substr(5, 8))},
                .header = value.substr(0, kHeaderSize),
                .body = value.substr(kHeaderSize)};
  return parsed;
}

}  // namespace cdp::storage::envelope
