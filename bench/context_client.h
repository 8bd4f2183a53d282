#pragma once
// The client side of the context benchmark (bench/context_bench.cc): one blocking Thrift
// connection per load-generator thread, and the lookups it sends (getContext and getContexts of
// people picked uniformly at random, by email, purpose "support", default max_events).
//
// Thread safety: one ContextLookups per thread.

#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSocket.h>

#include <memory>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "api/gen-cpp/CdpService.h"
#include "api/transport.h"
#include "bench/feed_generator.h"

namespace cdp::bench {

namespace t = ::cdp::api::thrift;

struct Target {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string token;
};

// One blocking client connection: framed transport, strict binary protocol, as `cdp` connects.
class RpcClient {
 public:
  static absl::StatusOr<std::unique_ptr<RpcClient>> Open(const Target& target) {
    api::ServerLimits limits;  // accept whatever the server may send
    limits.max_frame_bytes = size_t{64} << 20;
    limits.max_string_bytes = limits.max_frame_bytes;
    limits.max_container_elements = 10'000'000;
    auto socket = std::make_shared<apache::thrift::transport::TSocket>(
        target.host, target.port, api::MakeThriftConfiguration(limits));
    socket->setConnTimeout(10000);
    socket->setRecvTimeout(60000);
    socket->setSendTimeout(60000);
    auto client = std::unique_ptr<RpcClient>(new RpcClient());
    client->transport_ = std::make_shared<apache::thrift::transport::TFramedTransport>(
        socket, api::MakeThriftConfiguration(limits));
    try {
      client->transport_->open();
    } catch (const apache::thrift::TException& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", target.host, ":", target.port, ": ", e.what()));
    }
    client->rpc_ = std::make_unique<t::CdpServiceClient>(
        api::MakeProtocolFactory(limits)->getProtocol(client->transport_));
    return client;
  }
  t::CdpServiceClient& rpc() { return *rpc_; }

 private:
  RpcClient() = default;
  std::shared_ptr<apache::thrift::transport::TTransport> transport_;
  std::unique_ptr<t::CdpServiceClient> rpc_;
};

// State of one connection: its client, random people and reused request and response.
struct ContextLookups {
  Target target;
  size_t people = 0;
  std::unique_ptr<RpcClient> client;
  std::mt19937_64 rng;
  t::GetContextRequest one;
  t::GetContextResponse one_response;
  t::GetContextsRequest many;
  t::GetContextsResponse many_response;

  std::string RandomEmail() {
    return FeedGenerator::Email(std::uniform_int_distribution<size_t>(0, people - 1)(rng));
  }
  // Runs `rpc` on the connection; a transport failure reconnects for the next call.
  template <typename Fn>
  bool Call(Fn&& rpc) {
    try {
      if (client == nullptr) {
        auto opened = RpcClient::Open(target);
        if (!opened.ok()) return false;
        client = *std::move(opened);
      }
      return rpc(client->rpc());
    } catch (const t::CdpError&) {
      return false;
    } catch (const apache::thrift::TException&) {
      client.reset();
      return false;
    }
  }
  bool GetContext() {
    one.person.identifier.value = RandomEmail();
    return Call([&](t::CdpServiceClient& rpc) {
      rpc.getContext(one_response, one);
      return one_response.found;
    });
  }
  bool GetContexts() {
    for (t::PersonRef& person : many.people) person.identifier.value = RandomEmail();
    return Call([&](t::CdpServiceClient& rpc) {
      rpc.getContexts(many_response, many);
      bool all_found = many_response.results.size() == many.people.size();
      for (const t::ContextResult& r : many_response.results) all_found &= r.found;
      return all_found;
    });
  }
};

inline std::shared_ptr<ContextLookups> NewLookups(const Target& target, size_t people,
                                                  size_t batch_people, uint64_t seed) {
  auto state = std::make_shared<ContextLookups>();
  state->target = target;
  state->people = people;
  state->rng.seed(seed);
  t::PersonRef person;
  person.__isset.identifier = true;
  person.identifier.type = "email";
  state->one.token = state->many.token = target.token;
  state->one.purpose = state->many.purpose = "support";
  state->one.person = person;
  state->many.people.assign(batch_people, person);
  return state;
}

}  // namespace cdp::bench
