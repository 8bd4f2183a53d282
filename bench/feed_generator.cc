#include "bench/feed_generator.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace cdp::bench {
namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kEventSpacingMicros = 1'000;        // one event per ms of event time
constexpr int64_t kJitterMicros = 10 * 60 * kSecond;  // +-10 min of clock and queue skew
constexpr size_t kShuffleBlock = 10'000;              // arrival order shuffled within blocks

uint64_t Mix(uint64_t x) {  // splitmix64 finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A UUID-shaped string derived from (salt, n).
std::string Uuid(uint64_t salt, uint64_t n) {
  const uint64_t a = Mix(salt * 0x100000001b3ULL ^ n);
  const uint64_t b = Mix(a ^ 0x5bd1e995);
  char text[40];
  std::snprintf(text, sizeof(text),
                "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-a%03" PRIx64 "-%012" PRIx64, a >> 32,
                (a >> 16) & 0xffff, a & 0xfff, b >> 52,
                static_cast<uint64_t>(b & 0xffffffffffffULL));
  return text;
}

std::string Rfc3339(int64_t micros) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

constexpr const char* kFirstNames[] = {"Ann", "Bo",    "Chiara", "Dmitri",
                                       "Eve", "Farid", "Grace",  "Hiro"};
constexpr const char* kTrackNames[] = {"Product Viewed",  "Product Added",    "Checkout Started",
                                       "Order Completed", "Product Searched", "Cart Viewed"};
constexpr const char* kPageNames[] = {"Home", "Product", "Category", "Cart", "Search", "Account"};

const char* ChannelName(FeedEvent::Shape shape) {
  switch (shape) {
    case FeedEvent::Shape::kApp:
      return "mobile";
    case FeedEvent::Shape::kServer:
      return "server";
    default:
      return "web";
  }
}

}  // namespace

FeedGenerator::FeedGenerator(size_t people, uint64_t seed, int64_t base_micros)
    : people_(people), rng_(seed), base_micros_(base_micros) {}

std::string FeedGenerator::UserId(size_t person) { return absl::StrCat("user-", person); }
std::string FeedGenerator::AnonymousId(size_t person) { return Uuid(1, person); }
std::string FeedGenerator::DeviceId(size_t person) { return Uuid(2, person); }
std::string FeedGenerator::Email(size_t person) {
  return absl::StrCat(kFirstNames[person % 8], ".Doe", person, "@Example.com");
}
std::string FeedGenerator::Phone(size_t person) {
  if (person % 3 != 0) return "";
  // +1 650 2xx xxxx: area code 650 with exchanges 200-999 is an assigned (valid) US range.
  const size_t number = 2'000'000 + person % 8'000'000;
  char text[24];
  if (person % 2 == 0) {
    std::snprintf(text, sizeof(text), "+1 650-%03zu-%04zu", number / 10'000, number % 10'000);
  } else {
    std::snprintf(text, sizeof(text), "(650) %03zu-%04zu", number / 10'000, number % 10'000);
  }
  return text;
}
std::string FeedGenerator::CrmId(size_t person) {
  return person % 4 == 0 ? absl::StrCat("CRM-", 10'000'000 + person) : "";
}

std::vector<std::vector<FeedIdentifier>> FeedGenerator::PreloadProfiles(size_t person) const {
  std::vector<FeedIdentifier> web = {{"anonymous_id", AnonymousId(person)},
                                     {"email", Email(person)}};
  std::vector<FeedIdentifier> app = {{"user_id", UserId(person)}, {"device_id", DeviceId(person)}};
  if (std::string phone = Phone(person); !phone.empty()) app.push_back({"phone", phone});
  if (std::string crm = CrmId(person); !crm.empty()) app.push_back({kCrmType, crm});
  if (IsSplit(person)) return {web, app};
  for (FeedIdentifier& id : app) web.push_back(std::move(id));
  return {web};
}

std::vector<std::vector<FeedIdentifier>> FeedGenerator::HistorySets(size_t person) const {
  std::vector<std::vector<FeedIdentifier>> sets = {
      {{"anonymous_id", AnonymousId(person)}, {"email", Email(person)}},
      {{"user_id", UserId(person)}, {"device_id", DeviceId(person)}}};
  if (std::string phone = Phone(person); !phone.empty()) {
    sets.push_back({{"user_id", UserId(person)}, {"device_id", DeviceId(person)}, {"phone", phone}});
  }
  if (std::string crm = CrmId(person); !crm.empty()) {
    sets.push_back({{"user_id", UserId(person)}, {kCrmType, crm}});
  }
  return sets;
}

std::vector<std::string> FeedGenerator::PreloadLines(size_t person) const {
  std::vector<std::string> lines;
  const std::string time = Rfc3339(base_micros_ - 30 * 24 * 3600 * kSecond);
  int part = 0;
  for (const std::vector<FeedIdentifier>& profile : PreloadProfiles(person)) {
    std::string ids, traits, context;
    for (const FeedIdentifier& id : profile) {
      if (id.type == "user_id") absl::StrAppend(&ids, ",\"userId\":\"", id.value, "\"");
      if (id.type == "anonymous_id") absl::StrAppend(&ids, ",\"anonymousId\":\"", id.value, "\"");
      if (id.type == "email") absl::StrAppend(&traits, ",\"email\":\"", id.value, "\"");
      if (id.type == "phone") absl::StrAppend(&traits, ",\"phone\":\"", id.value, "\"");
      if (id.type == "device_id") {
        absl::StrAppend(&context, "\"device\":{\"id\":\"", id.value, "\"}");
      }
      if (id.type == kCrmType) {
        absl::StrAppend(&context, context.empty() ? "" : ",",
                        "\"externalIds\":[{\"type\":\"crm_id\",\"id\":\"", id.value,
                        "\",\"collection\":\"users\",\"encoding\":\"none\"}]");
      }
    }
    lines.push_back(absl::StrCat(
        "{\"type\":\"identify\",\"messageId\":\"pre-", person, "-", part++, "\"", ids,
        ",\"traits\":{\"firstName\":\"", kFirstNames[person % 8], "\",\"lastName\":\"Doe\"",
        ",\"plan\":\"", person % 7 == 0 ? "gold" : "free", "\",\"createdAt\":\"", time, "\"",
        traits, "},\"context\":{", context, context.empty() ? "" : ",",
        "\"library\":{\"name\":\"crm-import\",\"version\":\"1.0\"}},\"timestamp\":\"", time,
        "\"}"));
  }
  return lines;
}

void FeedGenerator::SetOrdinaryShape(double channel, FeedEvent* event) {
  const int t = event->variant % 10;
  if (channel < 0.45) {
    event->shape = FeedEvent::Shape::kWeb;
    event->type = t < 5 ? FeedEvent::Type::kPage
                        : (t < 9 ? FeedEvent::Type::kTrack : FeedEvent::Type::kIdentify);
  } else if (channel < 0.80) {
    event->shape = FeedEvent::Shape::kApp;
    event->type = t < 5 ? FeedEvent::Type::kScreen
                        : (t < 9 ? FeedEvent::Type::kTrack : FeedEvent::Type::kIdentify);
  } else {
    event->shape = FeedEvent::Shape::kServer;
    event->type = t < 8 ? FeedEvent::Type::kTrack : FeedEvent::Type::kIdentify;
  }
}

std::vector<FeedEvent> FeedGenerator::Events(size_t count) {
  std::vector<FeedEvent> events;
  events.reserve(count);
  std::uniform_real_distribution<double> unit(0, 1);
  std::uniform_int_distribution<size_t> any_person(0, people_ - 1);
  std::uniform_int_distribution<int64_t> jitter(-kJitterMicros, kJitterMicros);
  std::uniform_int_distribution<int64_t> late(3600 * kSecond, 48 * 3600 * kSecond);
  for (size_t i = 0; i < count; ++i) {
    FeedEvent event;
    event.sequence = sequence_++;
    event.variant = static_cast<uint8_t>(rng_() & 0xff);
    const double r = unit(rng_);
    if (r < 0.10) {
      event.shape = FeedEvent::Shape::kBridgeSplit;
      if (next_split_ < people_) {
        event.person = static_cast<uint32_t>(next_split_);
        next_split_ += 5;
      } else {  // every split person is bridged already: a login that merges nothing
        event.person = static_cast<uint32_t>((any_person(rng_) / 5) * 5 + 1) % people_;
      }
      event.type = FeedEvent::Type::kIdentify;
    } else {
      event.person = static_cast<uint32_t>(any_person(rng_));
      if (r < 0.20) {
        event.shape = FeedEvent::Shape::kBridgeNew;
        event.type = FeedEvent::Type::kIdentify;
      } else {
        SetOrdinaryShape(unit(rng_), &event);
      }
    }
    event.time_micros =
        base_micros_ + static_cast<int64_t>(event.sequence) * kEventSpacingMicros + jitter(rng_);
    if (unit(rng_) < 0.05) {  // arrives late: buffered on a device or in a retry queue
      event.sent_delay_micros = late(rng_);
      event.time_micros -= event.sent_delay_micros;
    }
    events.push_back(event);
  }
  for (size_t first = 0; first < events.size(); first += kShuffleBlock) {
    std::shuffle(
        events.begin() + static_cast<ptrdiff_t>(first),
        events.begin() + static_cast<ptrdiff_t>(std::min(events.size(), first + kShuffleBlock)),
        rng_);
  }
  return events;
}

std::vector<FeedIdentifier> FeedGenerator::Identifiers(const FeedEvent& event) const {
  const size_t p = event.person;
  std::vector<FeedIdentifier> ids;
  switch (event.shape) {
    case FeedEvent::Shape::kWeb:
      ids.push_back({"anonymous_id", AnonymousId(p)});
      if (event.variant % 3 == 0) ids.push_back({"email", Email(p)});
      break;
    case FeedEvent::Shape::kApp:
      ids.push_back({"user_id", UserId(p)});
      ids.push_back({"device_id", DeviceId(p)});
      if (event.variant % 2 == 0 && !Phone(p).empty()) ids.push_back({"phone", Phone(p)});
      break;
    case FeedEvent::Shape::kServer:
      ids.push_back({"user_id", UserId(p)});
      if (!CrmId(p).empty()) ids.push_back({kCrmType, CrmId(p)});
      break;
    case FeedEvent::Shape::kBridgeSplit:
      ids.push_back({"user_id", UserId(p)});
      ids.push_back({"anonymous_id", AnonymousId(p)});
      break;
    case FeedEvent::Shape::kBridgeNew:
      ids.push_back({"user_id", UserId(p)});
      if (event.variant % 2 == 0) {
        ids.push_back({"anonymous_id", Uuid(3, event.sequence)});
      } else {
        ids.push_back({"device_id", Uuid(4, event.sequence)});
      }
      break;
  }
  return ids;
}

std::string FeedGenerator::ToJson(const FeedEvent& event) const {
  const std::vector<FeedIdentifier> ids = Identifiers(event);
  std::string top, traits, device, external;
  for (const FeedIdentifier& id : ids) {
    if (id.type == "user_id") absl::StrAppend(&top, "\"userId\":\"", id.value, "\",");
    if (id.type == "anonymous_id") absl::StrAppend(&top, "\"anonymousId\":\"", id.value, "\",");
    if (id.type == "email") absl::StrAppend(&traits, "\"email\":\"", id.value, "\"");
    if (id.type == "phone") absl::StrAppend(&traits, "\"phone\":\"", id.value, "\"");
    if (id.type == "device_id") {
      absl::StrAppend(&device, "\"device\":{\"id\":\"", id.value,
                      "\",\"manufacturer\":\"Apple\",\"model\":\"iPhone14,5\"},");
    }
    if (id.type == kCrmType) {
      absl::StrAppend(&external, "\"externalIds\":[{\"type\":\"crm_id\",\"id\":\"", id.value,
                      "\",\"collection\":\"users\",\"encoding\":\"none\"}],");
    }
  }
  const bool web =
      event.shape != FeedEvent::Shape::kApp && event.shape != FeedEvent::Shape::kServer;
  std::string json = absl::StrCat("{\"type\":\"");
  switch (event.type) {
    case FeedEvent::Type::kIdentify:
      absl::StrAppend(&json, "identify\",");
      break;
    case FeedEvent::Type::kTrack:
      absl::StrAppend(&json, "track\",\"event\":\"", kTrackNames[event.variant % 6], "\",");
      break;
    case FeedEvent::Type::kPage:
      absl::StrAppend(&json, "page\",\"name\":\"", kPageNames[event.variant % 6], "\",");
      break;
    case FeedEvent::Type::kScreen:
      absl::StrAppend(&json, "screen\",\"name\":\"", kPageNames[event.variant % 6], "\",");
      break;
  }
  absl::StrAppend(&json, "\"messageId\":\"", Uuid(5, event.sequence), "\",", top);
  if (event.type == FeedEvent::Type::kIdentify) {
    absl::StrAppend(&json, "\"traits\":{\"firstName\":\"", kFirstNames[event.person % 8],
                    "\",\"plan\":\"", event.variant % 4 == 0 ? "gold" : "free",
                    "\",\"lastSeenChannel\":\"", ChannelName(event.shape), "\"",
                    traits.empty() ? "" : ",", traits, "},");
  } else {
    absl::StrAppend(&json, "\"properties\":{\"product_id\":\"p-", event.variant * 37,
                    "\",\"sku\":\"45790-", event.variant,
                    "\",\"category\":\"Games\",\"price\":", event.variant % 50,
                    ".99,\"currency\":\"USD\",\"quantity\":", 1 + event.variant % 3, "},");
  }
  absl::StrAppend(&json, "\"context\":{\"channel\":\"", ChannelName(event.shape), "\",", device,
                  external);
  if (event.type != FeedEvent::Type::kIdentify && !traits.empty()) {
    absl::StrAppend(&json, "\"traits\":{", traits, "},");
  }
  if (event.variant % 50 == 7) {
    absl::StrAppend(&json, "\"consent\":{\"categoryPreferences\":{\"advertising\":",
                    event.variant % 2 == 0 ? "true" : "false", ",\"functional\":true}},");
  }
  if (web) {
    absl::StrAppend(
        &json, "\"ip\":\"203.0.113.", event.variant, "\",\"locale\":\"en-US\",",
        "\"userAgent\":\"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Safari/605.1.15\",",
        "\"page\":{\"path\":\"/products/", event.variant,
        "\",\"url\":\"https://shop.example.com/products/", event.variant,
        "\",\"referrer\":\"https://www.google.com/\",\"title\":\"Shop\"},",
        "\"library\":{\"name\":\"analytics.js\",\"version\":\"4.1.0\"}},");
  } else {
    absl::StrAppend(&json, "\"app\":{\"name\":\"Shop\",\"version\":\"8.2.1\",\"build\":\"821\"},",
                    "\"os\":{\"name\":\"iOS\",\"version\":\"17.1\"},\"locale\":\"en-US\",",
                    "\"library\":{\"name\":\"analytics-ios\",\"version\":\"4.1.7\"}},");
  }
  const int64_t sent = event.time_micros + event.sent_delay_micros + 200'000;
  absl::StrAppend(&json, "\"timestamp\":\"", Rfc3339(event.time_micros), "\",\"sentAt\":\"",
                  Rfc3339(sent), "\",\"receivedAt\":\"", Rfc3339(sent + 40'000), "\"}");
  return json;
}

}  // namespace cdp::bench
