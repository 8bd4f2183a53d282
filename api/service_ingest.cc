// ingest: a batch of Segment-spec events (NDJSON or a batch envelope) or a CSV text with its
// column mapping, parsed with the server's limits and applied in one synced write.

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/service_internal.h"
#include "ingest/csv_mapping.h"
#include "ingest/csv_parser.h"

namespace cdp::api {

namespace {

t::Outcome::type ToThrift(ingest::Outcome outcome) {
  switch (outcome) {
    case ingest::Outcome::kAccepted:
      return t::Outcome::ACCEPTED;
    case ingest::Outcome::kDuplicate:
      return t::Outcome::DUPLICATE;
    case ingest::Outcome::kRejected:
      return t::Outcome::REJECTED;
    case ingest::Outcome::kSuppressed:
      return t::Outcome::SUPPRESSED;
    case ingest::Outcome::kFiltered:
      return t::Outcome::FILTERED;
  }
  return t::Outcome::REJECTED;
}

// Shifts the positions of a CSV parse so that line 1 of `text` counts as `first_line`.
void ShiftLines(ingest::ParseOutput& parsed, int64_t first_line) {
  const uint64_t shift = static_cast<uint64_t>(first_line - 1);
  if (shift == 0) return;
  for (uint64_t& position : parsed.event_positions) position += shift;
  for (ingest::Rejection& r : parsed.rejections) r.position += shift;
}

}  // namespace

void ConnectionHandler::ingest(t::IngestResponse& out, const t::IngestRequest& request) {
  Run(CallId::kIngest, request.token, kIngestRole, Admission::Kind::kWrite,
      [&](const Caller& caller) -> absl::Status {
        const ingest::ParserOptions& options = core_->config().parser;
        if (request.body.size() > options.max_batch_bytes) {
          return absl::InvalidArgumentError(
              absl::StrCat("body: ", request.body.size(), " bytes exceeds the limit of ",
                           options.max_batch_bytes, "; send smaller batches"));
        }
        const int64_t first_line = request.__isset.first_line ? request.first_line : 1;
        if (first_line < 1) return absl::InvalidArgumentError("first_line: must be at least 1");
        const std::string source = request.__isset.source ? request.source : "request";
        ingest::ParseOutput parsed;
        switch (request.format) {
          case t::IngestFormat::NDJSON:
            parsed = Parser().ParseNdjson(request.body, source, static_cast<uint64_t>(first_line));
            break;
          case t::IngestFormat::BATCH_JSON: {
            auto out_or = Parser().ParseBatchEnvelope(request.body, source);
            if (!out_or.ok()) return out_or.status();
            parsed = *std::move(out_or);
            break;
          }
          case t::IngestFormat::CSV: {
            if (!request.__isset.csv_mapping) {
              return absl::InvalidArgumentError("csv_mapping: required for CSV");
            }
            auto mapping = ingest::ParseCsvMapping(request.csv_mapping);
            if (!mapping.ok()) {
              return absl::InvalidArgumentError(
                  absl::StrCat("csv_mapping: ", mapping.status().message()));
            }
            auto parser = ingest::CsvParser::Create(*std::move(mapping), options);
            if (!parser.ok()) return parser.status();
            auto out_or = (*parser)->Parse(request.body, source);
            if (!out_or.ok()) return out_or.status();
            parsed = *std::move(out_or);
            ShiftLines(parsed, first_line);
            break;
          }
          default:
            return absl::InvalidArgumentError("format: expected NDJSON, BATCH_JSON or CSV");
        }
        auto summary = core_->stack().pipeline->Apply(std::move(parsed));
        if (!summary.ok()) return summary.status();
        out.accepted = static_cast<int64_t>(summary->accepted);
        out.duplicate = static_cast<int64_t>(summary->duplicate);
        out.rejected = static_cast<int64_t>(summary->rejected);
        out.suppressed = static_cast<int64_t>(summary->suppressed);
        out.filtered = static_cast<int64_t>(summary->filtered);
        out.records.reserve(summary->records.size());
        for (const ingest::RecordResult& r : summary->records) {
          t::RecordOutcome& o = out.records.emplace_back();
          o.position = static_cast<int64_t>(r.position);
          o.outcome = ToThrift(r.outcome);
          if (!r.reason.empty()) o.__set_reason(r.reason);
          if (!r.message_id.empty()) o.__set_message_id(r.message_id);
        }
        std::map<std::string, int64_t> not_kept;
        for (const auto& [what, n] : summary->identifier_rejections) {
          not_kept[absl::StrCat("identifier:", what)] += static_cast<int64_t>(n);
        }
        for (const auto& [category, n] : summary->unknown_consent_categories) {
          not_kept[absl::StrCat("consent_category:", category)] += static_cast<int64_t>(n);
        }
        const ingest::ProfileDataDrops& dropped = summary->dropped;
        if (dropped.traits > 0) not_kept["profile_limit:traits"] = dropped.traits;
        if (dropped.event_names > 0) not_kept["profile_limit:event_names"] = dropped.event_names;
        if (dropped.groups > 0) not_kept["profile_limit:groups"] = dropped.groups;
        if (!not_kept.empty()) out.__set_not_kept(std::move(not_kept));
        return absl::OkStatus();
      });
}

}  // namespace cdp::api
