#pragma once
// The model of a crash test's workload: synthetic people whose events arrive on several channels
// under different identifiers (so that they merge), and the ledger of what the server
// acknowledged, against which a restarted server is checked.
//
// A person has seven identifiers; each kind of event carries a subset of them, and the server
// links events only through shared identifiers, so the expected identity partition of a person
// is the union-find of the identifier sets of its acknowledged events (Components()).
//
// Thread safety: CrashLedger is internally synchronized; the free functions are pure.

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace cdp::testing {

using IdentifierPair = std::pair<std::string, std::string>;  // (type, raw value)

// The identifiers of a person; the phones of writers' and erased people never collide.
struct PersonIds {
  std::string user_id, anonymous_id, email, phone, device_id;
  // Segment events need a userId or anonymousId: the email client's and the app's.
  std::string mail_anonymous_id, app_anonymous_id;
  std::vector<IdentifierPair> All() const;
};
PersonIds WriterPerson(int index);  // index < 10000 (phones must stay distinct)
PersonIds ErasedPerson(int index);

// What an event carries: kWeb {anonymous_id}, kEmail {mail_anonymous_id, email},
// kApp {app_anonymous_id, device_id, phone}, kIdentify {user_id, anonymous_id, email, phone},
// kCall {user_id}.
enum class EventKind { kWeb, kEmail, kApp, kIdentify, kCall };
inline constexpr int kEventKinds = 5;
std::vector<IdentifierPair> IdentifiersOf(EventKind kind, const PersonIds& person);
// One Segment-spec NDJSON line (no newline), timestamped `time`.
std::string EventLine(const std::string& message_id, EventKind kind, const PersonIds& person,
                      absl::Time time);

struct PlannedEvent {
  int person = 0;  // writer person index
  EventKind kind = EventKind::kWeb;
  std::string message_id;
  std::string line;
};

// One connected set of identifiers of a person and the events acknowledged under it.
struct Component {
  int person = 0;
  std::vector<IdentifierPair> identifiers;
  std::vector<std::string> message_ids;
};

class CrashLedger {
 public:
  // A writer event the server acknowledged (ACCEPTED, or DUPLICATE on a retry after a crash).
  void Ack(const PlannedEvent& event);
  void Erased(int erased_person);
  // Something the server should never answer (an unexpected outcome or error).
  void Unexpected(std::string what);

  // The expected partition of every writer person that has an acknowledged event.
  std::vector<Component> Components() const;
  // People with events acknowledged since the last call, and clears the mark.
  std::set<int> TakeDirtyPeople();
  // Acknowledged events since the last call (for the re-ingest check), and clears them.
  std::vector<PlannedEvent> TakeRecentEvents();
  std::vector<int> ErasedPeople() const;
  std::vector<std::string> TakeUnexpected();
  int64_t acked_events() const;

 private:
  struct PersonLog {
    std::vector<EventKind> kinds;
    std::vector<std::string> message_ids;
  };
  mutable std::mutex mu_;
  std::map<int, PersonLog> people_ ABSL_GUARDED_BY(mu_);
  std::set<int> dirty_ ABSL_GUARDED_BY(mu_);
  std::vector<PlannedEvent> recent_ ABSL_GUARDED_BY(mu_);
  std::vector<int> erased_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> unexpected_ ABSL_GUARDED_BY(mu_);
  int64_t acked_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cdp::testing
