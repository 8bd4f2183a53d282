// MakeProtocolFactory builds a protocol typed on the framed transport when it gets one: the
// string and container limits must hold on that protocol exactly as on the generic one.

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TProtocolException.h>
#include <thrift/transport/TBufferTransports.h>

#include <memory>
#include <string>

#include "api/transport.h"
#include "gtest/gtest.h"

namespace cdp::api {
namespace {

using apache::thrift::protocol::TBinaryProtocolT;
using apache::thrift::protocol::TProtocol;
using apache::thrift::protocol::TProtocolException;
using apache::thrift::protocol::TType;
using apache::thrift::transport::TFramedTransport;
using apache::thrift::transport::TMemoryBuffer;

class ProtocolLimitsTest : public ::testing::Test {
 protected:
  ProtocolLimitsTest() {
    limits_.max_string_bytes = 64;
    limits_.max_container_elements = 10;
  }

  // A framed transport over `wire`, with the protocol the server would use on it.
  std::shared_ptr<TProtocol> ReaderOf(const std::string& frame_body) {
    std::string wire(4, '\0');
    const uint32_t size = static_cast<uint32_t>(frame_body.size());
    for (int i = 0; i < 4; ++i)
      wire[static_cast<size_t>(i)] = static_cast<char>(size >> (24 - 8 * i));
    wire += frame_body;
    auto buffer = std::make_shared<TMemoryBuffer>();
    buffer->write(reinterpret_cast<const uint8_t*>(wire.data()),
                  static_cast<uint32_t>(wire.size()));
    auto framed = std::make_shared<TFramedTransport>(buffer);
    return MakeProtocolFactory(limits_)->getProtocol(framed);
  }

  // The body of a frame written by the generic protocol.
  static std::string Body(void (*write)(TProtocol&)) {
    auto buffer = std::make_shared<TMemoryBuffer>();
    TBinaryProtocolT<apache::thrift::transport::TTransport> out(buffer);
    write(out);
    return buffer->getBufferAsString();
  }

  ServerLimits limits_;
};

TEST_F(ProtocolLimitsTest, FramedTransportGetsTheTypedProtocol) {
  auto protocol = ReaderOf(Body([](TProtocol& p) { p.writeString("x"); }));
  EXPECT_NE(dynamic_cast<TBinaryProtocolT<TFramedTransport>*>(protocol.get()), nullptr);
}

TEST_F(ProtocolLimitsTest, StringWithinTheLimitIsRead) {
  auto protocol = ReaderOf(Body([](TProtocol& p) { p.writeString(std::string(64, 'a')); }));
  std::string value;
  protocol->readString(value);
  EXPECT_EQ(value, std::string(64, 'a'));
}

TEST_F(ProtocolLimitsTest, StringOverTheLimitIsRefused) {
  auto protocol = ReaderOf(Body([](TProtocol& p) { p.writeString(std::string(65, 'a')); }));
  std::string value;
  try {
    protocol->readString(value);
    FAIL() << "a 65-byte string was read under a 64-byte limit";
  } catch (const TProtocolException& e) {
    EXPECT_EQ(e.getType(), TProtocolException::SIZE_LIMIT);
  }
}

TEST_F(ProtocolLimitsTest, ListOverTheLimitIsRefused) {
  auto protocol = ReaderOf(Body([](TProtocol& p) {
    p.writeListBegin(TType::T_I32, 11);
    for (int i = 0; i < 11; ++i) p.writeI32(i);
    p.writeListEnd();
  }));
  TType type;
  uint32_t size = 0;
  try {
    protocol->readListBegin(type, size);
    FAIL() << "a list of 11 was accepted under a limit of 10";
  } catch (const TProtocolException& e) {
    EXPECT_EQ(e.getType(), TProtocolException::SIZE_LIMIT);
  }
}

}  // namespace
}  // namespace cdp::api
