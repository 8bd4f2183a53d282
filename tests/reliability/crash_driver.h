#pragma once
// CrashDriver: runs the workload of the crash test against a CrashServer, kills it, restarts it
// and checks the restarted server against the CrashLedger (see crash_test.cc for the checks).
//
// Thread safety: the public methods are called from one thread; RunAndKill starts and joins the
// workload threads itself.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "tests/reliability/crash_server.h"
#include "tests/reliability/crash_workload.h"

namespace cdp::testing {

struct CrashStats {
  int64_t acked_events = 0;
  int64_t events_listed = 0;   // found by messageId in a profile's event list, once each
  int64_t events_counted = 0;  // covered by a profile's event total
  int64_t reingested = 0;      // ingested again and answered DUPLICATE
  int64_t resent_batches = 0, resent_committed = 0;
  int64_t erasures = 0, consents = 0, rotations = 0;
  int64_t kills_during_ingest = 0, kills_during_erase = 0, kills_during_consent = 0,
          kills_during_rotation = 0;
};

// Makes `call` (one RPC) again while the server sheds it as OVERLOADED: retrying with backoff is
// the documented contract of that code. Other exceptions propagate.
template <typename Call>
void RetryOverloaded(Call&& call) {
  while (true) {
    try {
      call();
      return;
    } catch (const thrift::CdpError& e) {
      if (e.code != thrift::ErrorCode::OVERLOADED) throw;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

class CrashDriver {
 public:
  static constexpr int kWriters = 3;
  static constexpr int kSlotsPerWriter = 12;    // people a writer writes to at a time
  static constexpr int kEventsPerPerson = 400;  // then the slot takes a new person
  static constexpr int kEventsPerBatch = 8;

  CrashDriver(std::string dir, uint32_t seed);
  ~CrashDriver();

  absl::Status Init();     // writes the configuration
  absl::Status Restart();  // starts the server on the data directory
  void Recover();          // resends what was in flight at the kill
  void Verify(bool full);  // full: list every person's events, not only the recent ones
  void RunAndKill();       // workload threads, SIGKILL after a seeded random delay
  void Shutdown();

  std::vector<std::string> TakeProblems();
  const CrashStats& stats();
  const std::string& last_error() const { return last_error_; }

 private:
  struct Batch {
    std::vector<PlannedEvent> events;
    std::string body;
  };
  // An erased person's progress: ingest its events, then erase it.
  struct Erasure {
    int index = 0;
    bool ingested = false;
  };

  std::unique_ptr<ApiClient> Client();
  Batch NextBatch(int writer);
  // Sends a batch; true when the server answered. Acks ACCEPTED (and DUPLICATE when `retry`).
  bool SendBatch(ApiClient& client, const Batch& batch, bool retry);
  bool RunErasure(ApiClient& client, Erasure& erasure, bool retry);
  void WriterLoop(int writer);
  void EraserLoop();
  void ConsentLoop();
  void RotateLoop();
  void Problem(std::string what) { ledger_.Unexpected(std::move(what)); }

  void VerifyAudit(ApiClient& client);
  void VerifyReingest(ApiClient& client);
  void VerifyPartition(ApiClient& client, bool full);
  void VerifyErased(ApiClient& client, bool full);

  std::string dir_;
  std::mt19937 rng_;  // main thread only
  uint32_t seed_;
  uint32_t cycle_ = 0;  // runs so far, mixed into the workload threads' seeds
  CrashLedger ledger_;
  std::unique_ptr<CrashServer> server_;
  std::string last_error_;
  std::atomic<bool> stop_{false};
  std::atomic<int> in_ingest_{0}, in_erase_{0}, in_consent_{0}, in_rotation_{0};
  std::atomic<int64_t> consents_{0}, rotations_{0}, erasures_{0};

  // Writer state, each element touched by its writer thread or by the main thread between runs.
  std::vector<std::vector<int>> slots_;          // writer -> person indexes
  std::vector<std::vector<int>> slot_events_;    // events planned per slot
  std::vector<std::optional<Batch>> in_flight_;  // writer -> batch without an answer
  std::vector<int64_t> next_message_;            // writer -> message counter
  int next_person_ = 0;                          // guarded by people_mu_
  std::mutex people_mu_;
  int next_erased_ = 0;  // eraser thread / main thread
  std::optional<Erasure> erasure_in_flight_;
  std::vector<int> erased_checked_;  // erased people already verified
  int64_t suppress_probe_ = 0;
  CrashStats stats_;
};

}  // namespace cdp::testing
