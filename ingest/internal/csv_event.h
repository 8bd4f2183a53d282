#pragma once
// One CSV record turned into a ParsedEvent under a CsvMapping whose columns are bound to header
// positions. Rejection reasons name columns, never cell values.
//
// Thread safety: pure function.

#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "ingest/csv_mapping.h"
#include "ingest/ingest_options.h"
#include "ingest/internal/csv_reader.h"
#include "ingest/parsed_event.h"

namespace cdp::ingest::internal {

struct BoundColumn {
  size_t index = 0;                   // position in the header
  const CsvColumn* column = nullptr;  // not owned
};

struct CsvRowContext {
  const CsvMapping* mapping = nullptr;     // not owned
  const ParserOptions* options = nullptr;  // not owned; clock resolved (not null)
  std::vector<BoundColumn> columns;        // the mapped columns, in mapping order
  size_t header_size = 0;
};

// Fills *event from `record`. kInvalidArgument whose message is the rejection reason: the row is
// larger than max_event_bytes, malformed, has the wrong number of fields, holds invalid UTF-8, a
// bad timestamp or messageId, no identifier, or (track) an empty event column.
//
// Empty cells (blank after trimming spaces) are absent. Identifiers come in the order user_id,
// anonymous_id, email, phone, device_id, then other types in column order. The event's json is
// Segment-shaped: userId and anonymousId at the top, device_id in context.device.id, other
// identifiers in context.externalIds, traits at the top (identify) or in context.traits, every
// cell a JSON string. A missing messageId is derived from that json, which holds no ingestion
// time, so the same row delivered twice gets the same id.
absl::Status CsvRowToEvent(const CsvRecord& record, const CsvRowContext& context,
                           ParsedEvent* event);

}  // namespace cdp::ingest::internal
