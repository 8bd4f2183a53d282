#include "api/json_writer.h"

#include <thrift/transport/TBufferTransports.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/json_text.h"

namespace cdp::api {

using apache::thrift::protocol::TType;

JsonWriter::JsonWriter()
    : TVirtualProtocol(std::make_shared<apache::thrift::transport::TMemoryBuffer>()) {}

bool JsonWriter::BeginValue() {
  if (stack_.empty()) return false;
  Frame& frame = stack_.back();
  if (frame.scope == Scope::kList) {
    if (frame.items++ > 0) out_ += ',';
    return false;
  }
  if (frame.scope == Scope::kMap) {
    const bool key = frame.items % 2 == 0;
    if (key && frame.items > 0) out_ += ',';
    ++frame.items;
    return key;
  }
  return false;  // a struct field: writeFieldBegin wrote the name
}

void JsonWriter::EndValue(bool was_key) {
  if (was_key) out_ += ':';
}

void JsonWriter::Scalar(const std::string& text) {
  const bool key = BeginValue();
  if (key) {
    AppendJsonString(text, &out_);
  } else {
    out_ += text;
  }
  EndValue(key);
}

void JsonWriter::Open(Scope scope, char bracket) {
  EndValue(BeginValue());
  out_ += bracket;
  stack_.push_back({scope});
}

void JsonWriter::Close(char bracket) {
  out_ += bracket;
  stack_.pop_back();
}

uint32_t JsonWriter::writeStructBegin(const char*) {
  Open(Scope::kStruct, '{');
  return 0;
}
uint32_t JsonWriter::writeStructEnd() {
  Close('}');
  return 0;
}
uint32_t JsonWriter::writeFieldBegin(const char* name, TType, int16_t) {
  Frame& frame = stack_.back();
  if (frame.items++ > 0) out_ += ',';
  AppendJsonString(name, &out_);
  out_ += ':';
  return 0;
}
uint32_t JsonWriter::writeMapBegin(TType, TType, uint32_t) {
  Open(Scope::kMap, '{');
  return 0;
}
uint32_t JsonWriter::writeMapEnd() {
  Close('}');
  return 0;
}
uint32_t JsonWriter::writeListBegin(TType, uint32_t) {
  Open(Scope::kList, '[');
  return 0;
}
uint32_t JsonWriter::writeListEnd() {
  Close(']');
  return 0;
}
uint32_t JsonWriter::writeSetBegin(TType, uint32_t) {
  Open(Scope::kList, '[');
  return 0;
}
uint32_t JsonWriter::writeSetEnd() {
  Close(']');
  return 0;
}
uint32_t JsonWriter::writeBool(bool value) {
  Scalar(value ? "true" : "false");
  return 0;
}
uint32_t JsonWriter::writeByte(int8_t value) {
  Scalar(absl::StrCat(value));
  return 0;
}
uint32_t JsonWriter::writeI16(int16_t value) {
  Scalar(absl::StrCat(value));
  return 0;
}
uint32_t JsonWriter::writeI32(int32_t value) {
  Scalar(absl::StrCat(value));
  return 0;
}
uint32_t JsonWriter::writeI64(int64_t value) {
  Scalar(absl::StrCat(value));
  return 0;
}
uint32_t JsonWriter::writeDouble(double value) {
  Scalar(absl::StrCat(value));
  return 0;
}
uint32_t JsonWriter::writeString(const std::string& value) {
  const bool key = BeginValue();
  AppendJsonString(value, &out_);
  EndValue(key);
  return 0;
}
uint32_t JsonWriter::writeBinary(const std::string& value) {
  const bool key = BeginValue();
  AppendJsonString(absl::Base64Escape(value), &out_);
  EndValue(key);
  return 0;
}

}  // namespace cdp::api
