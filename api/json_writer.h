#pragma once
// ToJson: any generated Thrift struct as plain JSON ({"field": value}), for `cdp ... --json`.
// Structs become objects keyed by field name (unset optional fields are left out), lists and
// sets arrays, maps objects (non-string keys quoted), binary fields base64, enums their number.
//
// A write-only Thrift protocol: it never reads. Not thread-safe (one per call).

#include <cstdint>
#include <string>
#include <vector>

#include <thrift/protocol/TVirtualProtocol.h>

namespace cdp::api {

class JsonWriter
    : public apache::thrift::protocol::TVirtualProtocol<JsonWriter,
                                                        apache::thrift::protocol::TProtocolDefaults> {
 public:
  JsonWriter();

  const std::string& text() const { return out_; }

  uint32_t writeStructBegin(const char* name);
  uint32_t writeStructEnd();
  uint32_t writeFieldBegin(const char* name, apache::thrift::protocol::TType type, int16_t id);
  uint32_t writeFieldEnd() { return 0; }
  uint32_t writeFieldStop() { return 0; }
  uint32_t writeMapBegin(apache::thrift::protocol::TType key, apache::thrift::protocol::TType value,
                         uint32_t size);
  uint32_t writeMapEnd();
  uint32_t writeListBegin(apache::thrift::protocol::TType element, uint32_t size);
  uint32_t writeListEnd();
  uint32_t writeSetBegin(apache::thrift::protocol::TType element, uint32_t size);
  uint32_t writeSetEnd();
  uint32_t writeBool(bool value);
  uint32_t writeByte(int8_t value);
  uint32_t writeI16(int16_t value);
  uint32_t writeI32(int32_t value);
  uint32_t writeI64(int64_t value);
  uint32_t writeDouble(double value);
  uint32_t writeString(const std::string& value);
  uint32_t writeBinary(const std::string& value);

 private:
  enum class Scope { kStruct, kList, kMap };
  struct Frame {
    Scope scope;
    uint32_t items = 0;
  };
  // Emits what must come before a value: a comma in a list, a key or ':' in a map. Returns true
  // when the value is a map key (to be quoted).
  bool BeginValue();
  void EndValue(bool was_key);
  void Scalar(const std::string& text);
  void Open(Scope scope, char bracket);
  void Close(char bracket);

  std::string out_;
  std::vector<Frame> stack_;
};

template <typename T>
std::string ToJson(const T& value) {
  JsonWriter writer;
  value.write(&writer);
  return writer.text();
}

}  // namespace cdp::api
