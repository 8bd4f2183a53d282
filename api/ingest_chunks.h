#pragma once
// RecordChunker: cuts an ingest input (NDJSON, or CSV with a header row) into request bodies of
// whole records while reading it a piece at a time, so that `cdp ingest` of a file of any size
// holds about one request's worth of it in memory.
//
// - A record is a line (NDJSON) or a CSV row, which may span lines inside double quotes
//   (RFC 4180). A chunk holds whole records, at most `max_chunk_bytes` unless a single record is
//   longer; every CSV chunk starts with the header row.
// - Line numbers are the input's, from 1: a chunk tells the line of its first line (for CSV, the
//   line before its first row, where the header stands in), and where each of its lines starts,
//   so a rejection's position finds its raw record.
// - A record longer than `max_record_bytes` is not buffered: it is skipped and reported as an
//   oversized record with its line, so that a file without newlines cannot exhaust memory.
// - An input that is one JSON document, a `{"batch": [...]}` envelope, is not cut: it comes back
//   whole, as one chunk, and the server splits it. That is an input that names "batch" and either
//   is one line with nothing but blanks after it, or opens an object on its first line that only
//   a later line closes (pretty-printed), closing all it opens within `max_record_bytes`. NDJSON
//   whose first line is cut short stays lines: that line alone is rejected.
//
// Thread safety: not thread-safe.

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace cdp::api {

// End of the record that starts at text[pos]: one past the next newline (NDJSON), or past the
// next newline outside double quotes (CSV); npos when `text` has none after `pos`.
size_t RecordEnd(absl::string_view text, size_t pos, bool csv);

struct IngestChunk {
  std::string text;                 // whole records; for CSV the header row first
  int64_t first_line = 1;           // the input line of text's first line
  std::vector<size_t> line_starts;  // offset in text of each of its lines, in order
  bool envelope = false;            // the whole input is one {"batch": [...]} document
};

struct OversizedRecord {
  int64_t line = 0;    // where it starts
  uint64_t bytes = 0;  // how long it was
};

class RecordChunker {
 public:
  static constexpr size_t kDefaultMaxChunkBytes = size_t{1} << 20;
  static constexpr size_t kDefaultMaxRecordBytes = size_t{16} << 20;

  RecordChunker(std::istream& in, bool csv, size_t max_chunk_bytes = kDefaultMaxChunkBytes,
                size_t max_record_bytes = kDefaultMaxRecordBytes);

  // The next chunk; false when the input has no more records. Records skipped as oversized
  // since the previous call are appended to `oversized`.
  bool Next(IngestChunk* chunk, std::vector<OversizedRecord>* oversized);

  // Bytes of the input consumed so far (for progress).
  uint64_t bytes_read() const { return consumed_; }
  // False after a read error of the stream (not at its end).
  bool ok() const { return !in_.bad(); }

 private:
  // Ensures buffer_ holds a whole record at pos_ (or the input's end); returns its end offset in
  // buffer_, or npos when it grew past max_record_bytes_ (the caller skips it).
  size_t RecordAt();
  // Discards the record at pos_ up to its end without keeping it; returns its length.
  uint64_t SkipRecord();
  // At the start of an NDJSON input: takes the whole input when it is one document (see above).
  bool TakeDocument(IngestChunk* chunk);
  bool Fill();  // appends one read to buffer_; false at the end of the input
  void Compact();

  std::istream& in_;
  const bool csv_;
  const size_t max_chunk_bytes_, max_record_bytes_;
  std::string buffer_;
  size_t pos_ = 0;         // start of the next record in buffer_
  bool eof_ = false;
  bool started_ = false;
  int64_t line_ = 1;       // input line at pos_
  uint64_t consumed_ = 0;  // input bytes before pos_
  std::string header_;     // CSV header row, with its newline
};

}  // namespace cdp::api
