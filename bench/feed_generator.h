#pragma once
// FeedGenerator: a deterministic, realistic synthetic population and event stream for the
// identity and ingest benchmarks (docs/performance.md "Identity", "Ingest").
//
// Person i has a web identity (anonymous_id, email) and an app/server identity (user_id,
// device_id; a US phone for every third person, a CRM id for every fourth). Every fifth person
// (i % 5 == 1) is "split": preloaded as two unlinked profiles, a web profile and an app profile,
// as a store holds people it has not yet seen logging in on the web.
//
// Events: 80% carry the identifiers of one preloaded profile (1-3 identifiers: web, app, or
// server channel); 20% bridge channels: half a web login (anonymousId + userId) of a split
// person, taken in turn so that each one merges two profiles until every split person has been
// bridged, half a known userId with an identifier never seen before (a new browser or device).
// Event times spread over a day and arrive shuffled; 5% arrive 1-48 hours late.
//
// Values are synthetic and never personal data. Thread safety: not thread-safe.

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace cdp::bench {

// One raw identifier as an event carries it (before normalization).
struct FeedIdentifier {
  std::string type;  // user_id, anonymous_id, email, phone, device_id, crm_id
  std::string value;
};

// Compact description of one event; identifiers and JSON are derived on demand.
struct FeedEvent {
  enum class Shape : uint8_t {
    kWeb,          // anonymousId [+ email]
    kApp,          // userId + device id [+ phone]
    kServer,       // userId [+ crm id]
    kBridgeSplit,  // anonymousId + userId of a split person (merges its two profiles)
    kBridgeNew,    // userId + an anonymousId or device id never seen before
  };
  enum class Type : uint8_t { kIdentify, kTrack, kPage, kScreen };
  uint32_t person = 0;
  uint32_t sequence = 0;  // position in generation order: message id and new identifiers
  Shape shape = Shape::kWeb;
  Type type = Type::kTrack;
  uint8_t variant = 0;  // picks optional identifiers, event names, consent
  int64_t time_micros = 0;
  int64_t sent_delay_micros = 0;  // sentAt - timestamp (late arrivals)
};

inline constexpr char kCrmType[] = "crm_id";

class FeedGenerator {
 public:
  // `people` persons; `base_micros` is the start of the day of events.
  FeedGenerator(size_t people, uint64_t seed, int64_t base_micros);

  size_t people() const { return people_; }
  static bool IsSplit(size_t person) { return person % 5 == 1; }

  // The identifier sets of the profiles person `person` is preloaded as: one, or two when split
  // (web profile first).
  std::vector<std::vector<FeedIdentifier>> PreloadProfiles(size_t person) const;
  // The sets of two or more identifiers that the person's ordinary (non-bridging) events carry:
  // web anonymousId + email, app userId + device id (and + phone), server userId + CRM id. Each
  // lies within one preloaded profile, so resolving them links nothing: it is the history of a
  // person who has been active before.
  std::vector<std::vector<FeedIdentifier>> HistorySets(size_t person) const;
  // Preload as NDJSON identify events (one line each, no trailing newline), one per profile.
  std::vector<std::string> PreloadLines(size_t person) const;

  // The next `count` events of the stream (bridging state carries over between calls),
  // shuffled in arrival order.
  std::vector<FeedEvent> Events(size_t count);

  // Shape and type of an ordinary (non-bridging) event: `channel` in [0, 1) picks web (< 0.45),
  // app (< 0.80) or server; event->variant picks the type (page/screen, track or identify).
  static void SetOrdinaryShape(double channel, FeedEvent* event);

  // The raw identifiers `event` carries (1-3 for ordinary events, 2 for bridges).
  std::vector<FeedIdentifier> Identifiers(const FeedEvent& event) const;
  // `event` as one Segment NDJSON line (no newline), ~600-900 bytes.
  std::string ToJson(const FeedEvent& event) const;

  // Identifier values of person i.
  static std::string UserId(size_t person);
  static std::string AnonymousId(size_t person);
  static std::string Email(size_t person);  // mixed case, as typed
  static std::string Phone(size_t person);  // "+1 650-2xx-xxxx", valid for US; "" if none
  static std::string DeviceId(size_t person);
  static std::string CrmId(size_t person);  // "" if none

 private:
  size_t people_;
  std::mt19937_64 rng_;
  int64_t base_micros_;
  uint32_t sequence_ = 0;
  size_t next_split_ = 1;  // next split person to bridge
};

}  // namespace cdp::bench
