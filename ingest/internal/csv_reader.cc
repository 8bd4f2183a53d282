#include "ingest/internal/csv_reader.h"

#include <algorithm>
#include <utility>

namespace cdp::ingest::internal {

CsvReader::CsvReader(absl::string_view text, char delimiter) : text_(text), delimiter_(delimiter) {}

bool CsvReader::AtLineEnd(size_t pos) const {
  if (pos >= text_.size() || text_[pos] == '\n') return true;
  return text_[pos] == '\r' && (pos + 1 == text_.size() || text_[pos + 1] == '\n');
}

void CsvReader::ConsumeLineEnd() {
  if (pos_ < text_.size() && text_[pos_] == '\r') ++pos_;
  if (pos_ < text_.size() && text_[pos_] == '\n') {
    ++pos_;
    ++line_;
  }
}

void CsvReader::SkipRestOfLine() {
  while (!AtLineEnd(pos_)) ++pos_;
}

bool CsvReader::ReadQuoted(std::string* field, CsvRecord* record) {
  ++pos_;  // the opening quote
  while (true) {
    const size_t quote = text_.find('"', pos_);
    const size_t stop = quote == absl::string_view::npos ? text_.size() : quote;
    const absl::string_view chunk = text_.substr(pos_, stop - pos_);
    line_ += std::count(chunk.begin(), chunk.end(), '\n');
    field->append(chunk.data(), chunk.size());
    pos_ = stop;
    if (quote == absl::string_view::npos) {
      record->error = "unterminated quoted field";
      return false;
    }
    ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '"') {  // "" is one quote
      field->push_back('"');
      ++pos_;
      continue;
    }
    if (pos_ < text_.size() && text_[pos_] != delimiter_ && !AtLineEnd(pos_)) {
      record->error = "text after a closing quote";
      SkipRestOfLine();
      return false;
    }
    return true;
  }
}

bool CsvReader::Next(CsvRecord* record) {
  while (pos_ < text_.size() && AtLineEnd(pos_)) ConsumeLineEnd();  // empty lines
  if (pos_ >= text_.size()) return false;
  record->line = line_;
  record->fields.clear();
  record->error = {};
  const size_t start = pos_;
  while (true) {
    std::string field;
    if (text_[pos_] == '"') {
      if (!ReadQuoted(&field, record)) break;
    } else {
      const size_t begin = pos_;
      while (pos_ < text_.size() && text_[pos_] != delimiter_ && !AtLineEnd(pos_)) ++pos_;
      field.assign(text_.data() + begin, pos_ - begin);
    }
    record->fields.push_back(std::move(field));
    if (pos_ < text_.size() && text_[pos_] == delimiter_) {
      ++pos_;
      if (pos_ == text_.size()) {
        record->fields.emplace_back();  // "a," at the very end: a last, empty field
        break;
      }
      continue;
    }
    break;
  }
  record->raw = text_.substr(start, pos_ - start);
  ConsumeLineEnd();
  return true;
}

}  // namespace cdp::ingest::internal
