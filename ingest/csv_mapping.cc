#include "ingest/csv_mapping.h"

#include <set>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ingest/internal/event_type.h"
#include "ingest/internal/json_error.h"
#include "ingest/internal/text.h"
#include "simdjson.h"

namespace cdp::ingest {
namespace {

using internal::QuoteName;
using Kind = CsvTarget::Kind;

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("CsvMapping.", field, ": ", problem));
}

std::string ColumnField(absl::string_view column) {
  return absl::StrCat("columns[", QuoteName(column), "]");
}

absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

absl::StatusOr<std::string> GetString(simdjson::dom::element value, absl::string_view field) {
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return FieldError(field, "must be a string");
  }
  return std::string(text);
}

// "identifier:email", "trait:tier", "property:revenue", "event", "timestamp", "message_id",
// "ignore".
absl::StatusOr<CsvTarget> ParseTarget(absl::string_view text, absl::string_view field) {
  static constexpr std::pair<absl::string_view, Kind> kNamed[] = {
      {"identifier:", Kind::kIdentifier}, {"trait:", Kind::kTrait}, {"property:", Kind::kProperty}};
  static constexpr std::pair<absl::string_view, Kind> kPlain[] = {{"event", Kind::kEvent},
                                                                  {"timestamp", Kind::kTimestamp},
                                                                  {"message_id", Kind::kMessageId},
                                                                  {"ignore", Kind::kIgnore}};
  for (const auto& [prefix, kind] : kNamed) {
    if (text.substr(0, prefix.size()) == prefix) {
      return CsvTarget{kind, std::string(text.substr(prefix.size()))};
    }
  }
  for (const auto& [name, kind] : kPlain) {
    if (text == name) return CsvTarget{kind, ""};
  }
  return FieldError(field, absl::StrCat(QuoteName(text),
                                        " is not identifier:<type>, trait:<name>, "
                                        "property:<name>, event, timestamp, message_id or ignore"));
}

absl::Status ParseColumns(simdjson::dom::element value, CsvMapping* mapping) {
  simdjson::dom::object columns;
  if (value.get_object().get(columns) != simdjson::SUCCESS) {
    return FieldError("columns", "must be an object");
  }
  for (simdjson::dom::key_value_pair entry : columns) {
    CsvColumn column{std::string(entry.key), {}};
    const std::string field = ColumnField(column.column);
    simdjson::dom::array list;
    if (entry.value.get_array().get(list) == simdjson::SUCCESS) {
      for (simdjson::dom::element item : list) {
        CDP_ASSIGN_OR_RETURN(std::string text, GetString(item, field));
        CDP_ASSIGN_OR_RETURN(CsvTarget target, ParseTarget(text, field));
        column.targets.push_back(std::move(target));
      }
    } else {
      CDP_ASSIGN_OR_RETURN(std::string text, GetString(entry.value, field));
      CDP_ASSIGN_OR_RETURN(CsvTarget target, ParseTarget(text, field));
      column.targets.push_back(std::move(target));
    }
    mapping->columns.push_back(std::move(column));
  }
  return absl::OkStatus();
}

absl::Status ParseMember(absl::string_view key, simdjson::dom::element value, CsvMapping* mapping) {
  if (key == "columns") return ParseColumns(value, mapping);
  if (key != "type" && key != "event" && key != "channel" && key != "delimiter" &&
      key != "timestamp_format") {
    return FieldError(QuoteName(key), "unknown member");
  }
  CDP_ASSIGN_OR_RETURN(std::string text, GetString(value, key));
  if (key == "type") {
    mapping->type = internal::ParseEventType(text);
    if (!mapping->type) {
      return FieldError(key, "must be identify, track, page or screen");
    }
  } else if (key == "event") {
    mapping->event = std::move(text);
  } else if (key == "channel") {
    mapping->channel = std::move(text);
  } else if (key == "delimiter") {
    if (text.size() != 1) return FieldError(key, "must be one character");
    mapping->delimiter = text[0];
  } else {  // timestamp_format
    if (text == "iso8601") {
      mapping->timestamp_format = CsvTimestampFormat::kIso8601;
    } else if (text == "epoch_seconds") {
      mapping->timestamp_format = CsvTimestampFormat::kEpochSeconds;
    } else if (text == "epoch_millis") {
      mapping->timestamp_format = CsvTimestampFormat::kEpochMillis;
    } else {
      return FieldError(key, "must be iso8601, epoch_seconds or epoch_millis");
    }
  }
  return absl::OkStatus();
}

}  // namespace

EventType CsvMapping::EffectiveType() const {
  if (type) return *type;
  bool has_event = !event.empty();
  for (const CsvColumn& column : columns) {
    for (const CsvTarget& target : column.targets) has_event |= target.kind == Kind::kEvent;
  }
  return has_event ? EventType::kTrack : EventType::kIdentify;
}

absl::Status CsvMapping::Validate() const {
  if (type == EventType::kAlias || type == EventType::kGroup) {
    return FieldError("type", "alias and group events cannot come from CSV");
  }
  if (delimiter == '"' || delimiter == '\r' || delimiter == '\n' || delimiter == '\0' ||
      static_cast<unsigned char>(delimiter) >= 0x80) {
    return FieldError("delimiter", "must be an ASCII character other than '\"', CR, LF or NUL");
  }
  std::set<absl::string_view> names, traits, properties;
  std::set<Kind> single;  // kinds of which at most one column may exist
  std::set<absl::string_view> single_identifiers;
  size_t identifiers = 0;
  bool event_column = false;
  for (const CsvColumn& column : columns) {
    const std::string field = ColumnField(column.column);
    if (column.column.empty()) return FieldError("columns", "a column name is empty");
    if (!names.insert(column.column).second) return FieldError(field, "listed twice");
    if (column.targets.empty()) return FieldError(field, "has no target");
    for (const CsvTarget& target : column.targets) {
      switch (target.kind) {
        case Kind::kIdentifier:
          if (!internal::IsValidTypeName(target.name)) {
            return FieldError(field, "identifier type is not [a-z0-9_]{1,32}");
          }
          if ((target.name == "user_id" || target.name == "anonymous_id") &&
              !single_identifiers.insert(target.name).second) {
            return FieldError(field, absl::StrCat("a second ", target.name, " column"));
          }
          ++identifiers;
          break;
        case Kind::kTrait:
        case Kind::kProperty: {
          const bool trait = target.kind == Kind::kTrait;
          if (target.name.empty()) {
            return FieldError(field, trait ? "trait name is empty" : "property name is empty");
          }
          if (!(trait ? traits : properties).insert(target.name).second) {
            return FieldError(field,
                              absl::StrCat(trait ? "trait " : "property ", QuoteName(target.name),
                                           " is fed by two columns"));
          }
          break;
        }
        case Kind::kEvent:
        case Kind::kTimestamp:
        case Kind::kMessageId:
          if (!single.insert(target.kind).second) {
            return FieldError(field, target.kind == Kind::kEvent ? "a second event column"
                                     : target.kind == Kind::kTimestamp
                                         ? "a second timestamp column"
                                         : "a second message_id column");
          }
          event_column |= target.kind == Kind::kEvent;
          break;
        case Kind::kIgnore:
          break;
      }
    }
  }
  if (identifiers == 0) return FieldError("columns", "no identifier column");
  if (!event.empty() && event_column) {
    return FieldError("event", "both a fixed event and an event column");
  }
  const EventType effective = EffectiveType();
  if (effective == EventType::kIdentify && (!event.empty() || event_column)) {
    return FieldError("event", "identify events have no event name");
  }
  if (effective == EventType::kIdentify && !properties.empty()) {
    return FieldError("columns", "identify events have no properties");
  }
  if (effective == EventType::kTrack && event.empty() && !event_column) {
    return FieldError("event", "track needs a fixed event or an event column");
  }
  return absl::OkStatus();
}

absl::StatusOr<CsvMapping> ParseCsvMapping(absl::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::error_code error = parser.parse(json.data(), json.size()).get(root);
  if (error != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CsvMapping: ", internal::JsonErrorReason(error, simdjson::DEFAULT_MAX_DEPTH, json)));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("CsvMapping: the mapping file is not a JSON object");
  }
  CsvMapping mapping;
  std::set<std::string_view> seen;
  for (simdjson::dom::key_value_pair member : object) {
    if (!seen.insert(member.key).second) {
      return FieldError(QuoteName(Absl(member.key)), "listed twice");
    }
    CDP_RETURN_IF_ERROR(ParseMember(Absl(member.key), member.value, &mapping));
  }
  if (!seen.contains("columns")) return FieldError("columns", "missing");
  CDP_RETURN_IF_ERROR(mapping.Validate());
  return mapping;
}

}  // namespace cdp::ingest
