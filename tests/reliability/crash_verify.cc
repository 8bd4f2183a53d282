// The checks CrashDriver runs after each restart (see crash_test.cc).

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/reliability/crash_driver.h"

namespace cdp::testing {

namespace {

constexpr char kPurpose[] = "support";  // contract basis: allowed without consent
constexpr size_t kReingestBatch = 200;
constexpr size_t kResolveBatch = 500;
constexpr size_t kListBatch = 8;
constexpr int kMaxListed = 1000;  // getContext's max_events bound

// getContexts for `people`; empty on a transport or call error (reported through `problem`).
std::vector<thrift::ContextResult> Contexts(ApiClient& client,
                                            const std::vector<thrift::PersonRef>& people,
                                            int max_events,
                                            const std::function<void(std::string)>& problem) {
  thrift::GetContextsRequest request;
  request.token = client.token();
  request.people = people;
  request.purpose = kPurpose;
  request.__set_max_events(max_events);
  thrift::GetContextsResponse response;
  try {
    RetryOverloaded([&] { client.rpc().getContexts(response, request); });
  } catch (const thrift::CdpError& e) {
    problem(absl::StrCat("getContexts: ", e.code, " ", e.message));
    return {};
  } catch (const apache::thrift::TException& e) {
    problem(absl::StrCat("getContexts: ", e.what()));
    return {};
  }
  if (response.results.size() != people.size()) {
    problem("getContexts answered a different number of people");
    return {};
  }
  return response.results;
}

}  // namespace

void CrashDriver::Verify(bool full) {
  std::unique_ptr<ApiClient> client = Client();
  if (client == nullptr) {
    Problem("cannot connect to the restarted server");
    return;
  }
  VerifyAudit(*client);
  VerifyReingest(*client);
  VerifyPartition(*client, full);
  VerifyErased(*client, full);
}

void CrashDriver::VerifyAudit(ApiClient& client) {
  thrift::VerifyAuditRequest request;
  request.token = client.token();
  thrift::VerifyAuditResponse response;
  try {
    RetryOverloaded([&] { client.rpc().verifyAudit(response, request); });
  } catch (const apache::thrift::TException& e) {
    Problem(absl::StrCat("verifyAudit: ", e.what()));
    return;
  }
  if (!response.ok) {
    Problem(absl::StrCat("audit chain broken at seq ", response.first_broken_seq, " of ",
                         response.entries, ": ", response.problem));
  }
}

void CrashDriver::VerifyReingest(ApiClient& client) {
  const std::vector<PlannedEvent> recent = ledger_.TakeRecentEvents();
  for (size_t begin = 0; begin < recent.size(); begin += kReingestBatch) {
    const size_t end = std::min(recent.size(), begin + kReingestBatch);
    thrift::IngestRequest request;
    request.token = client.token();
    request.format = thrift::IngestFormat::NDJSON;
    for (size_t i = begin; i < end; ++i) absl::StrAppend(&request.body, recent[i].line, "\n");
    thrift::IngestResponse response;
    try {
      RetryOverloaded([&] { client.rpc().ingest(response, request); });
    } catch (const apache::thrift::TException& e) {
      Problem(absl::StrCat("re-ingest: ", e.what()));
      return;
    }
    for (const thrift::RecordOutcome& record : response.records) {
      if (record.outcome != thrift::Outcome::DUPLICATE) {
        Problem(absl::StrCat("acknowledged ", record.message_id, " re-ingested as outcome ",
                             record.outcome, " (want DUPLICATE: the dedup record was lost)"));
      }
    }
    stats_.reingested += response.duplicate;
  }
}

void CrashDriver::VerifyPartition(ApiClient& client, bool full) {
  const std::vector<Component> components = ledger_.Components();
  const std::set<int> dirty = ledger_.TakeDirtyPeople();
  auto problem = [this](std::string what) { Problem(std::move(what)); };

  // Every identifier of every component, resolved without events.
  std::vector<thrift::PersonRef> refs;
  std::vector<std::pair<size_t, size_t>> owner;  // (component, identifier)
  for (size_t c = 0; c < components.size(); ++c) {
    for (size_t i = 0; i < components[c].identifiers.size(); ++i) {
      refs.push_back(
          PersonBy(components[c].identifiers[i].first, components[c].identifiers[i].second));
      owner.emplace_back(c, i);
    }
  }
  std::vector<std::string> profile_of(components.size());
  std::map<std::string, size_t> component_of;  // profile id -> component
  for (size_t begin = 0; begin < refs.size(); begin += kResolveBatch) {
    const size_t end = std::min(refs.size(), begin + kResolveBatch);
    const auto results =
        Contexts(client, std::vector<thrift::PersonRef>(refs.begin() + begin, refs.begin() + end),
                 0, problem);
    for (size_t k = 0; k < results.size(); ++k) {
      const auto [c, i] = owner[begin + k];
      const Component& component = components[c];
      const IdentifierPair& id = component.identifiers[i];
      const std::string who = absl::StrCat("person ", component.person, " ", id.first);
      if (!results[k].found || !results[k].__isset.context) {
        Problem(absl::StrCat(who, " not found after the kill (", component.message_ids.size(),
                             " acknowledged events)"));
        continue;
      }
      const thrift::Context& context = results[k].context;
      if (profile_of[c].empty()) {
        profile_of[c] = context.profile_id;
        if (context.total_events != static_cast<int64_t>(component.message_ids.size())) {
          Problem(absl::StrCat(who, ": profile holds ", context.total_events,
                               " events, acknowledged ", component.message_ids.size()));
        } else {
          stats_.events_counted += context.total_events;
        }
        auto [it, inserted] = component_of.emplace(context.profile_id, c);
        if (!inserted && it->second != c) {
          Problem(absl::StrCat(who, ": shares profile ", context.profile_id, " with person ",
                               components[it->second].person,
                               " although no acknowledged event links them"));
        }
      } else if (profile_of[c] != context.profile_id) {
        Problem(absl::StrCat(who, " resolves to ", context.profile_id, ", linked identifiers to ",
                             profile_of[c]));
      }
    }
  }

  // The stored messageIds of recently written people, compared one by one.
  std::vector<size_t> listed;
  for (size_t c = 0; c < components.size(); ++c) {
    const bool wanted = full || dirty.count(components[c].person) > 0;
    if (wanted && components[c].message_ids.size() <= static_cast<size_t>(kMaxListed)) {
      listed.push_back(c);
    }
  }
  for (size_t begin = 0; begin < listed.size(); begin += kListBatch) {
    const size_t end = std::min(listed.size(), begin + kListBatch);
    std::vector<thrift::PersonRef> people;
    for (size_t k = begin; k < end; ++k) {
      const IdentifierPair& id = components[listed[k]].identifiers.front();
      people.push_back(PersonBy(id.first, id.second));
    }
    const auto results = Contexts(client, people, kMaxListed, problem);
    for (size_t k = 0; k < results.size(); ++k) {
      const Component& component = components[listed[begin + k]];
      if (!results[k].found) continue;  // reported above
      std::vector<std::string> stored;
      for (const thrift::Event& event : results[k].context.recent_events) {
        stored.push_back(event.message_id);
      }
      std::vector<std::string> acked = component.message_ids;
      std::sort(stored.begin(), stored.end());
      std::sort(acked.begin(), acked.end());
      if (stored == acked) {
        stats_.events_listed += static_cast<int64_t>(stored.size());
        continue;
      }
      std::vector<std::string> missing, extra;
      std::set_difference(acked.begin(), acked.end(), stored.begin(), stored.end(),
                          std::back_inserter(missing));
      std::set_difference(stored.begin(), stored.end(), acked.begin(), acked.end(),
                          std::back_inserter(extra));
      missing.resize(std::min<size_t>(missing.size(), 5));
      extra.resize(std::min<size_t>(extra.size(), 5));
      Problem(absl::StrCat("person ", component.person, ": stored ", stored.size(),
                           " events, acknowledged ", acked.size(), "; missing e.g. [",
                           absl::StrJoin(missing, ","), "], extra or doubled e.g. [",
                           absl::StrJoin(extra, ","), "]"));
    }
  }
}

void CrashDriver::VerifyErased(ApiClient& client, bool full) {
  const std::vector<int> erased = ledger_.ErasedPeople();
  std::vector<int> check(erased.begin() + static_cast<long>(erased_checked_.size()), erased.end());
  if (full) {
    check = erased;
  } else {
    for (int i = 0; i < 10 && !erased_checked_.empty(); ++i) {
      check.push_back(erased_checked_[rng_() % erased_checked_.size()]);
    }
  }
  erased_checked_ = erased;
  if (check.empty()) return;
  auto problem = [this](std::string what) { Problem(std::move(what)); };

  for (size_t begin = 0; begin < check.size(); begin += kResolveBatch / 5) {
    const size_t end = std::min(check.size(), begin + kResolveBatch / 5);
    std::vector<thrift::PersonRef> refs;
    std::vector<std::string> names;
    thrift::IngestRequest probe;
    probe.token = client.token();
    probe.format = thrift::IngestFormat::NDJSON;
    for (size_t k = begin; k < end; ++k) {
      const PersonIds person = ErasedPerson(check[k]);
      for (const auto& [type, value] : person.All()) {
        refs.push_back(PersonBy(type, value));
        names.push_back(absl::StrCat("erased person ", check[k], " ", type));
      }
      absl::StrAppend(&probe.body,
                      EventLine(absl::StrCat("probe-", seed_, "-", suppress_probe_++),
                                EventKind::kIdentify, person, absl::Now()),
                      "\n");
    }
    const auto results = Contexts(client, refs, 0, problem);
    for (size_t k = 0; k < results.size(); ++k) {
      if (results[k].found) Problem(absl::StrCat(names[k], " is found again after the kill"));
    }
    thrift::IngestResponse response;
    try {
      RetryOverloaded([&] { client.rpc().ingest(response, probe); });
    } catch (const apache::thrift::TException& e) {
      Problem(absl::StrCat("suppression probe: ", e.what()));
      return;
    }
    for (const thrift::RecordOutcome& record : response.records) {
      if (record.outcome != thrift::Outcome::SUPPRESSED) {
        Problem(absl::StrCat("an erased person's event (line ", record.position, ") got outcome ",
                             record.outcome, ", want SUPPRESSED"));
      }
    }
  }
}

}  // namespace cdp::testing
