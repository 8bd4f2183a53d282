#include "tests/reliability/crash_workload.h"

#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cdp::testing {

std::vector<IdentifierPair> PersonIds::All() const {
  std::vector<IdentifierPair> all = {
      {"user_id", user_id}, {"anonymous_id", anonymous_id}, {"email", email}};
  if (!phone.empty()) all.emplace_back("phone", phone);
  all.emplace_back("device_id", device_id);
  all.emplace_back("anonymous_id", mail_anonymous_id);
  all.emplace_back("anonymous_id", app_anonymous_id);
  return all;
}

PersonIds WriterPerson(int index) {
  return {absl::StrCat("crash-user-", index),
          absl::StrCat("crash-anon-", index),
          absl::StrCat("crash.", index, "@example.com"),
          absl::StrFormat("+1650253%04d", index),
          absl::StrCat("crash-device-", index),
          absl::StrCat("crash-mail-anon-", index),
          absl::StrCat("crash-app-anon-", index)};
}

PersonIds ErasedPerson(int index) {
  return {absl::StrCat("erased-user-", index),
          absl::StrCat("erased-anon-", index),
          absl::StrCat("erased.", index, "@example.com"),
          absl::StrFormat("+1650254%04d", index),
          absl::StrCat("erased-device-", index),
          absl::StrCat("erased-mail-anon-", index),
          absl::StrCat("erased-app-anon-", index)};
}

std::vector<IdentifierPair> IdentifiersOf(EventKind kind, const PersonIds& p) {
  switch (kind) {
    case EventKind::kWeb:
      return {{"anonymous_id", p.anonymous_id}};
    case EventKind::kEmail:
      return {{"anonymous_id", p.mail_anonymous_id}, {"email", p.email}};
    case EventKind::kApp:
      return {{"anonymous_id", p.app_anonymous_id}, {"device_id", p.device_id}, {"phone", p.phone}};
    case EventKind::kIdentify:
      return {{"user_id", p.user_id},
              {"anonymous_id", p.anonymous_id},
              {"email", p.email},
              {"phone", p.phone}};
    case EventKind::kCall:
      return {{"user_id", p.user_id}};
  }
  return {};
}

std::string EventLine(const std::string& message_id, EventKind kind, const PersonIds& p,
                      absl::Time time) {
  const std::string head =
      absl::StrCat(R"({"messageId":")", message_id, R"(","timestamp":")",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", time, absl::UTCTimeZone()), R"(",)");
  switch (kind) {
    case EventKind::kWeb:
      return absl::StrCat(head, R"("type":"track","event":"Page Viewed","anonymousId":")",
                          p.anonymous_id, R"(","context":{"channel":"web"}})");
    case EventKind::kEmail:
      return absl::StrCat(head, R"("type":"track","event":"Email Opened","anonymousId":")",
                          p.mail_anonymous_id, R"(",")",
                          R"(context":{"channel":"email","traits":{"email":")", p.email, R"("}}})");
    case EventKind::kApp:
      return absl::StrCat(head, R"("type":"track","event":"App Opened","anonymousId":")",
                          p.app_anonymous_id, R"(","context":{)",
                          R"("channel":"app","device":{"id":")", p.device_id,
                          R"("},"traits":{"phone":")", p.phone, R"("}}})");
    case EventKind::kIdentify:
      return absl::StrCat(head, R"("type":"identify","userId":")", p.user_id,
                          R"(","anonymousId":")", p.anonymous_id, R"(","traits":{"email":")",
                          p.email, R"(","phone":")", p.phone, R"(","plan":"gold"},)",
                          R"("context":{"channel":"web"}})");
    case EventKind::kCall:
      return absl::StrCat(head, R"("type":"track","event":"Call Started","userId":")", p.user_id,
                          R"(","context":{"channel":"phone"}})");
  }
  return "";
}

void CrashLedger::Ack(const PlannedEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  PersonLog& log = people_[event.person];
  log.kinds.push_back(event.kind);
  log.message_ids.push_back(event.message_id);
  dirty_.insert(event.person);
  recent_.push_back(event);
  ++acked_;
}

void CrashLedger::Erased(int erased_person) {
  std::lock_guard<std::mutex> lock(mu_);
  erased_.push_back(erased_person);
}

void CrashLedger::Unexpected(std::string what) {
  std::lock_guard<std::mutex> lock(mu_);
  unexpected_.push_back(std::move(what));
}

std::vector<Component> CrashLedger::Components() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Component> out;
  for (const auto& [person, log] : people_) {
    // Union-find over the person's identifiers, indexed by their position in All().
    const PersonIds ids = WriterPerson(person);
    const std::vector<IdentifierPair> all = ids.All();
    auto index_of = [&](const IdentifierPair& id) {
      for (size_t i = 0; i < all.size(); ++i) {
        if (all[i] == id) return static_cast<int>(i);
      }
      return -1;
    };
    std::vector<int> parent(all.size());
    std::iota(parent.begin(), parent.end(), 0);
    auto find = [&](int x) {
      while (parent[x] != x) x = parent[x] = parent[parent[x]];
      return x;
    };
    std::vector<bool> seen(all.size(), false);
    for (EventKind kind : log.kinds) {
      const auto carried = IdentifiersOf(kind, ids);
      const int first = index_of(carried.front());
      for (const auto& id : carried) {
        seen[index_of(id)] = true;
        parent[find(index_of(id))] = find(first);
      }
    }
    std::map<int, Component> by_root;
    for (size_t i = 0; i < all.size(); ++i) {
      if (!seen[i]) continue;
      Component& c = by_root[find(static_cast<int>(i))];
      c.person = person;
      c.identifiers.push_back(all[i]);
    }
    for (size_t e = 0; e < log.kinds.size(); ++e) {
      const int root = find(index_of(IdentifiersOf(log.kinds[e], ids).front()));
      by_root[root].message_ids.push_back(log.message_ids[e]);
    }
    for (auto& [root, c] : by_root) out.push_back(std::move(c));
  }
  return out;
}

std::set<int> CrashLedger::TakeDirtyPeople() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(dirty_, {});
}

std::vector<PlannedEvent> CrashLedger::TakeRecentEvents() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(recent_, {});
}

std::vector<int> CrashLedger::ErasedPeople() const {
  std::lock_guard<std::mutex> lock(mu_);
  return erased_;
}

std::vector<std::string> CrashLedger::TakeUnexpected() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(unexpected_, {});
}

int64_t CrashLedger::acked_events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return acked_;
}

}  // namespace cdp::testing
