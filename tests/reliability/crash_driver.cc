#include "tests/reliability/crash_driver.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cdp::testing {

namespace {

const std::string& AdminToken() {
  static const std::string token = ServerProcess::TokenFor(TestRole::kAdmin);
  return token;
}

// Sleeps up to `total`, in slices, returning early once `stop` is set.
void SleepUnlessStopped(const std::atomic<bool>& stop, absl::Duration total) {
  const absl::Time until = absl::Now() + total;
  while (!stop.load() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(5));
}

// Counts a call as in flight for the kill statistics.
class InFlight {
 public:
  explicit InFlight(std::atomic<int>& counter) : counter_(counter) { ++counter_; }
  ~InFlight() { --counter_; }

 private:
  std::atomic<int>& counter_;
};

}  // namespace

CrashDriver::CrashDriver(std::string dir, uint32_t seed)
    : dir_(std::move(dir)),
      rng_(seed),
      seed_(seed),
      slots_(kWriters),
      slot_events_(kWriters, std::vector<int>(kSlotsPerWriter, 0)),
      in_flight_(kWriters),
      next_message_(kWriters, 0) {
  for (auto& slots : slots_) {
    for (int i = 0; i < kSlotsPerWriter; ++i) slots.push_back(next_person_++);
  }
}

CrashDriver::~CrashDriver() { Shutdown(); }

absl::Status CrashDriver::Init() { return WriteCrashServerConfig(dir_ + "/cdp.conf"); }

absl::Status CrashDriver::Restart() {
  server_.reset();
  auto server = CrashServer::Start(
      {.config_path = dir_ + "/cdp.conf", .data_dir = dir_ + "/data", .log_path = dir_ + "/log"});
  if (!server.ok()) {
    last_error_ = server.status().ToString();
    return server.status();
  }
  server_ = *std::move(server);
  return absl::OkStatus();
}

void CrashDriver::Shutdown() {
  stop_ = true;
  if (server_ != nullptr) server_->Kill();
  server_.reset();
}

std::unique_ptr<ApiClient> CrashDriver::Client() {
  auto client = server_->Connect(AdminToken());
  return client.ok() ? *std::move(client) : nullptr;
}

CrashDriver::Batch CrashDriver::NextBatch(int writer) {
  thread_local std::mt19937 rng(seed_ + 7919 * static_cast<uint32_t>(writer) + 104729 * cycle_);
  Batch batch;
  const absl::Time now = absl::Now();
  for (int i = 0; i < kEventsPerBatch; ++i) {
    const int slot = static_cast<int>(rng() % kSlotsPerWriter);
    if (slot_events_[writer][slot] >= kEventsPerPerson) {
      std::lock_guard<std::mutex> lock(people_mu_);
      slots_[writer][slot] = next_person_++;
      slot_events_[writer][slot] = 0;
    }
    ++slot_events_[writer][slot];
    PlannedEvent event;
    event.person = slots_[writer][slot];
    // Identify (the bridging event) is rarer, so that people stay split for a while.
    const uint32_t roll = rng() % 100;
    static constexpr EventKind kOthers[] = {EventKind::kWeb, EventKind::kEmail, EventKind::kApp,
                                            EventKind::kCall};
    event.kind = roll < 8 ? EventKind::kIdentify : kOthers[roll % 4];
    event.message_id = absl::StrCat("crash-", seed_, "-w", writer, "-", next_message_[writer]++);
    event.line = EventLine(event.message_id, event.kind, WriterPerson(event.person),
                           now - absl::Milliseconds(i));
    absl::StrAppend(&batch.body, event.line, "\n");
    batch.events.push_back(std::move(event));
  }
  return batch;
}

bool CrashDriver::SendBatch(ApiClient& client, const Batch& batch, bool retry) {
  thrift::IngestRequest request;
  request.token = AdminToken();
  request.format = thrift::IngestFormat::NDJSON;
  request.body = batch.body;
  request.__set_source("crash.ndjson");
  thrift::IngestResponse response;
  try {
    InFlight in_flight(in_ingest_);
    RetryOverloaded([&] { client.rpc().ingest(response, request); });
  } catch (const thrift::CdpError& e) {
    Problem(absl::StrCat("ingest failed: ", e.code, " ", e.message));
    return false;
  } catch (const apache::thrift::TException&) {
    return false;  // the server is gone: the batch stays in flight
  }
  if (response.records.size() != batch.events.size()) {
    Problem(absl::StrCat("ingest answered ", response.records.size(), " outcomes for ",
                         batch.events.size(), " records"));
  }
  for (const thrift::RecordOutcome& record : response.records) {
    const int64_t index = record.position - 1;
    if (index < 0 || index >= static_cast<int64_t>(batch.events.size())) {
      Problem(absl::StrCat("outcome for unknown position ", record.position));
      continue;
    }
    const PlannedEvent& event = batch.events[index];
    if (record.outcome == thrift::Outcome::ACCEPTED ||
        (retry && record.outcome == thrift::Outcome::DUPLICATE)) {
      ledger_.Ack(event);
      if (retry && record.outcome == thrift::Outcome::DUPLICATE) ++stats_.resent_committed;
    } else {
      Problem(absl::StrCat(event.message_id, ": outcome ", record.outcome, " ", record.reason,
                           retry ? " (resent after a kill)" : ""));
    }
  }
  return true;
}

bool CrashDriver::RunErasure(ApiClient& client, Erasure& erasure, bool retry) {
  const PersonIds person = ErasedPerson(erasure.index);
  if (!erasure.ingested) {
    Batch batch;
    int n = 0;
    for (EventKind kind : {EventKind::kIdentify, EventKind::kApp, EventKind::kWeb}) {
      PlannedEvent event;
      event.message_id = absl::StrCat("erased-", seed_, "-", erasure.index, "-", n++);
      event.line = EventLine(event.message_id, kind, person, absl::Now());
      absl::StrAppend(&batch.body, event.line, "\n");
      batch.events.push_back(std::move(event));
    }
    thrift::IngestRequest request;
    request.token = AdminToken();
    request.format = thrift::IngestFormat::NDJSON;
    request.body = batch.body;
    thrift::IngestResponse response;
    try {
      InFlight in_flight(in_ingest_);
      RetryOverloaded([&] { client.rpc().ingest(response, request); });
    } catch (const thrift::CdpError& e) {
      Problem(absl::StrCat("ingest of erased person ", erasure.index, ": ", e.message));
      return false;
    } catch (const apache::thrift::TException&) {
      return false;
    }
    if (response.accepted + (retry ? response.duplicate : 0) != 3) {
      Problem(absl::StrCat("erased person ", erasure.index, ": ", response.accepted,
                           " of 3 events accepted"));
    }
    erasure.ingested = true;
  }
  thrift::EraseSubjectRequest request;
  request.token = AdminToken();
  request.person = PersonBy("email", person.email);
  request.reason = "crash test";
  thrift::EraseSubjectResponse response;
  try {
    InFlight in_flight(in_erase_);
    RetryOverloaded([&] { client.rpc().eraseSubject(response, request); });
  } catch (const thrift::CdpError& e) {
    const bool done_before =
        e.code == thrift::ErrorCode::NOT_FOUND || e.code == thrift::ErrorCode::ALREADY_EXISTS;
    if (!retry || !done_before) {
      Problem(absl::StrCat("erase of ", erasure.index, ": ", e.code, " ", e.message));
      return false;
    }
  } catch (const apache::thrift::TException&) {
    return false;
  }
  ledger_.Erased(erasure.index);
  ++erasures_;
  return true;
}

void CrashDriver::WriterLoop(int writer) {
  std::unique_ptr<ApiClient> client = Client();
  while (client != nullptr && !stop_.load()) {
    in_flight_[writer] = NextBatch(writer);
    if (!SendBatch(*client, *in_flight_[writer], /*retry=*/false)) return;
    in_flight_[writer].reset();
  }
}

void CrashDriver::EraserLoop() {
  thread_local std::mt19937 rng(seed_ + 1 + 104729 * cycle_);
  std::unique_ptr<ApiClient> client = Client();
  while (client != nullptr && !stop_.load()) {
    if (!erasure_in_flight_.has_value()) erasure_in_flight_ = Erasure{.index = next_erased_++};
    if (!RunErasure(*client, *erasure_in_flight_, /*retry=*/false)) return;
    erasure_in_flight_.reset();
    SleepUnlessStopped(stop_, absl::Milliseconds(20 + rng() % 80));
  }
}

void CrashDriver::ConsentLoop() {
  thread_local std::mt19937 rng(seed_ + 2 + 104729 * cycle_);
  std::unique_ptr<ApiClient> client = Client();
  while (client != nullptr && !stop_.load()) {
    int person = 0;
    {
      std::lock_guard<std::mutex> lock(people_mu_);
      person = static_cast<int>(rng() % next_person_);
    }
    thrift::SetConsentRequest request;
    request.token = AdminToken();
    request.person = PersonBy("email", WriterPerson(person).email);
    // Only marketing, which no event of the workload is collected for: consent changes must
    // not filter the writers' events.
    request.purposes["marketing"] = rng() % 2 == 0;
    request.__set_notice_version("crash-v1");
    thrift::SetConsentResponse response;
    try {
      InFlight in_flight(in_consent_);
      RetryOverloaded([&] { client->rpc().setConsent(response, request); });
    } catch (const thrift::CdpError& e) {
      Problem(absl::StrCat("setConsent: ", e.code, " ", e.message));
      return;
    } catch (const apache::thrift::TException&) {
      return;
    }
    ++consents_;
    SleepUnlessStopped(stop_, absl::Milliseconds(10 + rng() % 40));
  }
}

void CrashDriver::RotateLoop() {
  thread_local std::mt19937 rng(seed_ + 3 + 104729 * cycle_);
  std::unique_ptr<ApiClient> client = Client();
  while (client != nullptr && !stop_.load()) {
    SleepUnlessStopped(stop_, absl::Milliseconds(100 + rng() % 400));
    if (stop_.load()) return;
    thrift::RotateKeysRequest request;
    request.token = AdminToken();
    request.reason = "crash test";
    thrift::RotateKeysResponse response;
    try {
      InFlight in_flight(in_rotation_);
      RetryOverloaded([&] { client->rpc().rotateKeys(response, request); });
    } catch (const thrift::CdpError& e) {
      Problem(absl::StrCat("rotateKeys: ", e.code, " ", e.message));
      return;
    } catch (const apache::thrift::TException&) {
      return;
    }
    ++rotations_;
  }
}

void CrashDriver::RunAndKill() {
  stop_ = false;
  ++cycle_;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) threads.emplace_back([this, w] { WriterLoop(w); });
  threads.emplace_back([this] { EraserLoop(); });
  threads.emplace_back([this] { ConsentLoop(); });
  threads.emplace_back([this] { RotateLoop(); });
  absl::SleepFor(absl::Milliseconds(150 + rng_() % 1200));
  stats_.kills_during_ingest += in_ingest_.load() > 0;
  stats_.kills_during_erase += in_erase_.load() > 0;
  stats_.kills_during_consent += in_consent_.load() > 0;
  stats_.kills_during_rotation += in_rotation_.load() > 0;
  server_->Kill();
  stop_ = true;
  for (std::thread& t : threads) t.join();
}

void CrashDriver::Recover() {
  std::unique_ptr<ApiClient> client = Client();
  if (client == nullptr) {
    Problem("cannot connect to the restarted server");
    return;
  }
  for (std::optional<Batch>& batch : in_flight_) {
    if (!batch.has_value()) continue;
    ++stats_.resent_batches;
    if (!SendBatch(*client, *batch, /*retry=*/true)) Problem("resending a batch failed");
    batch.reset();
  }
  if (erasure_in_flight_.has_value()) {
    if (!RunErasure(*client, *erasure_in_flight_, /*retry=*/true)) Problem("erase retry failed");
    erasure_in_flight_.reset();
  }
}

std::vector<std::string> CrashDriver::TakeProblems() { return ledger_.TakeUnexpected(); }

const CrashStats& CrashDriver::stats() {
  stats_.acked_events = ledger_.acked_events();
  stats_.erasures = erasures_.load();
  stats_.consents = consents_.load();
  stats_.rotations = rotations_.load();
  return stats_;
}

}  // namespace cdp::testing
