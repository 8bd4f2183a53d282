// The SIGKILL crash test: a real `cdp serve` under concurrent ingest (with cross-channel merges),
// erasures, consent changes and key rotation is killed at seeded random moments and restarted on
// the same data directory; after every restart the server must hold exactly what it acknowledged.
//
// Each cycle: start the server; resend what was in flight at the last kill (as a client retrying
// would: ACCEPTED or DUPLICATE both mean "stored now"); verify; run the workload; SIGKILL after a
// random delay. The verification (Verify) checks, against CrashLedger:
//   - the audit chain verifies;
//   - every event acknowledged since the last check is a DUPLICATE when ingested again;
//   - every identifier of the expected partition resolves, identifiers linked by acknowledged
//     events resolve to one profile and unlinked ones to different profiles, and each profile's
//     event total equals the number of acknowledged events (so nothing is lost or doubled);
//   - for people written since the last check, the stored messageIds are exactly the
//     acknowledged ones, each once;
//   - erased people are not found under any identifier, and their events are SUPPRESSED.
// CDP_CRASH_CYCLES (default 20) and CDP_CRASH_SEED (default 20261123) steer it.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/reliability/crash_driver.h"
#include "tests/support/temp_dir.h"

namespace cdp::testing {
namespace {

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

TEST(CrashTest, AcknowledgedWritesSurviveSigkill) {
  const int cycles = EnvInt("CDP_CRASH_CYCLES", 20);
  const uint32_t seed = static_cast<uint32_t>(EnvInt("CDP_CRASH_SEED", 20261123));
  TempDir dir;
  CrashDriver driver(dir.path(), seed);
  ASSERT_TRUE(driver.Init().ok());
  const absl::Time began = absl::Now();
  for (int cycle = 1; cycle <= cycles + 1; ++cycle) {
    const bool last = cycle == cycles + 1;  // the final restart is verified, not killed again
    ASSERT_TRUE(driver.Restart().ok()) << driver.last_error();
    driver.Recover();
    driver.Verify(/*full=*/last);
    const std::vector<std::string> problems = driver.TakeProblems();
    ASSERT_TRUE(problems.empty()) << "after kill " << cycle - 1 << " (seed " << seed << "):\n"
                                  << absl::StrJoin(problems, "\n");
    if (!last) driver.RunAndKill();
  }
  driver.Shutdown();
  const CrashStats& s = driver.stats();
  std::cout << "crash test: seed " << seed << ", " << cycles << " SIGKILL cycles in "
            << absl::FormatDuration(absl::Trunc(absl::Now() - began, absl::Seconds(1)))
            << "; acknowledged events " << s.acked_events << " (" << s.events_listed
            << " checked by messageId, " << s.events_counted << " by profile totals, "
            << s.reingested << " re-ingested as DUPLICATE)"
            << "; in-flight batches resent " << s.resent_batches << " (" << s.resent_committed
            << " of their events already committed); erasures " << s.erasures
            << ", consent changes " << s.consents << ", key rotations " << s.rotations
            << "; kills during: ingest " << s.kills_during_ingest << ", erase "
            << s.kills_during_erase << ", consent " << s.kills_during_consent << ", rotation "
            << s.kills_during_rotation << "\n";
  EXPECT_GT(s.acked_events, 0);
  EXPECT_GT(s.erasures, 0);
}

}  // namespace
}  // namespace cdp::testing
