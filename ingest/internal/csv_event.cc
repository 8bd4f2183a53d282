#include "ingest/internal/csv_event.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ingest/internal/text.h"
#include "ingest/internal/timestamp.h"

namespace cdp::ingest::internal {
namespace {

using Kind = CsvTarget::Kind;

absl::Status RejectColumn(const CsvColumn& column, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("column ", QuoteName(column.column), " ", problem));
}

std::optional<int64_t> ParseTime(absl::string_view text, CsvTimestampFormat format) {
  switch (format) {
    case CsvTimestampFormat::kIso8601: {
      std::optional<int64_t> micros = ParseRfc3339(text);
      return micros ? micros : ParseIsoDate(text);
    }
    case CsvTimestampFormat::kEpochSeconds:
      return ParseEpochSeconds(text);
    case CsvTimestampFormat::kEpochMillis:
      return ParseEpochMillis(text);
  }
  return std::nullopt;
}

absl::string_view TimeFormatName(CsvTimestampFormat format) {
  switch (format) {
    case CsvTimestampFormat::kIso8601:
      return "an ISO-8601 date-time or date";
    case CsvTimestampFormat::kEpochSeconds:
      return "epoch seconds";
    case CsvTimestampFormat::kEpochMillis:
      return "epoch milliseconds";
  }
  return "a timestamp";
}

int IdentifierRank(absl::string_view type) {
  static constexpr absl::string_view kOrder[] = {"user_id", "anonymous_id", "email", "phone",
                                                 "device_id"};
  for (int i = 0; i < 5; ++i) {
    if (type == kOrder[i]) return i;
  }
  return 5;
}

void AppendMembers(absl::string_view key, const std::map<std::string, std::string>& members,
                   std::string* out) {
  AppendJsonString(key, out);
  out->append(":{");
  bool first = true;
  for (const auto& [name, json] : members) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(name, out);
    out->push_back(':');
    out->append(json);
  }
  out->push_back('}');
}

// The Segment-shaped JSON of a CSV event (see csv_event.h); messageId only when given.
std::string BuildJson(const ParsedEvent& event, bool has_timestamp) {
  std::string out = "{\"type\":";
  AppendJsonString(EventTypeName(event.type), &out);
  auto member = [&out](absl::string_view key, absl::string_view value) {
    if (value.empty()) return;
    out.push_back(',');
    AppendJsonString(key, &out);
    out.push_back(':');
    AppendJsonString(value, &out);
  };
  if (!event.message_id_derived) member("messageId", event.message_id);
  member("userId", event.user_id);
  member("anonymousId", event.anonymous_id);
  member(event.type == EventType::kTrack ? "event" : "name", event.name);
  if (has_timestamp) member("timestamp", FormatRfc3339(event.time_micros));
  const bool identify = event.type == EventType::kIdentify;
  if (identify && !event.traits.empty()) {
    out.push_back(',');
    AppendMembers("traits", event.traits, &out);
  }
  if (!event.properties.empty()) {
    out.push_back(',');
    AppendMembers("properties", event.properties, &out);
  }
  std::string context;
  auto context_member = [&context](absl::string_view key) {
    if (!context.empty()) context.push_back(',');
    AppendJsonString(key, &context);
    context.push_back(':');
  };
  if (!event.channel.empty()) {
    context_member("channel");
    AppendJsonString(event.channel, &context);
  }
  if (!identify && !event.traits.empty()) {
    context.append(context.empty() ? "" : ",");
    AppendMembers("traits", event.traits, &context);
  }
  bool device_written = false;
  std::string external_ids;
  for (const RawIdentifier& id : event.identifiers) {
    if (id.type == "user_id" || id.type == "anonymous_id") continue;
    if (id.type == "device_id" && !device_written) {
      context_member("device");
      absl::StrAppend(&context, "{\"id\":");
      AppendJsonString(id.value, &context);
      context.push_back('}');
      device_written = true;
      continue;
    }
    external_ids.append(external_ids.empty() ? "[" : ",");
    absl::StrAppend(&external_ids, "{\"id\":");
    AppendJsonString(id.value, &external_ids);
    absl::StrAppend(&external_ids, ",\"type\":");
    AppendJsonString(id.type, &external_ids);
    external_ids.push_back('}');
  }
  if (!external_ids.empty()) {
    context_member("externalIds");
    absl::StrAppend(&context, external_ids, "]");
  }
  if (!context.empty()) absl::StrAppend(&out, ",\"context\":{", context, "}");
  out.push_back('}');
  return out;
}

}  // namespace

absl::Status CsvRowToEvent(const CsvRecord& record, const CsvRowContext& context,
                           ParsedEvent* event) {
  const CsvMapping& mapping = *context.mapping;
  const ParserOptions& options = *context.options;
  if (record.raw.size() > options.max_event_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("row is larger than ", options.max_event_bytes, " bytes"));
  }
  if (!record.error.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("malformed CSV: ", record.error));
  }
  if (record.fields.size() != context.header_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "row has ", record.fields.size(), " columns, the header has ", context.header_size));
  }
  event->type = mapping.EffectiveType();
  event->name = mapping.event;
  event->channel = mapping.channel;
  std::optional<int64_t> time;
  std::vector<RawIdentifier> identifiers;
  for (const BoundColumn& bound : context.columns) {
    const CsvColumn& column = *bound.column;
    const std::string& cell = record.fields[bound.index];
    if (!IsValidUtf8(cell)) return RejectColumn(column, "is not valid UTF-8");
    if (IsBlank(cell)) continue;
    const absl::string_view trimmed = absl::StripAsciiWhitespace(cell);
    for (const CsvTarget& target : column.targets) {
      std::string json;
      switch (target.kind) {
        case Kind::kIdentifier:
          identifiers.push_back(RawIdentifier{target.name, cell});
          break;
        case Kind::kTrait:
        case Kind::kProperty:
          AppendJsonString(cell, &json);
          (target.kind == Kind::kTrait ? event->traits : event->properties)
              .emplace(target.name, std::move(json));
          break;
        case Kind::kEvent:
          event->name = std::string(trimmed);
          break;
        case Kind::kTimestamp:
          time = ParseTime(trimmed, mapping.timestamp_format);
          if (!time) {
            return RejectColumn(column,
                                absl::StrCat("is not ", TimeFormatName(mapping.timestamp_format)));
          }
          break;
        case Kind::kMessageId:
          if (CountCodePoints(trimmed) > options.max_message_id_chars) {
            return RejectColumn(column, absl::StrCat("is longer than ",
                                                     options.max_message_id_chars, " characters"));
          }
          event->message_id = std::string(trimmed);
          break;
        case Kind::kIgnore:
          break;
      }
    }
  }
  std::stable_sort(identifiers.begin(), identifiers.end(),
                   [](const RawIdentifier& a, const RawIdentifier& b) {
                     return IdentifierRank(a.type) < IdentifierRank(b.type);
                   });
  for (RawIdentifier& id : identifiers) {
    const bool seen = std::any_of(event->identifiers.begin(), event->identifiers.end(),
                                  [&id](const RawIdentifier& other) {
                                    return other.type == id.type && other.value == id.value;
                                  });
    if (seen) continue;
    if (id.type == "user_id") event->user_id = id.value;
    if (id.type == "anonymous_id") event->anonymous_id = id.value;
    event->identifiers.push_back(std::move(id));
  }
  if (event->identifiers.empty()) {
    return absl::InvalidArgumentError("row has no identifier: every identifier column is empty");
  }
  if (event->type == EventType::kTrack && event->name.empty()) {
    return absl::InvalidArgumentError("row has no event name: the event column is empty");
  }
  event->time_micros = time ? *time : options.clock->NowMicros();
  event->message_id_derived = event->message_id.empty();
  event->json = BuildJson(*event, time.has_value());
  if (event->message_id_derived) event->message_id = DeriveMessageId(event->json);
  return absl::OkStatus();
}

}  // namespace cdp::ingest::internal
