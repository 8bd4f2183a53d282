// Overload (issue 8): a real `cdp serve` process under fixed-rate load at twice its measured
// capacity must shed the excess at once with OVERLOADED, keep serving useful work and keep its
// memory bounded; connections that never finish a request must not lock a probe client out.
//
// The figures (capacity, throughput ratio, rejection latency, RSS growth, probe wait) are printed
// as "overload: ..." lines and recorded as test properties; docs/reliability.md quotes them. The
// assertions are deliberately looser than the goals (10 ms rejections, 90% of capacity) so that
// a slow or shared machine does not fail the test; a regression in kind (queued rejections,
// errors other than OVERLOADED, collapsing throughput, unbounded memory) still does.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <thrift/transport/TTransportException.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "tests/api/raw_socket.h"
#include "tests/api/scenario_feed.h"
#include "tests/api/server_process.h"
#include "tests/support/status_matchers.h"

namespace cdp::testing {
namespace {

constexpr int kMaxInflightReads = 2;
constexpr int kMaxConnections = 8;
constexpr int kRecvTimeoutMs = 1500;
// Workers of the fixed-rate phase: more than the admission limit, fewer than the connection
// limit, so that calls are shed by admission control rather than wait in the listen backlog.
constexpr int kLoadConnections = 6;
constexpr absl::Duration kCapacityDuration = absl::Seconds(3);
constexpr absl::Duration kOverloadDuration = absl::Seconds(5);
// Bounds of the assertions; the goals of the issue are in the printed figures.
constexpr double kRejectionP99BoundMs = 100;
constexpr double kMinThroughputRatio = 0.5;
constexpr int64_t kMaxRssGrowthBytes = int64_t{64} << 20;

std::string OverloadConfig() {
  return absl::StrCat("limits { max_connections: ", kMaxConnections,
                      " max_inflight_reads: ", kMaxInflightReads,
                      " recv_timeout_ms: ", kRecvTimeoutMs, " }\n");
}

double Percentile(std::vector<int64_t> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(
      values.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(values.size())));
  return static_cast<double>(values[index]);
}

void Figure(const std::string& name, double value, const char* unit) {
  std::printf("overload: %s = %.2f %s\n", name.c_str(), value, unit);
  ::testing::Test::RecordProperty(name, absl::StrCat(value));
}

// What one phase of load saw, summed over its workers.
struct LoadTally {
  int64_t ok = 0;
  int64_t overloaded = 0;
  int64_t other_errors = 0;      // CdpError with another code
  int64_t transport_errors = 0;  // timeouts, resets: never acceptable
  std::vector<int64_t> ok_micros;
  std::vector<int64_t> overloaded_micros;
  std::string first_error;

  void Add(const LoadTally& other) {
    ok += other.ok;
    overloaded += other.overloaded;
    other_errors += other.other_errors;
    transport_errors += other.transport_errors;
    ok_micros.insert(ok_micros.end(), other.ok_micros.begin(), other.ok_micros.end());
    overloaded_micros.insert(overloaded_micros.end(), other.overloaded_micros.begin(),
                             other.overloaded_micros.end());
    if (first_error.empty()) first_error = other.first_error;
  }
};

class OverloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerProcessOptions options;
    options.extra_config = OverloadConfig();
    CDP_ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(options));
    CDP_ASSERT_OK_AND_ASSIGN(auto ingest,
                             server_->Connect(ServerProcess::TokenFor(TestRole::kIngest)));
    thrift::IngestRequest request;
    request.token = ingest->token();
    request.format = thrift::IngestFormat::NDJSON;
    request.body = MakeScenarioFeed(/*product_views=*/50).ndjson;
    thrift::IngestResponse response;
    ingest->rpc().ingest(response, request);
    ASSERT_GT(response.accepted, 0);
  }

  void TearDown() override {
    if (server_ != nullptr) {
      EXPECT_THAT(server_->Stop(), IsOk());
    }
  }

  // One getContext on `client`, classified into `tally`.
  static void CallOnce(ApiClient& client, LoadTally& tally) {
    thrift::GetContextRequest request;
    request.token = client.token();
    request.person = PersonBy("email", ScenarioFeed::kAdaEmail);
    request.purpose = "support";
    request.__set_max_events(20);
    thrift::GetContextResponse response;
    const absl::Time start = absl::Now();
    try {
      client.rpc().getContext(response, request);
      ++tally.ok;
      tally.ok_micros.push_back(absl::ToInt64Microseconds(absl::Now() - start));
    } catch (const thrift::CdpError& e) {
      if (e.code == thrift::ErrorCode::OVERLOADED) {
        ++tally.overloaded;
        tally.overloaded_micros.push_back(absl::ToInt64Microseconds(absl::Now() - start));
      } else {
        ++tally.other_errors;
        if (tally.first_error.empty()) tally.first_error = e.message;
      }
    } catch (const apache::thrift::TException& e) {
      ++tally.transport_errors;
      if (tally.first_error.empty()) tally.first_error = e.what();
      throw;  // the connection is unusable
    }
  }

  // `connections` workers for `duration`. rate_per_second 0: closed loop (each worker calls
  // again as soon as it has its answer); otherwise the calls of all workers are scheduled at that
  // total fixed rate, whatever the answers (a late worker catches up without waiting).
  LoadTally RunLoad(int connections, absl::Duration duration, double rate_per_second) {
    std::vector<LoadTally> tallies(connections);
    std::vector<std::unique_ptr<ApiClient>> clients;
    for (int i = 0; i < connections; ++i) {
      auto client = server_->Connect(ServerProcess::TokenFor(TestRole::kCx));
      EXPECT_THAT(client, IsOk());
      if (!client.ok()) return {};
      clients.push_back(*std::move(client));
    }
    const absl::Time start = absl::Now();
    const absl::Time end = start + duration;
    std::vector<std::thread> threads;
    for (int i = 0; i < connections; ++i) {
      threads.emplace_back([&, i] {
        const absl::Duration interval = rate_per_second > 0
                                            ? absl::Seconds(connections / rate_per_second)
                                            : absl::ZeroDuration();
        // Stagger the workers across one interval.
        absl::Time next = start + interval * i / connections;
        try {
          while (true) {
            if (rate_per_second > 0) {
              if (next >= end) break;
              const absl::Time now = absl::Now();
              if (now < next) absl::SleepFor(next - now);
              next += interval;
            } else if (absl::Now() >= end) {
              break;
            }
            CallOnce(*clients[i], tallies[i]);
          }
        } catch (const apache::thrift::TException&) {
          // Counted by CallOnce; the assertions report it.
        }
      });
    }
    for (std::thread& t : threads) t.join();
    LoadTally total;
    for (const LoadTally& t : tallies) total.Add(t);
    return total;
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(OverloadTest, ShedsExcessFastAndKeepsUsefulThroughputAtTwiceCapacity) {
  // Warm up (block cache, thread creation), then measure capacity with exactly as many closed-loop
  // connections as calls may execute at once: nothing is shed, every call is useful.
  (void)RunLoad(kMaxInflightReads, absl::Milliseconds(500), 0);
  // Capacity: the best closed-loop success rate with as many connections as calls may execute
  // (nothing shed) and with twice that (the slots never idle during a client's turnaround).
  double capacity = 0;
  for (int connections : {kMaxInflightReads, 2 * kMaxInflightReads}) {
    const LoadTally run = RunLoad(connections, kCapacityDuration, 0);
    ASSERT_EQ(run.other_errors + run.transport_errors, 0) << run.first_error;
    const double rate = static_cast<double>(run.ok) / absl::ToDoubleSeconds(kCapacityDuration);
    Figure(absl::StrCat("closed_loop_", connections, "_calls_per_s"), rate, "calls/s");
    Figure(absl::StrCat("closed_loop_", connections, "_p99_ms"),
           Percentile(run.ok_micros, 99) / 1000, "ms");
    capacity = std::max(capacity, rate);
  }
  Figure("capacity_calls_per_s", capacity, "calls/s");
  ASSERT_GT(capacity, 10) << "the server answers too slowly for a meaningful overload test";

  CDP_ASSERT_OK_AND_ASSIGN(const int64_t rss_before, server_->RssBytes());
  std::atomic<bool> sampling{true};
  std::atomic<int64_t> rss_peak{rss_before};
  std::thread sampler([&] {
    while (sampling.load()) {
      absl::StatusOr<int64_t> rss = server_->RssBytes();
      if (rss.ok() && *rss > rss_peak.load()) rss_peak.store(*rss);
      absl::SleepFor(absl::Milliseconds(100));
    }
  });
  const double offered_rate = 2 * capacity;
  const LoadTally load = RunLoad(kLoadConnections, kOverloadDuration, offered_rate);
  sampling.store(false);
  sampler.join();

  const double seconds = absl::ToDoubleSeconds(kOverloadDuration);
  const double achieved_rate = static_cast<double>(load.ok + load.overloaded) / seconds;
  const double useful = static_cast<double>(load.ok) / seconds;
  const double ratio = useful / capacity;
  const double rejection_p50_ms = Percentile(load.overloaded_micros, 50) / 1000;
  const double rejection_p99_ms = Percentile(load.overloaded_micros, 99) / 1000;
  const double rss_growth_mib = static_cast<double>(rss_peak.load() - rss_before) / (1 << 20);
  Figure("offered_calls_per_s", offered_rate, "calls/s");
  Figure("achieved_calls_per_s", achieved_rate, "calls/s");
  Figure("useful_calls_per_s", useful, "calls/s");
  Figure("useful_ratio_of_capacity", ratio, "(goal >= 0.90)");
  Figure("shed_fraction",
         static_cast<double>(load.overloaded) /
             std::max<double>(1, static_cast<double>(load.ok + load.overloaded)),
         "");
  Figure("rejection_p50_ms", rejection_p50_ms, "ms");
  Figure("rejection_p99_ms", rejection_p99_ms, "ms (goal <= 10)");
  Figure("rejection_max_ms", Percentile(load.overloaded_micros, 100) / 1000, "ms");
  Figure("success_p99_ms", Percentile(load.ok_micros, 99) / 1000, "ms");
  Figure("rss_before_mib", static_cast<double>(rss_before) / (1 << 20), "MiB");
  Figure("rss_growth_mib", rss_growth_mib, "MiB");

  EXPECT_EQ(load.other_errors, 0) << "every call must succeed or be OVERLOADED: "
                                  << load.first_error;
  EXPECT_EQ(load.transport_errors, 0)
      << "no call may time out or lose its connection: " << load.first_error;
  EXPECT_GT(load.overloaded, 0) << "six connections at twice capacity must exceed two in flight";
  EXPECT_LT(rejection_p99_ms, kRejectionP99BoundMs);
  EXPECT_GE(ratio, kMinThroughputRatio);
  EXPECT_LT(rss_peak.load() - rss_before, kMaxRssGrowthBytes);
}

// Holds every connection slot with clients that never complete a request, then times how long a
// probe client waits for its answer.
class SlowClientsTest : public OverloadTest {
 protected:
  // One getContext on a fresh connection; returns how long it took, connecting included.
  absl::StatusOr<absl::Duration> Probe() {
    const absl::Time start = absl::Now();
    CDP_ASSIGN_OR_RETURN(auto probe, server_->Connect(ServerProcess::TokenFor(TestRole::kCx)));
    thrift::GetContextRequest request;
    request.token = probe->token();
    request.person = PersonBy("email", ScenarioFeed::kAdaEmail);
    request.purpose = "support";
    thrift::GetContextResponse response;
    try {
      probe->rpc().getContext(response, request);
    } catch (const apache::thrift::TException& e) {
      return absl::UnavailableError(absl::StrCat("probe failed: ", e.what()));
    }
    if (!response.found) return absl::InternalError("probe did not find the person");
    return absl::Now() - start;
  }
};

// A 4-byte frame header declaring `length` bytes (big endian).
std::string FrameHeader(uint32_t length) {
  return std::string{static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                     static_cast<char>(length >> 8), static_cast<char>(length)};
}

TEST_F(SlowClientsTest, StalledClientsAreDroppedAndProbeIsServed) {
  // Every slot is held by a client that stalls mid-request: half stop inside the 4-byte frame
  // header, half inside the frame. Silent connections are opened too, but hold no slot: Thrift's
  // TServerSocket sets TCP_DEFER_ACCEPT, so the kernel hands a connection to accept() only once
  // it has sent a byte.
  std::vector<std::unique_ptr<RawConnection>> holders;
  std::vector<std::unique_ptr<RawConnection>> silent;
  for (int i = 0; i < kMaxConnections; ++i) {
    CDP_ASSERT_OK_AND_ASSIGN(auto conn, RawConnection::Open(server_->port()));
    const std::string stall =
        i % 2 == 0 ? FrameHeader(100).substr(0, 2) : FrameHeader(100) + std::string(10, '\x80');
    ASSERT_TRUE(conn->Send(stall));
    holders.push_back(std::move(conn));
    CDP_ASSERT_OK_AND_ASSIGN(auto idle, RawConnection::Open(server_->port()));
    silent.push_back(std::move(idle));
  }
  absl::SleepFor(absl::Milliseconds(200));  // let the server accept the holders
  CDP_ASSERT_OK_AND_ASSIGN(const absl::Duration waited, Probe());
  Figure("stalled_holders_probe_wait_ms", absl::ToDoubleMilliseconds(waited), "ms");
  // The probe waits in the listen backlog until the first holder's receive timeout frees a slot.
  EXPECT_GT(waited, absl::Milliseconds(kRecvTimeoutMs) / 2) << "the holders held no slot";
  EXPECT_LT(waited, absl::Milliseconds(kRecvTimeoutMs) + absl::Seconds(3));
  for (auto& conn : holders) {
    EXPECT_TRUE(conn->WaitClosed(absl::Seconds(5))) << "a stalled client kept its slot";
  }
}

TEST_F(SlowClientsTest, TricklingClientsAreDroppedAtTheFrameDeadline) {
  // A byte every 500 ms never trips the 1.5 s receive timeout; the 10 s frame deadline of
  // GuardedFramedTransport is what frees these slots.
  constexpr absl::Duration kFrameDeadline = absl::Seconds(10);
  std::vector<std::unique_ptr<RawConnection>> holders;
  for (int i = 0; i < kMaxConnections; ++i) {
    CDP_ASSERT_OK_AND_ASSIGN(auto conn, RawConnection::Open(server_->port()));
    ASSERT_TRUE(conn->Send(FrameHeader(1000)));
    holders.push_back(std::move(conn));
  }
  std::atomic<bool> trickling{true};
  std::thread trickler([&] {
    while (trickling.load()) {
      for (auto& conn : holders) (void)conn->Send(std::string(1, '\x80'));
      absl::SleepFor(absl::Milliseconds(500));
    }
  });
  absl::StatusOr<absl::Duration> waited = Probe();
  trickling.store(false);
  trickler.join();
  ASSERT_THAT(waited, IsOk());
  Figure("trickling_holders_probe_wait_ms", absl::ToDoubleMilliseconds(*waited), "ms");
  EXPECT_LT(*waited, kFrameDeadline + absl::Seconds(5));
}

}  // namespace
}  // namespace cdp::testing
