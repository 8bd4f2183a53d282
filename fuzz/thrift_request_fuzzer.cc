// Fuzz target: decoding each request struct of api/cdp.thrift with the server's limits (its
// TConfiguration on the memory transport and its protocol factory, from a default ServerLimits).
// Input: a selector byte (index into CDP_FUZZ_THRIFT_CALLS, modulo their number), then the
// struct in the binary protocol. Beyond the sanitizers and the limits (an over-large declared
// string or container must be refused, not allocated), a struct that decodes must survive a
// round trip: written back and read again it compares equal.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include <thrift/TApplicationException.h>
#include <thrift/transport/TBufferTransports.h>

#include "fuzz/thrift_requests.h"

namespace {

using apache::thrift::TException;
using apache::thrift::transport::TMemoryBuffer;

template <typename Request>
void Decode(const uint8_t* data, size_t size) {
  const cdp::fuzz::ServerDecoding& decoding = cdp::fuzz::Decoding();
  auto in = std::make_shared<TMemoryBuffer>(const_cast<uint8_t*>(data),
                                            static_cast<uint32_t>(size), TMemoryBuffer::OBSERVE,
                                            decoding.config);
  Request request;
  try {
    request.read(decoding.protocols->getProtocol(in).get());
  } catch (const TException&) {
    return;  // refused: the outcome the server turns into a closed connection
  }

  auto out = std::make_shared<TMemoryBuffer>(decoding.config);
  Request again;
  try {
    request.write(decoding.protocols->getProtocol(out).get());
    again.read(decoding.protocols->getProtocol(out).get());
  } catch (const TException&) {
    std::abort();  // what was read must write and read back
  }
  if (!(again == request)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int selector = data[0] % cdp::fuzz::kThriftCallCount;
  int index = 0;
#define CDP_FUZZ_DECODE(call, type)                                          \
  if (selector == index++) {                                                 \
    Decode<cdp::api::thrift::type>(data + 1, size - 1);                      \
    return 0;                                                                \
  }
  CDP_FUZZ_THRIFT_CALLS(CDP_FUZZ_DECODE)
#undef CDP_FUZZ_DECODE
  return 0;
}
