#pragma once
// ParseOutput: what a feed parser makes of one input (an NDJSON text, a batch envelope, a CSV
// file). Every record of the input has exactly one outcome: an event, or a rejection that says
// where the record was and why it was refused. Blank lines are not records.
//
// Thread safety: plain data.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ingest/parsed_event.h"

namespace cdp::ingest {

struct ParseOutput {
  // Accepted events, in input order.
  std::vector<ParsedEvent> events;
  // event_positions[i] is where events[i] was: 1-based line (NDJSON, CSV: the row's first line)
  // or 0-based batch index. Same size as events.
  std::vector<uint64_t> event_positions;
  // Refused records, in input order.
  std::vector<Rejection> rejections;

  size_t records() const { return events.size() + rejections.size(); }
};

}  // namespace cdp::ingest
