#include "api/ingest_chunks.h"

#include <algorithm>

#include "absl/strings/string_view.h"
#include "common/json_text.h"

namespace cdp::api {
namespace {

constexpr size_t kReadBytes = size_t{1} << 20;

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

RecordChunker::RecordChunker(std::istream& in, bool csv, size_t max_chunk_bytes,
                             size_t max_record_bytes)
    : in_(in),
      csv_(csv),
      max_chunk_bytes_(std::max<size_t>(max_chunk_bytes, 1)),
      max_record_bytes_(std::max<size_t>(max_record_bytes, 1)) {}

bool RecordChunker::Fill() {
  if (eof_) return false;
  const size_t old = buffer_.size();
  buffer_.resize(old + kReadBytes);
  in_.read(buffer_.data() + old, static_cast<std::streamsize>(kReadBytes));
  const size_t n = static_cast<size_t>(in_.gcount());
  buffer_.resize(old + n);
  if (n == 0) eof_ = true;
  return n > 0;
}

void RecordChunker::Compact() {
  if (pos_ == 0) return;
  buffer_.erase(0, pos_);
  pos_ = 0;
}

size_t RecordEnd(absl::string_view text, size_t pos, bool csv) {
  if (!csv) {
    const size_t nl = text.find('\n', pos);
    return nl == absl::string_view::npos ? absl::string_view::npos : nl + 1;
  }
  bool quoted = false;
  for (size_t i = pos; i < text.size(); ++i) {
    if (text[i] == '"') {
      quoted = !quoted;
    } else if (text[i] == '\n' && !quoted) {
      return i + 1;
    }
  }
  return absl::string_view::npos;
}

size_t RecordChunker::RecordAt() {
  while (true) {
    const size_t end = RecordEnd(buffer_, pos_, csv_);
    if (end != std::string::npos) return end - pos_ > max_record_bytes_ ? std::string::npos : end;
    if (buffer_.size() - pos_ > max_record_bytes_) return std::string::npos;
    if (!Fill()) return buffer_.size();  // the last record, without a newline
  }
}

uint64_t RecordChunker::SkipRecord() {
  uint64_t skipped = 0;
  bool quoted = false;
  while (true) {
    while (pos_ < buffer_.size()) {
      const char c = buffer_[pos_++];
      ++skipped;
      ++consumed_;
      if (c == '"' && csv_) quoted = !quoted;
      if (c != '\n') continue;
      ++line_;
      if (!quoted) return skipped;
    }
    buffer_.clear();
    pos_ = 0;
    if (!Fill()) return skipped;
  }
}

bool RecordChunker::TakeDocument(IngestChunk* chunk) {
  size_t p = pos_;  // the first non-blank byte
  while (true) {
    while (p < buffer_.size() && IsBlank(buffer_[p])) ++p;
    if (p < buffer_.size() || !Fill()) break;
  }
  if (p >= buffer_.size() || buffer_[p] != '{') return false;
  const size_t first = pos_;
  pos_ = p;  // RecordAt measures from pos_
  const size_t end = RecordAt();
  pos_ = first;
  bool document = false;
  if (end != std::string::npos) {
    const absl::string_view line = absl::string_view(buffer_).substr(p, end - p);
    if (LeavesJsonOpen(line)) {
      // A pretty-printed document, or NDJSON whose first line is cut short: a document when the
      // whole input (within the record limit) closes what it opens and names "batch".
      while (buffer_.size() - pos_ <= max_record_bytes_ && Fill()) {
      }
      const absl::string_view all = absl::string_view(buffer_).substr(p);
      document = buffer_.size() - pos_ <= max_record_bytes_ && !LeavesJsonOpen(all) &&
                 all.find("\"batch\"") != absl::string_view::npos;
    } else if (line.find("\"batch\"") != absl::string_view::npos) {
      size_t q = end;  // a one-line {"batch": [...]} alone in the input
      while (true) {
        while (q < buffer_.size() && IsBlank(buffer_[q])) ++q;
        if (q < buffer_.size() || !Fill()) break;
      }
      document = q == buffer_.size();
    }
  }
  if (!document) return false;
  chunk->text = std::move(buffer_);
  chunk->envelope = true;
  consumed_ += chunk->text.size();
  buffer_.clear();
  pos_ = 0;
  return true;
}

bool RecordChunker::Next(IngestChunk* chunk, std::vector<OversizedRecord>* oversized) {
  Compact();
  *chunk = IngestChunk();
  if (!started_) {
    started_ = true;
    if (csv_) {
      if (pos_ >= buffer_.size() && !Fill()) return false;
      const size_t end = RecordAt();
      if (end == std::string::npos) {  // no usable header: nothing can be read after it
        oversized->push_back({line_, SkipRecord()});
        return false;
      }
      header_ = buffer_.substr(pos_, end - pos_);
      line_ += std::count(header_.begin(), header_.end(), '\n');
      consumed_ += header_.size();
      pos_ = end;
    } else {
      if (TakeDocument(chunk)) return true;
    }
  }
  if (csv_) {
    chunk->text = header_;
    chunk->line_starts.push_back(0);
  }
  chunk->first_line = csv_ ? line_ - 1 : line_;
  size_t records = 0;
  while (pos_ < buffer_.size() || Fill()) {
    const size_t end = RecordAt();
    if (end == std::string::npos) {
      if (records > 0) break;  // a chunk's lines are consecutive: the next call skips it
      oversized->push_back({line_, SkipRecord()});
      chunk->first_line = csv_ ? line_ - 1 : line_;
      continue;
    }
    if (records > 0 && chunk->text.size() + (end - pos_) > max_chunk_bytes_) break;
    for (size_t i = pos_; i < end; ++i) {
      if (i == pos_ || buffer_[i - 1] == '\n') {
        chunk->line_starts.push_back(chunk->text.size() + (i - pos_));
      }
      if (buffer_[i] == '\n') ++line_;
    }
    chunk->text.append(buffer_, pos_, end - pos_);
    consumed_ += end - pos_;
    pos_ = end;
    ++records;
  }
  return records > 0;
}

}  // namespace cdp::api
