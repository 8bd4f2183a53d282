#include "ingest/segment_parser.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ingest/internal/json_error.h"
#include "ingest/internal/json_path.h"
#include "ingest/internal/segment_event.h"
#include "ingest/internal/text.h"
#include "ingest/internal/timestamp.h"
#include "simdjson.h"

namespace cdp::ingest {
namespace {

// Depth allowed for a batch envelope: simdjson's default, well above any event limit, so that a
// too-deep event is found when it is parsed again on its own and rejected alone.
constexpr size_t kEnvelopeMaxDepth = simdjson::DEFAULT_MAX_DEPTH;
// Envelope buffers start at this size and grow to the document on demand.
constexpr size_t kEnvelopeInitialCapacity = size_t{64} << 10;

absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace

struct SegmentParser::State {
  ParserOptions options;
  std::vector<internal::CompiledPath> custom_paths;
  // Capacity max_event_bytes, depth max_nesting_depth: every record is parsed on its own here.
  simdjson::dom::parser event_parser;
  // Capacity max_batch_bytes, depth kEnvelopeMaxDepth: batch envelopes.
  simdjson::dom::parser envelope_parser;

  explicit State(const ParserOptions& opts)
      : options(opts), event_parser(opts.max_event_bytes), envelope_parser(opts.max_batch_bytes) {}
};

absl::StatusOr<std::unique_ptr<SegmentParser>> SegmentParser::Create(const ParserOptions& options) {
  CDP_RETURN_IF_ERROR(options.Validate());
  auto state = std::make_unique<State>(options);
  if (state->options.clock == nullptr) state->options.clock = &SystemClock::Default();
  CDP_ASSIGN_OR_RETURN(state->custom_paths,
                       internal::CompilePaths(options.custom_identifier_paths));
  // simdjson counts the root as depth 1 and fails past max_depth (pinned by the tests).
  if (state->event_parser.allocate(options.max_event_bytes, options.max_nesting_depth) !=
          simdjson::SUCCESS ||
      state->envelope_parser.allocate(std::min(options.max_batch_bytes, kEnvelopeInitialCapacity),
                                      kEnvelopeMaxDepth) != simdjson::SUCCESS) {
    return absl::ResourceExhaustedError("SegmentParser: cannot allocate the JSON parsers");
  }
  return std::unique_ptr<SegmentParser>(new SegmentParser(std::move(state)));
}

SegmentParser::SegmentParser(std::unique_ptr<State> state) : state_(std::move(state)) {}

SegmentParser::~SegmentParser() = default;

absl::Status SegmentParser::ParseRecord(absl::string_view bytes,
                                        const std::optional<int64_t>& sent_at_micros,
                                        ParsedEvent* event) {
  const ParserOptions& options = state_->options;
  if (bytes.size() > options.max_event_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("record is larger than ", options.max_event_bytes, " bytes"));
  }
  simdjson::dom::element root;
  const simdjson::error_code error =
      state_->event_parser.parse(bytes.data(), bytes.size()).get(root);
  if (error != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        internal::JsonErrorReason(error, options.max_nesting_depth, bytes));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("record is not a JSON object");
  }
  internal::ExtractContext context;
  context.max_message_id_chars = options.max_message_id_chars;
  context.custom_paths = &state_->custom_paths;
  context.clock = options.clock;
  context.skew_correct_with_ingest_time = options.skew_correct_with_ingest_time;
  context.envelope_sent_at_micros = sent_at_micros;
  CDP_RETURN_IF_ERROR(internal::ExtractSegmentEvent(object, context, event));
  event->json = simdjson::to_string(root);
  if (event->message_id.empty()) {
    event->message_id = internal::DeriveMessageId(event->json);
    event->message_id_derived = true;
  }
  return absl::OkStatus();
}

void SegmentParser::AddRecord(absl::string_view raw, uint64_t position,
                              const std::optional<int64_t>& sent_at_micros,
                              absl::string_view source, ParseOutput* out) {
  ParsedEvent event;
  absl::Status status = ParseRecord(raw, sent_at_micros, &event);
  if (status.ok()) {
    out->events.push_back(std::move(event));
    out->event_positions.push_back(position);
    return;
  }
  out->rejections.push_back(
      Rejection{std::string(source), position, std::string(status.message()), std::string(raw)});
}

ParseOutput SegmentParser::ParseNdjson(absl::string_view text, absl::string_view source,
                                       uint64_t first_line) {
  ParseOutput out;
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  uint64_t line_number = first_line;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    absl::string_view line = text.substr(0, end);
    text.remove_prefix(end == absl::string_view::npos ? text.size() : end + 1);
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    const uint64_t position = line_number++;
    if (internal::IsBlank(line)) continue;
    AddRecord(line, position, std::nullopt, source, &out);
  }
  return out;
}

absl::StatusOr<ParseOutput> SegmentParser::ParseBatchEnvelope(absl::string_view json,
                                                              absl::string_view source) {
  if (json.size() > state_->options.max_batch_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch is larger than ", state_->options.max_batch_bytes, " bytes"));
  }
  simdjson::dom::element root;
  simdjson::error_code error = state_->envelope_parser.parse(json.data(), json.size()).get(root);
  if (error != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch: ", internal::JsonErrorReason(error, kEnvelopeMaxDepth, json)));
  }
  simdjson::dom::object envelope;
  if (root.get_object().get(envelope) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("batch: the document is not a JSON object");
  }
  ParseOutput out;
  simdjson::dom::element batch;
  if (envelope.at_key("batch").get(batch) != simdjson::SUCCESS) {
    AddRecord(json, 0, std::nullopt, source, &out);  // a single event
    return out;
  }
  simdjson::dom::array events;
  if (batch.get_array().get(events) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("batch: batch must be an array");
  }
  std::optional<int64_t> sent_at;
  simdjson::dom::element sent_at_value;
  if (envelope.at_key("sentAt").get(sent_at_value) == simdjson::SUCCESS &&
      !sent_at_value.is_null()) {
    std::string_view text;
    if (sent_at_value.get_string().get(text) == simdjson::SUCCESS) {
      sent_at = internal::ParseRfc3339(Absl(text));
    }
    if (!sent_at) {
      return absl::InvalidArgumentError("batch: sentAt is not an ISO-8601 date-time");
    }
  }
  uint64_t index = 0;
  for (simdjson::dom::element element : events) {
    // Each event is parsed again on its own, so that its size, depth and content follow the
    // same rules as an NDJSON line.
    AddRecord(simdjson::to_string(element), index++, sent_at, source, &out);
  }
  return out;
}

absl::StatusOr<ParsedEvent> SegmentParser::ParseEvent(absl::string_view json_object) {
  ParsedEvent event;
  CDP_RETURN_IF_ERROR(ParseRecord(json_object, std::nullopt, &event));
  return event;
}

}  // namespace cdp::ingest
