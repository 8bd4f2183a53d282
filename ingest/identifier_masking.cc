#include "ingest/identifier_masking.h"

#include <google/protobuf/io/coded_stream.h>

#include "absl/strings/str_cat.h"
#include "common/json_text.h"
#include "common/status_macros.h"
#include "identity/identifier.h"
#include "ingest/internal/segment_event.h"
#include "simdjson.h"

namespace cdp::ingest {
namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;

// How a span is masked: the identifier types MaskIdentifierValue treats apart, else generic.
enum class MaskKind : uint32_t { kGeneric = 0, kEmail = 1, kPhone = 2 };

MaskKind KindOf(absl::string_view type) {
  if (type == identity::kEmail) return MaskKind::kEmail;
  if (type == identity::kPhone) return MaskKind::kPhone;
  return MaskKind::kGeneric;
}

absl::string_view TypeOf(MaskKind kind) {
  switch (kind) {
    case MaskKind::kEmail: return identity::kEmail;
    case MaskKind::kPhone: return identity::kPhone;
    case MaskKind::kGeneric: break;
  }
  return "";
}

void AppendVarint(uint32_t value, std::string* out) {
  uint8_t bytes[5];  // the most a 32-bit varint takes
  const uint8_t* end = CodedOutputStream::WriteVarint32ToArray(value, bytes);
  out->append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(end - bytes));
}

// Calls `visit(open, close)` for every JSON string of `text`, with the offsets of its quotes.
template <typename Visit>
void ForEachString(absl::string_view text, Visit visit) {
  size_t open = text.find('"');
  while (open != absl::string_view::npos) {
    // The closing quote: the next one not escaped (after an even number of backslashes).
    size_t close = open;
    for (;;) {
      close = text.find('"', close + 1);
      if (close == absl::string_view::npos) return;  // not JSON
      size_t backslashes = 0;
      while (text[close - 1 - backslashes] == '\\') ++backslashes;
      if (backslashes % 2 == 0) break;
    }
    visit(open, close);
    open = text.find('"', close + 1);
  }
}

}  // namespace

std::string IdentifierSpans(absl::string_view json, absl::Span<const RawIdentifier> identifiers) {
  std::string spans;
  if (identifiers.empty()) return spans;
  // What each value looks like between the quotes of a JSON string. Escaping changes only values
  // with quotes, backslashes or control characters.
  std::vector<std::string> escaped(identifiers.size());
  for (size_t k = 0; k < identifiers.size(); ++k) {
    AppendJsonString(identifiers[k].value, &escaped[k]);
    escaped[k] = escaped[k].substr(1, escaped[k].size() - 2);
  }
  size_t previous_end = 0;
  ForEachString(json, [&](size_t open, size_t close) {
    const absl::string_view content = json.substr(open + 1, close - open - 1);
    for (size_t k = 0; k < identifiers.size(); ++k) {
      if (escaped[k].empty() || content != escaped[k]) continue;
      AppendVarint(static_cast<uint32_t>(open - previous_end), &spans);
      AppendVarint(static_cast<uint32_t>(close + 1 - open), &spans);
      AppendVarint(static_cast<uint32_t>(KindOf(identifiers[k].type)), &spans);
      previous_end = close + 1;
      return;
    }
  });
  return spans;
}

absl::Status MaskEventAt(absl::string_view spans, std::string* json) {
  if (spans.empty()) return absl::OkStatus();
  const absl::string_view text = *json;
  CodedInputStream in(reinterpret_cast<const uint8_t*>(spans.data()),
                      static_cast<int>(spans.size()));
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;  // text before this is in `out` already
  while (!in.ExpectAtEnd()) {
    uint32_t gap = 0, length = 0, kind = 0;
    if (!in.ReadVarint32(&gap) || !in.ReadVarint32(&length) || !in.ReadVarint32(&kind) ||
        gap > text.size() - copied || length < 2 || length > text.size() - copied - gap ||
        text[copied + gap] != '"' || text[copied + gap + length - 1] != '"') {
      return absl::DataLossError("identifier spans do not fit the event's JSON");
    }
    const size_t open = copied + gap;
    const absl::string_view content = text.substr(open + 1, length - 2);
    out.append(text.data() + copied, gap);
    AppendJsonString(content.find('\\') != absl::string_view::npos
                         ? std::string("***")
                         : identity::MaskIdentifierValue(TypeOf(static_cast<MaskKind>(kind)),
                                                         content),
                     &out);
    copied = open + length;
  }
  out.append(text.data() + copied, text.size() - copied);
  json->swap(out);
  return absl::OkStatus();
}

absl::StatusOr<IdentifierMasker> IdentifierMasker::Create(
    absl::Span<const CustomIdentifierPath> custom_paths) {
  CDP_ASSIGN_OR_RETURN(std::vector<internal::CompiledPath> paths,
                       internal::CompilePaths(custom_paths));
  return IdentifierMasker(std::move(paths));
}

bool IdentifierMasker::Find(absl::string_view document, std::vector<RawIdentifier>* found) const {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (parser.parse(document.data(), document.size()).get_object().get(root) !=
      simdjson::SUCCESS) {
    return false;
  }
  internal::ExtractStoredIdentifiers(root, &paths_, found);
  return true;
}

absl::Status IdentifierMasker::MaskEvent(std::string* json) const {
  std::vector<RawIdentifier> found;
  if (!Find(*json, &found)) return absl::DataLossError("stored event JSON is not an object");
  return MaskEventAt(IdentifierSpans(*json, found), json);
}

void IdentifierMasker::MaskTraits(absl::Span<const absl::string_view> names,
                                  absl::Span<std::string* const> json) const {
  // The traits as an identify call's `traits` and as `context.traits`, so that every rule that
  // looks in either finds them.
  std::string traits = "{";
  for (size_t i = 0; i < names.size() && i < json.size(); ++i) {
    if (i > 0) traits.push_back(',');
    AppendJsonString(names[i], &traits);
    absl::StrAppend(&traits, ":", *json[i]);
  }
  traits.push_back('}');
  std::vector<RawIdentifier> found;
  if (!Find(absl::StrCat(R"({"traits":)", traits, R"(,"context":{"traits":)", traits, "}}"),
            &found)) {
    // Trait values are JSON texts the pipeline wrote; should one not parse, none is returned
    // unmasked.
    for (std::string* value : json) *value = "null";
    return;
  }
  for (std::string* value : json) {
    // The spans were just found in this very text, so they fit.
    MaskEventAt(IdentifierSpans(*value, found), value).IgnoreError();
  }
}

}  // namespace cdp::ingest
