// MetricsHttpServer: real HTTP round trips on an ephemeral port of 127.0.0.1 with httplib::Client.

#include "api/metrics_http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/metrics.h"
#include "tests/support/status_matchers.h"

namespace cdp::api {
namespace {

using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kHost[] = "127.0.0.1";

httplib::Result Get(int port, const std::string& path) {
  httplib::Client client(kHost, port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  return client.Get(path);
}

TEST(MetricsHttpServerTest, ServesMetricsAndHealthAndNothingElse) {
  ServerMetrics metrics({"getContext", "track"});
  metrics.Record(0, 250, CallResult::kOk);
  CDP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<MetricsHttpServer> server,
      MetricsHttpServer::Start(kHost, 0, [&metrics] { return metrics.RenderPrometheus({}); }));
  ASSERT_GT(server->port(), 0);

  httplib::Result scrape = Get(server->port(), "/metrics");
  ASSERT_TRUE(scrape) << httplib::to_string(scrape.error());
  EXPECT_EQ(scrape->status, 200);
  EXPECT_EQ(scrape->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(scrape->body, HasSubstr("cdp_calls_total{call=\"getContext\",result=\"ok\"} 1\n"));

  // Rendered per request, not at start.
  metrics.Record(1, 10, CallResult::kError);
  scrape = Get(server->port(), "/metrics");
  ASSERT_TRUE(scrape);
  EXPECT_THAT(scrape->body, HasSubstr("cdp_calls_total{call=\"track\",result=\"error\"} 1\n"));

  httplib::Result health = Get(server->port(), "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");

  httplib::Result missing = Get(server->port(), "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  const int port = server->port();
  server->Stop();
  server->Stop();  // idempotent
  httplib::Result after_stop = Get(port, "/healthz");
  EXPECT_FALSE(after_stop);
  EXPECT_EQ(after_stop.error(), httplib::Error::Connection);
}

TEST(MetricsHttpServerTest, OversizedRequestBodyIsRefused) {
  CDP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetricsHttpServer> server,
                           MetricsHttpServer::Start(kHost, 0, [] { return std::string("x"); }));
  httplib::Client client(kHost, server->port());
  httplib::Result result = client.Post("/metrics", std::string(100 * 1024, 'a'), "text/plain");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 413);
}

TEST(MetricsHttpServerTest, ConcurrentScrapesAllSucceed) {
  std::atomic<int> renders{0};
  CDP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetricsHttpServer> server,
                           MetricsHttpServer::Start(kHost, 0, [&renders] {
                             renders.fetch_add(1);
                             return std::string("cdp_up 1\n");
                           }));
  constexpr int kClients = 8;
  constexpr int kScrapesEach = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < kScrapesEach; ++i) {
        httplib::Result result = Get(server->port(), "/metrics");
        if (result && result->status == 200 && result->body == "cdp_up 1\n") ok.fetch_add(1);
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(ok.load(), kClients * kScrapesEach);
  EXPECT_EQ(renders.load(), kClients * kScrapesEach);
}

TEST(MetricsHttpServerTest, PortInUseIsUnavailableNamingTheAddress) {
  CDP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetricsHttpServer> first,
                           MetricsHttpServer::Start(kHost, 0, [] { return std::string(); }));
  EXPECT_THAT(MetricsHttpServer::Start(kHost, first->port(), [] { return std::string(); }),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat("metrics listener 127.0.0.1:", first->port(),
                                              ": address in use"))));
  // The first one is unaffected.
  httplib::Result health = Get(first->port(), "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST(MetricsHttpServerTest, AddressNotOnThisHostIsUnavailable) {
  // 192.0.2.0/24 is TEST-NET-1: never assigned to a local interface.
  EXPECT_THAT(MetricsHttpServer::Start("192.0.2.1", 0, [] { return std::string(); }),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("metrics listener 192.0.2.1:0")));
}

TEST(MetricsHttpServerTest, BadArgumentsAreInvalid) {
  auto render = [] { return std::string(); };
  EXPECT_THAT(MetricsHttpServer::Start(kHost, -1, render),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("127.0.0.1:-1")));
  EXPECT_THAT(MetricsHttpServer::Start(kHost, 65536, render),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MetricsHttpServer::Start(kHost, 0, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MetricsHttpServer::Start("", 7601, render),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot resolve host")));
}

TEST(MetricsHttpServerTest, StopRightAfterStartDoesNotHang) {
  for (int i = 0; i < 20; ++i) {
    CDP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetricsHttpServer> server,
                             MetricsHttpServer::Start(kHost, 0, [] { return std::string(); }));
    server->Stop();
  }
  // And the destructor alone stops it.
  CDP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetricsHttpServer> server,
                           MetricsHttpServer::Start(kHost, 0, [] { return std::string(); }));
  server.reset();
}

}  // namespace
}  // namespace cdp::api
