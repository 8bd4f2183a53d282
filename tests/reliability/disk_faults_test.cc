// A full disk and injected I/O errors under the whole server (issue 8): the server reports the
// error, never acknowledges a write it could not make durable, keeps answering reads from what is
// stored, and accepts writes again once the fault clears, without a restart.
//
// The server runs in process with its store on a FaultFileSystem (tests/storage/fault_fs.h),
// passed through Server::Start's storage environment; clients talk to it over loopback.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSocket.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/auth.h"
#include "api/server.h"
#include "rocksdb/env.h"
#include "tests/api/server_process.h"
#include "tests/storage/fault_fs.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace cdp::testing {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kUserId[] = "disk-user";
// RocksDB's SstFileManager retries recovery from a full disk every 5 s (not configurable in 7.8).
constexpr absl::Duration kRecoveryDeadline = absl::Seconds(30);

enum class Fault { kDiskFull, kIoError };

// `count` track events of one person, with messageIds "<prefix>-0"...
std::string Events(const std::string& prefix, int count) {
  std::string ndjson;
  for (int i = 0; i < count; ++i) {
    absl::StrAppend(&ndjson, "{\"messageId\":\"", prefix, "-", i,
                    R"(","type":"track","event":"Call Started","userId":")", kUserId,
                    R"(","properties":{"n":)", i, R"(},"context":{"channel":"phone"},)",
                    absl::StrFormat(R"("timestamp":"2026-11-20T10:%02d:%02dZ"})", i / 60, i % 60),
                    "\n");
  }
  return ndjson;
}

class DiskFaultsTest : public ::testing::TestWithParam<Fault> {
 protected:
  void SetUp() override {
    fs_ = std::make_shared<storage::testing::FaultFileSystem>(rocksdb::FileSystem::Default());
    env_ = rocksdb::NewCompositeEnv(fs_);
    api::ServerConfig config = api::DefaultServerConfig();
    config.data_dir = dir_.Sub("data");
    config.listen.port = 0;
    config.metrics_enabled = false;
    CDP_ASSERT_OK_AND_ASSIGN(server_, api::Server::Start(config, env_.get()));
    CDP_ASSERT_OK_AND_ASSIGN(std::string token,
                             api::ReadTokenFile(api::AdminTokenPath(config.data_dir)));
    auto socket =
        std::make_shared<apache::thrift::transport::TSocket>("127.0.0.1", server_->port());
    socket->setRecvTimeout(60000);
    auto transport = std::make_shared<apache::thrift::transport::TFramedTransport>(socket);
    transport->open();
    client_ = std::make_unique<ApiClient>(std::move(token), nullptr, std::move(transport));
  }

  void TearDown() override {
    fs_->SetDiskFull(false);
    fs_->SetIoError(false);
    client_.reset();
    server_.reset();  // closes the store before env_ goes
  }

  void SetFault(bool on) {
    if (GetParam() == Fault::kDiskFull) {
      fs_->SetDiskFull(on);
    } else {
      fs_->SetIoError(on);
    }
  }

  thrift::IngestResponse Ingest(const std::string& ndjson) {
    thrift::IngestRequest request;
    request.token = client_->token();
    request.format = thrift::IngestFormat::NDJSON;
    request.body = ndjson;
    thrift::IngestResponse response;
    client_->rpc().ingest(response, request);
    return response;
  }

  // The messageIds of the person's newest events, as the server answers them now.
  std::set<std::string> StoredMessageIds() {
    thrift::GetContextRequest request;
    request.token = client_->token();
    request.person = PersonBy("user_id", kUserId);
    request.purpose = "support";
    request.__set_max_events(1000);
    thrift::GetContextResponse response;
    client_->rpc().getContext(response, request);
    std::set<std::string> ids;
    if (!response.found) return ids;
    for (const auto& event : response.context.recent_events) ids.insert(event.message_id);
    return ids;
  }

  TempDir dir_;
  std::shared_ptr<storage::testing::FaultFileSystem> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<api::Server> server_;
  std::unique_ptr<ApiClient> client_;
};

TEST_P(DiskFaultsTest, RefusesWritesKeepsServingReadsAndRecoversWhenTheFaultClears) {
  ASSERT_EQ(Ingest(Events("before", 5)).accepted, 5);
  const std::set<std::string> before = StoredMessageIds();
  ASSERT_EQ(before.size(), 5u);

  SetFault(true);
  // Several attempts: the first fails in the write itself, the later ones on the database's
  // background error. None may be acknowledged.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::optional<thrift::ErrorCode::type> code;
    std::string message;
    try {
      thrift::IngestResponse response = Ingest(Events(absl::StrCat("during", attempt), 3));
      ADD_FAILURE() << "ingest on a failing disk answered: accepted " << response.accepted
                    << ", duplicate " << response.duplicate;
    } catch (const thrift::CdpError& e) {
      code = e.code;
      message = e.message;
    }
    EXPECT_THAT(code, AnyOf(Eq(thrift::ErrorCode::UNAVAILABLE), Eq(thrift::ErrorCode::INTERNAL)))
        << "attempt " << attempt << ": " << message;
    EXPECT_THAT(message, Not(IsEmpty()));
  }
  // Reads are served from what is stored while writes fail.
  EXPECT_EQ(StoredMessageIds(), before);

  SetFault(false);
  // Writes work again without a restart: after RocksDB's own recovery from a full disk (it polls
  // free space every few seconds), or after the store reopened its databases in place following
  // an EIO (storage/reopenable_db.h); meanwhile the refusal stays UNAVAILABLE. The batch refused
  // during the fault is retried, as a client would: it was not stored, so it is accepted, not a
  // duplicate.
  const absl::Time cleared = absl::Now();
  std::optional<thrift::IngestResponse> retried;
  while (!retried.has_value() && absl::Now() - cleared < kRecoveryDeadline) {
    try {
      retried = Ingest(Events("during0", 3));
    } catch (const thrift::CdpError& e) {
      ASSERT_EQ(e.code, thrift::ErrorCode::UNAVAILABLE) << e.message;
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  ASSERT_TRUE(retried.has_value()) << "writes did not recover within " << kRecoveryDeadline;
  std::printf("disk_faults: %s: writes recovered %.0f ms after the fault cleared\n",
              GetParam() == Fault::kDiskFull ? "disk full" : "EIO",
              absl::ToDoubleMilliseconds(absl::Now() - cleared));
  EXPECT_EQ(retried->accepted, 3);
  EXPECT_EQ(retried->duplicate, 0);
  EXPECT_EQ(Ingest(Events("after", 2)).accepted, 2);
  const std::set<std::string> after = StoredMessageIds();
  EXPECT_EQ(after.size(), 10u);
  EXPECT_TRUE(after.contains("during0-0") && after.contains("after-1"));
  EXPECT_FALSE(after.contains("during1-0")) << "a refused write became visible";
}

INSTANTIATE_TEST_SUITE_P(Faults, DiskFaultsTest,
                         ::testing::Values(Fault::kDiskFull, Fault::kIoError),
                         [](const ::testing::TestParamInfo<Fault>& info) {
                           return info.param == Fault::kDiskFull ? "DiskFull" : "IoError";
                         });

}  // namespace
}  // namespace cdp::testing
