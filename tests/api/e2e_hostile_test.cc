// End to end over loopback on a real `cdp serve`: hostile bytes on raw sockets (issue 7, "Bad
// input and faults"). After each, the bad connection must be closed by the server, a fresh
// well-formed client must still be served, and the server's resident memory must have grown by
// less than 64 MiB since the start (Thrift 0.17 without limits grows by 1 GiB on the first one).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TBufferTransports.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/api/raw_socket.h"
#include "tests/api/server_process.h"
#include "tests/support/status_matchers.h"

namespace cdp::testing {
namespace {

using apache::thrift::protocol::TBinaryProtocol;
using apache::thrift::transport::TFramedTransport;
using apache::thrift::transport::TMemoryBuffer;

constexpr int64_t kMaxGrowthBytes = int64_t{64} << 20;
// How long the server may take to drop a bad connection: immediate in practice; generous for a
// loaded machine. The slow client is bounded by the 10 s frame timeout of api/transport.cc.
constexpr absl::Duration kCloseTimeout = absl::Seconds(30);
constexpr absl::Duration kSlowClientLimit = absl::Seconds(20);

// The frame a Thrift client would send for one call, built by the generated client.
template <typename Send>
std::string Serialized(Send&& send) {
  auto memory = std::make_shared<TMemoryBuffer>();
  thrift::CdpServiceClient client(
      std::make_shared<TBinaryProtocol>(std::make_shared<TFramedTransport>(memory)));
  send(client);
  return memory->getBufferAsString();
}

thrift::PersonRef Person(int i) {
  return PersonBy("email", absl::StrCat("hostile-", i, "@example.com"));
}

// A well-formed getContext frame (no token: it is cut or dribbled, never answered).
std::string GetContextFrame(int person) {
  return Serialized([person](thrift::CdpServiceClient& c) {
    thrift::GetContextRequest request;
    request.person = Person(person);
    request.purpose = "support";
    c.send_getContext(request);
  });
}

class E2eHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A short idle timeout so that the slow and idle clients finish fast.
    CDP_ASSERT_OK_AND_ASSIGN(server_,
                             ServerProcess::Start({.extra_config = "limits { recv_timeout_ms: "
                                                                   "2000 }"}));
    ExpectServed("start");
    CDP_ASSERT_OK_AND_ASSIGN(baseline_rss_, server_->RssBytes());
  }

  void TearDown() override {
    if (server_ != nullptr) {
      EXPECT_THAT(server_->Stop(), IsOk());
    }
  }

  // A fresh well-formed client gets answers.
  void ExpectServed(const std::string& after) {
    SCOPED_TRACE(absl::StrCat("a fresh client after ", after));
    ASSERT_TRUE(server_->Running()) << "the server died" << server_->Stderr();
    CDP_ASSERT_OK_AND_ASSIGN(auto client, server_->Connect(ServerProcess::TokenFor(TestRole::kCx)));
    try {
      thrift::HealthResponse health;
      client->rpc().health(health, thrift::HealthRequest());
      EXPECT_EQ(health.status, "serving");
      thrift::GetContextRequest request;
      request.token = client->token();
      request.person = Person(0);
      request.purpose = "support";
      thrift::GetContextResponse response;
      client->rpc().getContext(response, request);
      EXPECT_FALSE(response.found);
    } catch (const apache::thrift::TException& e) {
      FAIL() << e.what();
    }
  }

  void ExpectServedAndBounded(const std::string& after) {
    ExpectServed(after);
    CDP_ASSERT_OK_AND_ASSIGN(int64_t rss, server_->RssBytes());
    EXPECT_LT(rss - baseline_rss_, kMaxGrowthBytes)
        << "after " << after << ": RSS " << baseline_rss_ << " -> " << rss;
  }

  // Opens a raw connection, sends `bytes` and expects the server to close it.
  void ExpectClosedAfter(const std::string& what, const std::string& bytes) {
    SCOPED_TRACE(what);
    CDP_ASSERT_OK_AND_ASSIGN(auto conn, RawConnection::Open(server_->port()));
    conn->Send(bytes);  // the server may close before it has read everything
    EXPECT_TRUE(conn->WaitClosed(kCloseTimeout)) << "the server kept the connection open";
  }

  // (a) 8 bytes or so that declare a list of 2^26 structs.
  void HugeListDeclaration() {
    ThriftBytes call;
    call.MessageBegin("getContexts", kMessageCall, 1)
        .Field(kTStruct, 1)  // request
        .Field(kTList, 2)    // people
        .I8(kTStruct)
        .I32(1 << 26);
    ExpectClosedAfter("a list of 2^26 structs", call.Framed());
    ExpectServedAndBounded("a list of 2^26 structs");
  }

  // (b) a token declared 1 GiB long.
  void HugeStringDeclaration() {
    ThriftBytes call;
    call.MessageBegin("getContext", kMessageCall, 1)
        .Field(kTStruct, 1)  // request
        .Field(kTString, 1)  // token
        .I32(1 << 30)
        .Raw("abc");
    ExpectClosedAfter("a 1 GiB string", call.Framed());
    ExpectServedAndBounded("a 1 GiB string");
  }

  // (c) frame lengths of 2 GiB - 1 and "negative" ones.
  void HostileFrameLengths() {
    for (uint32_t length : {0x7fffffffu, 0x80000000u, 0xffffffffu, 0x01000001u}) {
      ThriftBytes frame;
      frame.U32(length).Raw("\x80\x01\x00\x01");
      ExpectClosedAfter(absl::StrCat("frame length ", length), frame.bytes());
    }
    ExpectServedAndBounded("hostile frame lengths");
  }

  // (d) frames that end early: the server sees EOF inside a header or a body.
  void TruncatedFrames() {
    const std::string call = GetContextFrame(1);
    for (size_t keep : {size_t{2}, size_t{4}, size_t{9}, call.size() / 2, call.size() - 1}) {
      SCOPED_TRACE(absl::StrCat(keep, " of ", call.size(), " bytes"));
      CDP_ASSERT_OK_AND_ASSIGN(auto conn, RawConnection::Open(server_->port()));
      ASSERT_TRUE(conn->Send(call.substr(0, keep)));
      conn->ShutdownWrite();
      EXPECT_TRUE(conn->WaitClosed(kCloseTimeout));
    }
    // A frame header promising 1000 bytes, ten of them, then a plain close.
    CDP_ASSERT_OK_AND_ASSIGN(auto conn, RawConnection::Open(server_->port()));
    ThriftBytes frame;
    frame.U32(1000).Raw("0123456789");
    ASSERT_TRUE(conn->Send(frame.bytes()));
    conn.reset();
    ExpectServedAndBounded("truncated frames");
  }

  // (e) random bytes (fixed seed): raw, and inside a well-formed frame.
  void RandomBytes() {
    std::mt19937 random(20261123);
    for (int round = 0; round < 4; ++round) {
      std::string noise(8192, '\0');
      for (char& c : noise) c = static_cast<char>(random());
      ExpectClosedAfter(absl::StrCat("random bytes, round ", round), noise);
      ThriftBytes framed;
      framed.Raw(noise);
      ExpectClosedAfter(absl::StrCat("a frame of random bytes, round ", round), framed.Framed());
    }
    ExpectServedAndBounded("random bytes");
  }

  // (f) one byte a second: dropped by the frame timeout while a probe client is served.
  void OneBytePerSecond() {
    const std::string call = GetContextFrame(2);
    ASSERT_GT(call.size(), 30u) << "the call must take longer to dribble than the timeout";
    CDP_ASSERT_OK_AND_ASSIGN(auto conn, RawConnection::Open(server_->port()));
    const absl::Time start = absl::Now();
    bool closed = false;
    for (size_t i = 0; i < call.size() && !closed; ++i) {
      if (!conn->Send(call.substr(i, 1))) {
        closed = true;
        break;
      }
      if (i == 3) ExpectServed("the slow client's third byte");  // others are served meanwhile
      closed = conn->WaitClosed(absl::Seconds(1));
      if (absl::Now() - start > kSlowClientLimit + absl::Seconds(10)) break;
    }
    const absl::Duration took = absl::Now() - start;
    EXPECT_TRUE(closed) << "a client sending one byte a second was kept for "
                        << absl::FormatDuration(took);
    EXPECT_LT(took, kSlowClientLimit) << "dropped only after " << absl::FormatDuration(took);

    // A client that connects and sends nothing is dropped after recv_timeout_ms.
    CDP_ASSERT_OK_AND_ASSIGN(auto idle, RawConnection::Open(server_->port()));
    EXPECT_TRUE(idle->WaitClosed(kSlowClientLimit)) << "an idle client was kept";
    ExpectServedAndBounded("a slow and an idle client");
  }

  // (g) clients that send a whole call and vanish before the answer (reset or plain close).
  void DisconnectMidCall() {
    const std::string batch = Serialized([](thrift::CdpServiceClient& c) {
      thrift::GetContextsRequest request;
      request.token = ServerProcess::TokenFor(TestRole::kCx);
      for (int i = 0; i < 1000; ++i) request.people.push_back(Person(i));
      request.purpose = "support";
      c.send_getContexts(request);
    });
    const std::string ingest = Serialized([](thrift::CdpServiceClient& c) {
      thrift::IngestRequest request;
      request.token = ServerProcess::TokenFor(TestRole::kIngest);
      request.format = thrift::IngestFormat::NDJSON;
      for (int i = 0; i < 500; ++i) {
        absl::StrAppend(&request.body, R"({"type":"track","event":"Probe","messageId":"mid-)", i,
                        R"(","userId":"mid-user-)", i % 50,
                        R"(","timestamp":"2026-11-20T09:00:00Z"})", "\n");
      }
      c.send_ingest(request);
    });
    for (int round = 0; round < 10; ++round) {
      for (const std::string* call : {&batch, &ingest}) {
        CDP_ASSERT_OK_AND_ASSIGN(auto conn, RawConnection::Open(server_->port()));
        ASSERT_TRUE(conn->Send(*call));
        if (round % 2 == 0) {
          conn->Reset();
        } else {
          conn.reset();
        }
      }
    }
    ExpectServedAndBounded("clients gone mid-call");
  }

  // Every connection of the hostile clients is gone from the server (its handler released).
  void ExpectConnectionsReleased() {
    CDP_ASSERT_OK_AND_ASSIGN(auto admin,
                             server_->Connect(ServerProcess::TokenFor(TestRole::kAdmin)));
    thrift::StatsRequest request;
    request.token = admin->token();
    thrift::StatsResponse stats;
    const absl::Time deadline = absl::Now() + kCloseTimeout;
    do {
      admin->rpc().stats(stats, request);
      if (stats.counters["connections"] <= 1) return;
      absl::SleepFor(absl::Milliseconds(100));
    } while (absl::Now() < deadline);
    ADD_FAILURE() << stats.counters["connections"] << " connections still open";
  }

  std::unique_ptr<ServerProcess> server_;
  int64_t baseline_rss_ = 0;
};

TEST_F(E2eHostileTest, HugeListDeclarationIsRefusedWithoutAllocating) { HugeListDeclaration(); }

TEST_F(E2eHostileTest, HugeStringDeclarationIsRefusedWithoutAllocating) { HugeStringDeclaration(); }

TEST_F(E2eHostileTest, OversizedAndNegativeFrameLengthsCloseTheConnection) {
  HostileFrameLengths();
}

TEST_F(E2eHostileTest, TruncatedFramesCloseTheConnection) { TruncatedFrames(); }

TEST_F(E2eHostileTest, RandomBytesCloseTheConnection) { RandomBytes(); }

TEST_F(E2eHostileTest, SlowAndIdleClientsAreDroppedWhileOthersAreServed) { OneBytePerSecond(); }

TEST_F(E2eHostileTest, ClientsDisconnectingMidCallDoNotHurtTheServer) {
  DisconnectMidCall();
  ExpectConnectionsReleased();
}

// The whole sequence against one server: memory stays bounded across all of it, and every
// hostile connection is released.
TEST_F(E2eHostileTest, WholeHostileSequenceKeepsMemoryBounded) {
  HugeListDeclaration();
  HugeStringDeclaration();
  HostileFrameLengths();
  TruncatedFrames();
  RandomBytes();
  DisconnectMidCall();
  OneBytePerSecond();
  ExpectConnectionsReleased();
  CDP_ASSERT_OK_AND_ASSIGN(int64_t rss, server_->RssBytes());
  EXPECT_LT(rss - baseline_rss_, kMaxGrowthBytes);
}

// limits.frame_timeout_ms bounds a frame that trickles in, each byte well within recv_timeout_ms:
// with 1 s it is dropped after about a second, not after the default 10 s.
TEST(E2eFrameTimeoutTest, FrameTricklingPastAShortFrameTimeoutIsDropped) {
  CDP_ASSERT_OK_AND_ASSIGN(
      auto server, ServerProcess::Start({.extra_config = "limits { recv_timeout_ms: 2000 "
                                                          "frame_timeout_ms: 1000 }"}));
  const std::string call = GetContextFrame(3);
  CDP_ASSERT_OK_AND_ASSIGN(auto conn, RawConnection::Open(server->port()));
  const absl::Time start = absl::Now();
  bool closed = false;
  // 200 ms a byte: the whole frame would take over 6 s.
  for (size_t i = 0; i < call.size() && !closed; ++i) {
    closed = !conn->Send(call.substr(i, 1)) || conn->WaitClosed(absl::Milliseconds(200));
  }
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(closed) << "the trickled frame was received whole";
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Seconds(4)) << "dropped only after " << absl::FormatDuration(took);
  EXPECT_THAT(server->Stop(), IsOk());
}

}  // namespace
}  // namespace cdp::testing
