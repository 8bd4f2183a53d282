// Fuzz target: whole framed messages as the server reads them, without a handler or a store.
// The input is the byte stream of a connection: a memory transport with the server's
// TConfiguration under GuardedFramedTransport (api/transport.h) with the server's frame limit,
// read by the server's protocol. For each message (up to kMaxMessages) it does what the
// generated CdpServiceProcessor does before calling the handler: the message header, then the
// call's args struct (CdpService_<call>_args) or, for an unknown name, a skipped struct, then
// the end of the message and of the frame.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <thrift/protocol/TProtocol.h>
#include <thrift/transport/TBufferTransports.h>

#include "absl/time/time.h"
#include "fuzz/thrift_requests.h"

namespace {

using apache::thrift::TException;
using apache::thrift::protocol::TMessageType;
using apache::thrift::protocol::TProtocol;
using apache::thrift::protocol::TType;
using apache::thrift::transport::TMemoryBuffer;

constexpr int kMaxMessages = 8;

using ArgsReader = std::function<void(TProtocol*)>;

const std::map<std::string, ArgsReader>& Readers() {
  static const auto* readers = new std::map<std::string, ArgsReader>{
#define CDP_FUZZ_READER(call, type)                      \
  {#call, [](TProtocol* in) {                            \
     cdp::api::thrift::CdpService_##call##_args args;    \
     args.read(in);                                      \
   }},
      CDP_FUZZ_THRIFT_CALLS(CDP_FUZZ_READER)
#undef CDP_FUZZ_READER
  };
  return *readers;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const cdp::fuzz::ServerDecoding& decoding = cdp::fuzz::Decoding();
  auto stream = std::make_shared<TMemoryBuffer>(const_cast<uint8_t*>(data),
                                                static_cast<uint32_t>(size),
                                                TMemoryBuffer::OBSERVE, decoding.config);
  auto framed = std::make_shared<cdp::api::GuardedFramedTransport>(
      stream, decoding.config, static_cast<uint32_t>(decoding.limits.max_frame_bytes),
      absl::Seconds(10), decoding.limits.recv_timeout_ms);
  auto protocol = decoding.protocols->getProtocol(framed);
  try {
    for (int i = 0; i < kMaxMessages; ++i) {
      std::string name;
      TMessageType type;
      int32_t seqid;
      protocol->readMessageBegin(name, type, seqid);
      // The wire's type byte may lie outside TMessageType: compare its bytes, not the enum
      // (loading such an enum is undefined; the processor's own check sits in Thrift's header).
      int32_t raw_type;
      static_assert(sizeof(raw_type) == sizeof(type));
      std::memcpy(&raw_type, &type, sizeof(raw_type));
      if (raw_type != apache::thrift::protocol::T_CALL &&
          raw_type != apache::thrift::protocol::T_ONEWAY) {
        return 0;  // the processor drops the connection
      }
      auto reader = Readers().find(name);
      if (reader == Readers().end()) {
        protocol->skip(apache::thrift::protocol::T_STRUCT);
      } else {
        reader->second(protocol.get());
      }
      protocol->readMessageEnd();
      protocol->getTransport()->readEnd();
    }
  } catch (const TException&) {
    // Refused input: the server closes the connection.
  }
  return 0;
}
