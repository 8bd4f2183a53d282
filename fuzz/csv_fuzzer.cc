// Fuzz target: the CSV mapping file and the CSV parser (ingest/csv_mapping.h, csv_parser.h).
// The input is "<mapping JSON>\0<CSV text>": the mapping is parsed and, when valid, drives the
// parser over the CSV text. Without a 0 byte the whole input is CSV text under a fixed mapping
// that uses every kind of target, so the row path is fuzzed even when mappings are not.
// Beyond the sanitizers it checks that each accepted event has its position and a messageId.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "ingest/csv_mapping.h"
#include "ingest/csv_parser.h"

namespace {

using cdp::ingest::CsvMapping;
using cdp::ingest::CsvParser;
using cdp::ingest::ParserOptions;

constexpr absl::string_view kFixedMapping = R"({
  "type": "track",
  "channel": "pos",
  "timestamp_format": "iso8601",
  "columns": {
    "Email": ["identifier:email", "trait:email"],
    "User": "identifier:user_id",
    "Phone": "identifier:phone",
    "Tier": "trait:tier",
    "Amount": "property:revenue",
    "Activity": "event",
    "When": "timestamp",
    "Txn": "message_id",
    "Notes": "ignore"
  }
})";

ParserOptions Options() {
  static cdp::ManualClock* clock = new cdp::ManualClock();
  ParserOptions options;
  options.max_event_bytes = 2048;  // reachable by the fuzzer's input sizes
  options.clock = clock;
  return options;
}

void ParseCsv(CsvMapping mapping, absl::string_view text) {
  auto parser = CsvParser::Create(std::move(mapping), Options());
  if (!parser.ok()) return;
  auto out = (*parser)->Parse(text, "fuzz.csv");
  if (!out.ok()) return;
  if (out->events.size() != out->event_positions.size()) std::abort();
  for (const auto& event : out->events) {
    if (event.message_id.empty()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  if (split == absl::string_view::npos) {
    static const CsvMapping* fixed = [] {
      auto mapping = cdp::ingest::ParseCsvMapping(kFixedMapping);
      if (!mapping.ok()) std::abort();
      return new CsvMapping(*std::move(mapping));
    }();
    ParseCsv(*fixed, input);
    return 0;
  }
  auto mapping = cdp::ingest::ParseCsvMapping(input.substr(0, split));
  if (!mapping.ok()) return 0;
  if (!mapping->Validate().ok()) std::abort();  // ParseCsvMapping returns validated mappings
  ParseCsv(*std::move(mapping), input.substr(split + 1));
  return 0;
}
