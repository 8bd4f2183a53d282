// `cdp ingest`: sends files (or stdin) to the server in batches of whole records, shows progress
// on a terminal, prints the outcome counts and writes rejected records with their reasons to a
// dead-letter file beside each input.

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "api/client_internal.h"
#include "common/json_text.h"
#include "ingest/dead_letter.h"

namespace cdp::api {
namespace {

// Bytes per request: well under the server's default batch limit (4 MiB).
constexpr size_t kChunkBytes = size_t{1} << 20;

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  std::stringstream buffer;
  if (path == "-") {
    buffer << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
    buffer << in.rdbuf();
  }
  return buffer.str();
}

// End of the record that starts at `pos`: the next newline outside double quotes (CSV) or the
// next newline (NDJSON); text.size() when none.
size_t RecordEnd(const std::string& text, size_t pos, bool csv) {
  bool quoted = false;
  for (size_t i = pos; i < text.size(); ++i) {
    if (csv && text[i] == '"') quoted = !quoted;
    if (text[i] == '\n' && !quoted) return i + 1;
  }
  return text.size();
}

struct Totals {
  int64_t accepted = 0, duplicate = 0, rejected = 0, suppressed = 0, filtered = 0;
};

}  // namespace

int RunIngest(const ClientOptions& options, const std::vector<std::string>& files,
              const std::string& mapping_path) {
  std::string mapping;
  if (!mapping_path.empty()) {
    auto text = ReadAll(mapping_path);
    if (!text.ok()) return PrintError(text.status());
    mapping = *std::move(text);
  }
  const bool csv = !mapping_path.empty();
  const bool progress = !options.json && isatty(STDERR_FILENO);
  return WithServer(options, [&](Connection& c) {
    int exit_code = 0;
    for (const std::string& file : files) {
      auto text = ReadAll(file);
      if (!text.ok()) return PrintError(text.status());
      const std::string source = file == "-" ? "stdin" : file;
      Totals totals;
      std::vector<ingest::Rejection> rejections;
      auto send = [&](t::IngestFormat::type format, std::string body, int64_t first_line,
                      const std::vector<size_t>& line_starts, const std::string& chunk_text) {
        t::IngestRequest request;
        request.token = c.token();
        request.format = format;
        request.body = std::move(body);
        request.__set_source(source);
        request.__set_first_line(first_line);
        if (csv) request.__set_csv_mapping(mapping);
        t::IngestResponse response;
        c.rpc().ingest(response, request);
        totals.accepted += response.accepted;
        totals.duplicate += response.duplicate;
        totals.rejected += response.rejected;
        totals.suppressed += response.suppressed;
        totals.filtered += response.filtered;
        for (const t::RecordOutcome& r : response.records) {
          if (r.outcome != t::Outcome::REJECTED) continue;
          ingest::Rejection& rejection = rejections.emplace_back();
          rejection.source = source;
          rejection.position = static_cast<uint64_t>(r.position);
          rejection.reason = r.reason;
          // The raw record, for the dead-letter file: the line the position names.
          const int64_t index = r.position - first_line;
          if (format != t::IngestFormat::BATCH_JSON && index >= 0 &&
              static_cast<size_t>(index) < line_starts.size()) {
            const size_t begin = line_starts[static_cast<size_t>(index)];
            size_t end = RecordEnd(chunk_text, begin, csv);
            while (end > begin && (chunk_text[end - 1] == '\n' || chunk_text[end - 1] == '\r')) --end;
            rejection.raw = chunk_text.substr(begin, end - begin);
          }
        }
      };
      const size_t first = text->find_first_not_of(" \t\r\n");
      const bool envelope = !csv && first != std::string::npos && (*text)[first] == '{' &&
                            text->find("\"batch\"") != std::string::npos &&
                            RecordEnd(*text, first, false) >= text->find_last_not_of(" \t\r\n");
      if (envelope) {
        send(t::IngestFormat::BATCH_JSON, *text, 1, {}, *text);
      } else {
        // Whole records per request; a CSV chunk repeats the header row.
        size_t pos = 0;
        int64_t line = 1;
        std::string header;
        if (csv) {
          const size_t end = RecordEnd(*text, 0, true);
          header = text->substr(0, end);
          pos = end;
          line = 2;
        }
        while (pos < text->size()) {
          std::string chunk = header;
          std::vector<size_t> starts;
          const int64_t chunk_first = csv ? line - 1 : line;
          if (csv) starts.push_back(0);
          int64_t lines = 0;
          while (pos < text->size() && (chunk.size() < kChunkBytes || lines == 0)) {
            const size_t end = RecordEnd(*text, pos, csv);
            for (size_t i = pos; i < end; ++i) {
              if (i == pos || (*text)[i - 1] == '\n') starts.push_back(chunk.size() + (i - pos));
            }
            for (size_t i = pos; i < end; ++i) lines += (*text)[i] == '\n' ? 1 : 0;
            if (end == text->size() && (*text)[end - 1] != '\n') ++lines;
            chunk.append(*text, pos, end - pos);
            pos = end;
          }
          send(csv ? t::IngestFormat::CSV : t::IngestFormat::NDJSON, chunk, chunk_first, starts,
               chunk);
          line += lines;
          if (progress) {
            std::fprintf(stderr, "\r%s: %3d%%", source.c_str(),
                         static_cast<int>(100.0 * static_cast<double>(pos) /
                                          static_cast<double>(text->size())));
          }
        }
        if (progress) std::fprintf(stderr, "\r%*s\r", static_cast<int>(source.size()) + 8, "");
      }
      std::string dead_letter;
      if (!rejections.empty() && file != "-") {
        dead_letter = ingest::DeadLetterPath(file);
        if (absl::Status s = ingest::WriteDeadLetters(dead_letter, rejections); !s.ok()) {
          return PrintError(s);
        }
        exit_code = 2;  // some records were rejected; everything else was applied
      }
      if (options.json) {
        std::string line = "{\"source\":";
        AppendJsonString(source, &line);
        absl::StrAppend(&line, ",\"accepted\":", totals.accepted, ",\"duplicate\":",
                        totals.duplicate, ",\"rejected\":", totals.rejected,
                        ",\"suppressed\":", totals.suppressed, ",\"filtered\":",
                        totals.filtered, ",\"dead_letter\":");
        AppendJsonString(dead_letter, &line);
        std::printf("%s}\n", line.c_str());
      } else {
        std::printf("%s: %lld accepted, %lld duplicate, %lld rejected, %lld suppressed, "
                    "%lld filtered\n",
                    source.c_str(), static_cast<long long>(totals.accepted),
                    static_cast<long long>(totals.duplicate),
                    static_cast<long long>(totals.rejected),
                    static_cast<long long>(totals.suppressed),
                    static_cast<long long>(totals.filtered));
        for (size_t i = 0; i < rejections.size() && i < 10; ++i) {
          std::printf("  rejected at %s %llu: %s\n", envelope ? "index" : "line",
                      static_cast<unsigned long long>(rejections[i].position),
                      rejections[i].reason.c_str());
        }
        if (!dead_letter.empty()) {
          std::printf("  rejected records with their reasons: %s\n", dead_letter.c_str());
        }
      }
    }
    return exit_code;
  });
}

}  // namespace cdp::api
