// Fuzz target: the Segment-spec parser (ingest/segment_parser.h). The whole input is parsed as
// NDJSON, as a batch envelope and as one event, by one parser reused across inputs (as a server
// thread reuses its parser), with custom identifier paths of both syntaxes configured.
// Beyond the sanitizers it checks that each accepted event has its position and a messageId.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "ingest/segment_parser.h"

namespace {

using cdp::ingest::ParseOutput;
using cdp::ingest::ParserOptions;
using cdp::ingest::SegmentParser;

SegmentParser& Parser() {
  static cdp::ManualClock* clock = new cdp::ManualClock();
  static SegmentParser* parser = [] {
    ParserOptions options;
    options.max_event_bytes = 4096;  // reachable by the fuzzer's input sizes
    options.max_batch_bytes = 16384;
    options.max_nesting_depth = 8;
    options.custom_identifier_paths = {{"crm_id", "traits.crm_id"},
                                       {"loyalty", "/context/externalIds/0/id"}};
    options.skew_correct_with_ingest_time = true;
    options.clock = clock;
    auto created = SegmentParser::Create(options);
    if (!created.ok()) std::abort();
    return created->release();
  }();
  return *parser;
}

void CheckAccounting(const ParseOutput& out) {
  if (out.events.size() != out.event_positions.size()) std::abort();
  for (const auto& event : out.events) {
    if (event.message_id.empty()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  SegmentParser& parser = Parser();

  CheckAccounting(parser.ParseNdjson(text, "fuzz", /*first_line=*/1));
  auto batch = parser.ParseBatchEnvelope(text, "fuzz");
  if (batch.ok()) CheckAccounting(*batch);
  auto event = parser.ParseEvent(text);
  if (event.ok() && event->message_id.empty()) std::abort();
  return 0;
}
