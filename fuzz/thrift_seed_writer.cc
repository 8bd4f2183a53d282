// Writes the seed corpora of the Thrift fuzz targets:
//   <out>/thrift_request/<call>[_filled]  selector byte + the request struct
//   <out>/thrift_framed/<call>[_filled]   one framed call message (as the client sends it)
// for every call of CDP_FUZZ_THRIFT_CALLS, with default fields and, for the calls whose
// structure matters most (nested structs, lists, maps, binary), with fields filled in.
// Usage: thrift_seed_writer <corpus dir>   (scripts/fuzz.sh --seeds runs it on fuzz/corpus)

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include <thrift/protocol/TProtocol.h>
#include <thrift/transport/TBufferTransports.h>

#include "fuzz/thrift_requests.h"

namespace {

namespace t = cdp::api::thrift;
using apache::thrift::transport::TMemoryBuffer;

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

template <typename T>
std::string Serialize(const T& value) {
  auto buffer = std::make_shared<TMemoryBuffer>();
  value.write(cdp::fuzz::Decoding().protocols->getProtocol(buffer).get());
  return buffer->getBufferAsString();
}

template <typename Args>
std::string FramedCall(const std::string& call, const Args& args) {
  auto buffer = std::make_shared<TMemoryBuffer>();
  auto protocol = cdp::fuzz::Decoding().protocols->getProtocol(buffer);
  protocol->writeMessageBegin(call, apache::thrift::protocol::T_CALL, 1);
  args.write(protocol.get());
  protocol->writeMessageEnd();
  const std::string message = buffer->getBufferAsString();
  const uint32_t n = static_cast<uint32_t>(message.size());
  const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  return std::string(header, 4) + message;
}

t::PersonRef ByEmail() {
  t::Identifier id;
  id.__set_type("email");
  id.__set_value("Ada@Example.com");
  t::PersonRef person;
  person.__set_identifier(id);
  return person;
}

// Filled-in requests for some calls; the others get only their default seed.
template <typename Request>
bool Fill(Request*) {
  return false;
}
bool Fill(t::GetContextRequest* r) {
  r->__set_token("token");
  r->__set_person(ByEmail());
  r->__set_purpose("support");
  r->__set_max_events(5);
  r->__set_event_name("Order Completed");
  return true;
}
bool Fill(t::GetContextsRequest* r) {
  t::PersonRef by_id;
  by_id.__set_profile_id("0123456789abcdef0123456789abcdef");
  r->__set_token("token");
  r->__set_people({ByEmail(), by_id});
  r->__set_purpose("support");
  return true;
}
bool Fill(t::IngestRequest* r) {
  r->__set_token("token");
  r->__set_format(t::IngestFormat::CSV);
  r->__set_body("Email,Tier\nada@example.com,gold\n");
  r->__set_csv_mapping(R"({"columns":{"Email":"identifier:email","Tier":"trait:tier"}})");
  r->__set_source("crm.csv");
  r->__set_first_line(1);
  return true;
}
bool Fill(t::SetConsentRequest* r) {
  r->__set_token("token");
  r->__set_person(ByEmail());
  r->__set_purposes({{"marketing", false}, {"support", true}});
  r->__set_notice_version("v3");
  r->__set_effective_micros(1700000000000000);
  return true;
}
bool Fill(t::PutConversationRequest* r) {
  r->__set_token("token");
  r->__set_person(ByEmail());
  r->__set_conversation_id("c-1");
  r->__set_channel("chat");
  r->__set_state({{"step", "refund"}, {"order", "42"}});
  r->__set_remove_keys({"draft"});
  r->__set_ttl_seconds(3600);
  return true;
}
bool Fill(t::AuditLogRequest* r) {
  r->__set_token("token");
  r->__set_from_micros(0);
  r->__set_subject(ByEmail());
  r->__set_limit(10);
  return true;
}

template <typename Args>
void WriteSeeds(const std::string& dir, int selector, const std::string& call) {
  Args args;
  for (bool filled : {false, true}) {
    if (filled && !Fill(&args.request)) return;
    const std::string name = call + (filled ? "_filled" : "");
    WriteFile(dir + "/thrift_request/" + name,
              std::string(1, static_cast<char>(selector)) + Serialize(args.request));
    WriteFile(dir + "/thrift_framed/" + name, FramedCall(call, args));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  int selector = 0;
#define CDP_FUZZ_SEEDS(call, type) \
  WriteSeeds<t::CdpService_##call##_args>(dir, selector++, #call);
  CDP_FUZZ_THRIFT_CALLS(CDP_FUZZ_SEEDS)
#undef CDP_FUZZ_SEEDS
  return 0;
}
