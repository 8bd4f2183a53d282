// `cdp ingest`: sends files (or stdin), gunzipped when gzip-compressed (api/gzip_input.h), to the
// server in requests of whole records, read a piece at a time (api/ingest_chunks.h) with two
// requests on their way at once; shows progress on a terminal, prints the outcome counts and
// writes rejected records with their reasons to a dead-letter file beside each input as their
// outcomes arrive.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/client_internal.h"
#include "api/gzip_input.h"
#include "api/ingest_chunks.h"
#include "common/json_text.h"
#include "common/status_macros.h"
#include "ingest/dead_letter.h"

namespace cdp::api {
namespace {

// A call shed by the server's admission control (OVERLOADED) is sent again after a pause that
// doubles from kFirstBackoff up to kMaxBackoff, at most kMaxRetries times.
constexpr int kMaxRetries = 20;
constexpr auto kFirstBackoff = std::chrono::milliseconds(50);
constexpr auto kMaxBackoff = std::chrono::milliseconds(2000);
constexpr size_t kRejectionsShown = 10;

struct Totals {
  int64_t accepted = 0, duplicate = 0, rejected = 0, suppressed = 0, filtered = 0;
  std::map<std::string, int64_t> not_kept;  // IngestResponse::not_kept, added up
};

// A request on its way, with what reading its answer needs.
struct Sent {
  Connection* connection = nullptr;
  t::IngestRequest request;
  std::vector<size_t> line_starts;
  std::vector<OversizedRecord> oversized;  // skipped just before this request's records
};

// One input's ingest: its requests, their outcomes, its dead-letter file.
class InputIngest {
 public:
  // `dead_letter_path` empty: rejected records are counted and shown, not written.
  InputIngest(std::string source, bool csv, const std::string& mapping,
              const std::string& dead_letter_path)
      : source_(std::move(source)),
        csv_(csv),
        mapping_(mapping),
        dead_(dead_letter_path.empty()
                  ? nullptr
                  : std::make_unique<ingest::DeadLetterWriter>(dead_letter_path)) {}

  void Send(Connection& c, IngestChunk chunk, std::vector<OversizedRecord> oversized) {
    Sent& s = flight_.emplace_back();
    s.connection = &c;
    s.request.token = c.token();
    s.request.format = chunk.envelope ? t::IngestFormat::BATCH_JSON
                                      : (csv_ ? t::IngestFormat::CSV : t::IngestFormat::NDJSON);
    s.request.body = std::move(chunk.text);
    s.request.__set_source(source_);
    s.request.__set_first_line(chunk.first_line);
    if (csv_) s.request.__set_csv_mapping(mapping_);
    if (!chunk.envelope) s.line_starts = std::move(chunk.line_starts);
    s.oversized = std::move(oversized);
    c.rpc().send_ingest(s.request);
  }

  // Waits for the oldest request's answer and records its outcomes. A CdpError other than
  // OVERLOADED (or OVERLOADED past the retries) propagates.
  absl::Status ReceiveOldest() {
    Sent& s = flight_.front();
    t::IngestResponse response;
    auto backoff = kFirstBackoff;
    for (int attempt = 0;; ++attempt) {
      try {
        s.connection->rpc().recv_ingest(response);
        break;
      } catch (const t::CdpError& e) {
        if (e.code != t::ErrorCode::OVERLOADED || attempt == kMaxRetries) throw;
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, kMaxBackoff);
      s.connection->rpc().send_ingest(s.request);
    }
    CDP_RETURN_IF_ERROR(AddOversized(s.oversized));
    totals_.accepted += response.accepted;
    totals_.duplicate += response.duplicate;
    totals_.rejected += response.rejected;
    totals_.suppressed += response.suppressed;
    totals_.filtered += response.filtered;
    for (const auto& [what, n] : response.not_kept) totals_.not_kept[what] += n;
    const std::string& body = s.request.body;
    for (const t::RecordOutcome& r : response.records) {
      if (r.outcome != t::Outcome::REJECTED) continue;
      ingest::Rejection rejection{.source = source_,
                                  .position = static_cast<uint64_t>(r.position),
                                  .reason = r.reason};
      // The raw record, for the dead-letter file: the line the position names.
      const int64_t index = r.position - s.request.first_line;
      if (index >= 0 && static_cast<size_t>(index) < s.line_starts.size()) {
        const size_t begin = s.line_starts[static_cast<size_t>(index)];
        size_t end = RecordEnd(body, begin, csv_);
        if (end == std::string::npos) end = body.size();
        while (end > begin && (body[end - 1] == '\n' || body[end - 1] == '\r')) --end;
        rejection.raw = body.substr(begin, end - begin);
      }
      CDP_RETURN_IF_ERROR(Reject(std::move(rejection)));
    }
    flight_.pop_front();
    return absl::OkStatus();
  }

  // Records skipped as too long to send; called in input order with the answers.
  absl::Status AddOversized(const std::vector<OversizedRecord>& oversized) {
    for (const OversizedRecord& o : oversized) {
      ++totals_.rejected;
      CDP_RETURN_IF_ERROR(Reject(
          {.source = source_,
           .position = static_cast<uint64_t>(o.line),
           .reason = absl::StrCat("record of ", o.bytes, " bytes is longer than the ",
                                  RecordChunker::kDefaultMaxRecordBytes >> 20,
                                  " MiB a record may have; not sent (its text is not kept)")}));
    }
    return absl::OkStatus();
  }

  // Syncs the dead-letter file; its path, or "" when nothing was written. After a whole input
  // without rejections (`complete`), a dead-letter file an earlier run left beside it is removed:
  // it holds rejected records (personal data) that no longer describe the input's last run.
  absl::StatusOr<std::string> CloseDeadLetters(bool complete, bool* removed_stale) {
    *removed_stale = false;
    if (dead_ == nullptr) return std::string();
    if (dead_->added() == 0) {
      std::error_code ec;
      *removed_stale = complete && std::filesystem::remove(dead_->path(), ec);
      return std::string();
    }
    CDP_RETURN_IF_ERROR(dead_->Close());
    return dead_->path();
  }
  const std::string& dead_letter_path() const {
    static const std::string kNone;
    return dead_ == nullptr ? kNone : dead_->path();
  }

  size_t in_flight() const { return flight_.size(); }
  const Totals& totals() const { return totals_; }
  const std::vector<ingest::Rejection>& shown() const { return shown_; }

 private:
  absl::Status Reject(ingest::Rejection rejection) {
    if (shown_.size() < kRejectionsShown) {
      shown_.push_back(
          {.source = rejection.source, .position = rejection.position, .reason = rejection.reason});
    }
    return dead_ == nullptr ? absl::OkStatus() : dead_->Add(rejection);
  }

  const std::string source_;
  const bool csv_;
  const std::string& mapping_;
  std::deque<Sent> flight_;
  Totals totals_;
  std::vector<ingest::Rejection> shown_;  // the first few, without their raw text
  std::unique_ptr<ingest::DeadLetterWriter> dead_;
};

void PrintSummary(const ClientOptions& options, const std::string& source,
                  const InputIngest& ingest, bool envelope, const std::string& dead_letter) {
  const Totals& totals = ingest.totals();
  if (options.json) {
    std::string line = "{\"source\":";
    AppendJsonString(source, &line);
    absl::StrAppend(&line, ",\"accepted\":", totals.accepted, ",\"duplicate\":",
                    totals.duplicate, ",\"rejected\":", totals.rejected, ",\"suppressed\":",
                    totals.suppressed, ",\"filtered\":", totals.filtered, ",\"dead_letter\":");
    AppendJsonString(dead_letter, &line);
    line += ",\"not_kept\":{";
    for (const auto& [what, n] : totals.not_kept) {
      if (line.back() != '{') line += ',';
      AppendJsonString(what, &line);
      absl::StrAppend(&line, ":", n);
    }
    std::printf("%s}}\n", line.c_str());
    return;
  }
  std::printf("%s: %lld accepted, %lld duplicate, %lld rejected, %lld suppressed, %lld filtered\n",
              source.c_str(), static_cast<long long>(totals.accepted),
              static_cast<long long>(totals.duplicate), static_cast<long long>(totals.rejected),
              static_cast<long long>(totals.suppressed), static_cast<long long>(totals.filtered));
  for (const ingest::Rejection& r : ingest.shown()) {
    std::printf("  rejected at %s %llu: %s\n", envelope ? "index" : "line",
                static_cast<unsigned long long>(r.position), r.reason.c_str());
  }
  if (!dead_letter.empty()) {
    std::printf("  rejected records with their reasons: %s\n", dead_letter.c_str());
  }
  if (!totals.not_kept.empty()) {
    std::string parts;
    for (const auto& [what, n] : totals.not_kept) {
      absl::StrAppend(&parts, parts.empty() ? "" : ", ", what, " ", n);
    }
    std::printf("  not kept from accepted records: %s\n", parts.c_str());
  }
}

}  // namespace

// Requests on their way at once (in_flight) each have a connection of their own: while the
// server applies one call's records (calls are applied one at a time), it parses the next, syncs,
// and sends answers.
int RunIngest(const ClientOptions& options, const std::vector<std::string>& files,
              const std::string& mapping_path, int in_flight) {
  std::string mapping;
  if (!mapping_path.empty()) {
    std::ifstream in(mapping_path, std::ios::binary);
    if (!in) return PrintError(absl::NotFoundError(absl::StrCat("cannot read ", mapping_path)));
    mapping.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const bool csv = !mapping_path.empty();
  const bool progress = !options.json && isatty(STDERR_FILENO);
  return WithServer(options, [&](Connection& first) {
    std::vector<Connection*> connections = {&first};
    std::vector<std::unique_ptr<Connection>> more;
    while (connections.size() < static_cast<size_t>(std::max(in_flight, 1))) {
      auto extra = Connection::Open(options);
      if (!extra.ok()) break;  // one connection works too, one call at a time
      connections.push_back(extra->get());
      more.push_back(*std::move(extra));
    }
    int exit_code = 0;
    for (const std::string& file : files) {
      absl::StatusOr<std::unique_ptr<GzipInput>> input = GzipInput::Open(file);
      if (!input.ok()) return PrintError(input.status());
      uint64_t size = 0;  // of a regular file, for progress
      std::error_code ec;
      if (file != "-" && std::filesystem::is_regular_file(file, ec)) {
        size = std::filesystem::file_size(file, ec);
      }
      const std::string source = file == "-" ? "stdin" : file;
      InputIngest ingest(source, csv, mapping,
                         file == "-" ? std::string() : ingest::DeadLetterPath(file));
      RecordChunker chunker((*input)->stream(), csv);
      size_t sent = 0;
      bool envelope = false;
      std::vector<OversizedRecord> oversized;
      IngestChunk chunk;
      while (chunker.Next(&chunk, &oversized)) {
        envelope = envelope || chunk.envelope;
        if (ingest.in_flight() == connections.size()) {
          if (absl::Status s = ingest.ReceiveOldest(); !s.ok()) return PrintError(s);
        }
        ingest.Send(*connections[sent++ % connections.size()], std::move(chunk),
                    std::move(oversized));
        oversized.clear();
        if (progress && size > 0) {
          std::fprintf(stderr, "\r%s: %3d%%", source.c_str(),
                       static_cast<int>(100.0 * static_cast<double>((*input)->file_offset()) /
                                        static_cast<double>(size)));
        } else if (progress) {
          std::fprintf(stderr, "\r%s: %llu MiB", source.c_str(),
                       static_cast<unsigned long long>(chunker.bytes_read() >> 20));
        }
      }
      while (ingest.in_flight() > 0) {
        if (absl::Status s = ingest.ReceiveOldest(); !s.ok()) return PrintError(s);
      }
      if (absl::Status s = ingest.AddOversized(oversized); !s.ok()) return PrintError(s);
      if (progress) std::fprintf(stderr, "\r%*s\r", static_cast<int>(source.size()) + 12, "");
      // A read error or a gzip file that ends early: what was read before it was sent.
      absl::Status read = (*input)->status();
      if (read.ok() && !chunker.ok()) read = absl::DataLossError("read error");
      bool removed_stale = false;
      absl::StatusOr<std::string> dead_letter =
          ingest.CloseDeadLetters(/*complete=*/read.ok(), &removed_stale);
      if (!dead_letter.ok()) return PrintError(dead_letter.status());
      if (ingest.totals().rejected > 0) exit_code = 2;  // everything else was applied
      PrintSummary(options, source, ingest, envelope, *dead_letter);
      if (removed_stale && !options.json) {
        std::printf("  removed %s, left by an earlier run: this one rejected nothing\n",
                    ingest.dead_letter_path().c_str());
      }
      if (!read.ok()) {
        return PrintError(absl::Status(
            read.code(), absl::StrCat(source, ": ", read.message(), " after ",
                                      chunker.bytes_read(), " bytes; the records before were sent")));
      }
    }
    return exit_code;
  });
}

}  // namespace cdp::api
