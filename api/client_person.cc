// Client subcommands about one person: lookup, consent, export, erase, unsuppress, unmerge,
// merges.

#include <fstream>
#include <iostream>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "api/client_internal.h"

namespace cdp::api {
namespace {

void PrintConsent(const std::vector<t::PurposeState>& consent) {
  std::printf("Consent:");
  for (const auto& p : consent) {
    std::printf(" %s=%s%s", p.purpose.c_str(), p.allowed ? "yes" : "no",
                p.explicit_answer ? "" : "(default)");
  }
  std::printf("\n");
}

void PrintContext(const t::Context& c, const std::string& purpose) {
  std::printf("Profile %s (purpose: %s)\n", c.profile_id.c_str(), purpose.c_str());
  PrintConsent(c.consent);
  if (!c.purpose_allowed) {
    std::printf("The person has not allowed \"%s\": no personal data returned.\n",
                purpose.c_str());
    return;
  }
  if (!c.identifiers.empty()) {
    std::printf("Identifiers:\n");
    for (const auto& id : c.identifiers) {
      std::printf("  %-14s %s%s\n", id.type.c_str(), id.value.c_str(),
                  id.masked ? "  (masked for your role)" : "");
    }
  }
  if (!c.traits.empty()) {
    std::printf("Traits:\n");
    for (const auto& tr : c.traits) {
      std::printf("  %-14s %-28s set %s by %s\n", tr.name.c_str(), tr.json.c_str(),
                  FormatTime(tr.set_micros).c_str(), tr.source.c_str());
    }
  }
  std::printf("Seen: first %s, last %s, %lld events, channels: %s\n",
              FormatTime(c.first_seen_micros).c_str(), FormatTime(c.last_seen_micros).c_str(),
              static_cast<long long>(c.total_events), absl::StrJoin(c.channels, ", ").c_str());
  if (!c.conversations.empty()) {
    std::printf("Open conversations:\n");
    for (const auto& v : c.conversations) {
      std::printf("  %-20s %-8s updated %s, %zu state keys\n", v.conversation_id.c_str(),
                  v.channel.c_str(), FormatTime(v.updated_micros).c_str(), v.state.size());
    }
  }
  if (!c.recent_events.empty()) {
    std::printf("Last events, newest first:\n");
    for (const auto& e : c.recent_events) {
      std::printf("  %s  %-8s %-18s %s\n", FormatTime(e.time_micros).c_str(), e.type.c_str(),
                  e.name.c_str(), e.channel.c_str());
    }
  }
}

}  // namespace

int RunLookup(const ClientOptions& options, const std::string& who, const std::string& purpose,
              int max_events, const std::string& event_name) {
  auto person = ParsePerson(who);
  if (!person.ok()) return PrintError(person.status());
  return WithServer(options, [&](Connection& c) {
    t::GetContextRequest request;
    request.token = c.token();
    request.person = *person;
    request.purpose = purpose;
    request.__set_max_events(max_events);
    if (!event_name.empty()) request.__set_event_name(event_name);
    t::GetContextResponse response;
    c.rpc().getContext(response, request);
    if (options.json) {
      PrintJson(response);
    } else if (!response.found) {
      std::fprintf(stderr, "cdp: no person holds that identifier\n");
    } else {
      PrintContext(response.context, purpose);
    }
    return response.found ? 0 : 3;
  });
}

int RunConsentGet(const ClientOptions& options, const std::string& who) {
  auto person = ParsePerson(who);
  if (!person.ok()) return PrintError(person.status());
  return WithServer(options, [&](Connection& c) {
    t::GetConsentRequest request;
    request.token = c.token();
    request.person = *person;
    t::GetConsentResponse response;
    c.rpc().getConsent(response, request);
    if (options.json) {
      PrintJson(response);
      return 0;
    }
    std::printf("Profile %s\n", response.profile_id.c_str());
    PrintConsent(response.consent);
    std::printf("Ledger, oldest first:\n");
    for (const auto& e : response.ledger) {
      std::printf("  %s  %-12s %-8s %s %s%s\n", FormatTime(e.effective_micros).c_str(),
                  e.purpose.c_str(), e.granted ? "granted" : "denied", e.source_kind.c_str(),
                  e.source_detail.c_str(), e.conflict ? " (merge conflict)" : "");
    }
    return 0;
  });
}

int RunConsentSet(const ClientOptions& options, const std::string& who,
                  const std::vector<std::string>& changes, const std::string& notice_version) {
  auto person = ParsePerson(who);
  if (!person.ok()) return PrintError(person.status());
  std::map<std::string, bool> purposes;
  for (const std::string& change : changes) {
    std::vector<std::string> parts = absl::StrSplit(change, absl::MaxSplits('=', 1));
    if (parts.size() != 2) {
      return PrintError(absl::InvalidArgumentError(
          absl::StrCat("expected purpose=granted or purpose=denied, got \"", change, "\"")));
    }
    if (parts[1] == "granted" || parts[1] == "true" || parts[1] == "yes") {
      purposes[parts[0]] = true;
    } else if (parts[1] == "denied" || parts[1] == "false" || parts[1] == "no") {
      purposes[parts[0]] = false;
    } else {
      return PrintError(absl::InvalidArgumentError(
          absl::StrCat(parts[0], ": expected granted or denied, got \"", parts[1], "\"")));
    }
  }
  return WithServer(options, [&](Connection& c) {
    t::SetConsentRequest request;
    request.token = c.token();
    request.person = *person;
    request.purposes = purposes;
    if (!notice_version.empty()) request.__set_notice_version(notice_version);
    t::SetConsentResponse response;
    c.rpc().setConsent(response, request);
    if (options.json) {
      PrintJson(response);
      return 0;
    }
    std::printf("Profile %s\n", response.profile_id.c_str());
    PrintConsent(response.consent);
    return 0;
  });
}

int RunExport(const ClientOptions& options, const std::string& who, const std::string& reason,
              const std::string& output) {
  auto person = ParsePerson(who);
  if (!person.ok()) return PrintError(person.status());
  std::ofstream file;
  if (output != "-") {
    file.open(output, std::ios::binary | std::ios::trunc);
    if (!file) return PrintError(absl::PermissionDeniedError("cannot write " + output));
  }
  std::ostream& out = output == "-" ? std::cout : file;
  return WithServer(options, [&](Connection& c) {
    t::ExportSubjectRequest request;
    request.token = c.token();
    request.person = *person;
    request.reason = reason;
    int64_t bytes = 0;
    while (true) {
      t::ExportSubjectResponse page;
      c.rpc().exportSubject(page, request);
      out.write(page.chunk.data(), static_cast<std::streamsize>(page.chunk.size()));
      bytes += static_cast<int64_t>(page.chunk.size());
      if (page.done) break;
      request.__set_cursor(page.cursor);
    }
    out.flush();
    if (output != "-") {
      std::fprintf(stderr, "Export written to %s (%lld bytes)\n", output.c_str(),
                   static_cast<long long>(bytes));
    }
    return out ? 0 : 1;
  });
}

int RunErase(const ClientOptions& options, const std::string& who, const std::string& reason) {
  auto person = ParsePerson(who);
  if (!person.ok()) return PrintError(person.status());
  return WithServer(options, [&](Connection& c) {
    t::EraseSubjectRequest request;
    request.token = c.token();
    request.person = *person;
    request.reason = reason;
    t::EraseSubjectResponse response;
    c.rpc().eraseSubject(response, request);
    if (options.json) {
      PrintJson(response);
      return 0;
    }
    std::printf("Erased profile %s at %s (erase id %s): data key destroyed, records deleted, "
                "identifiers suppressed\n",
                response.profile_id.c_str(), FormatTime(response.completed_micros).c_str(),
                response.erase_id.c_str());
    for (const auto& [kind, n] : response.counts) {
      std::printf("  %-16s %lld\n", kind.c_str(), static_cast<long long>(n));
    }
    return 0;
  });
}

int RunUnsuppress(const ClientOptions& options, const std::string& identifier,
                  const std::string& reason) {
  auto id = ParseIdentifier(identifier);
  if (!id.ok()) return PrintError(id.status());
  return WithServer(options, [&](Connection& c) {
    t::UnsuppressRequest request;
    request.token = c.token();
    request.identifier = *id;
    request.reason = reason;
    t::UnsuppressResponse response;
    c.rpc().unsuppress(response, request);
    if (options.json) {
      PrintJson(response);
    } else {
      std::printf("Unsuppressed: records naming this identifier are accepted again\n");
    }
    return 0;
  });
}

int RunUnmerge(const ClientOptions& options, const std::string& profile,
               const std::string& identifier, const std::string& reason) {
  auto id = ParseIdentifier(identifier);
  if (!id.ok()) return PrintError(id.status());
  return WithServer(options, [&](Connection& c) {
    t::UnmergeRequest request;
    request.token = c.token();
    request.profile_id = profile;
    request.identifier = *id;
    request.reason = reason;
    t::UnmergeResponse response;
    c.rpc().unmerge(response, request);
    if (options.json) {
      PrintJson(response);
      return 0;
    }
    std::printf("Profile %s split into %zu profiles:\n", profile.c_str(), response.parts.size());
    for (const auto& part : response.parts) {
      std::printf("  %s  %lld identifiers, %lld events\n", part.profile_id.c_str(),
                  static_cast<long long>(part.identifiers), static_cast<long long>(part.events));
    }
    return 0;
  });
}

int RunMerges(const ClientOptions& options, const std::string& who) {
  auto person = ParsePerson(who);
  if (!person.ok()) return PrintError(person.status());
  return WithServer(options, [&](Connection& c) {
    t::MergeHistoryRequest request;
    request.token = c.token();
    request.person = *person;
    t::MergeHistoryResponse response;
    c.rpc().mergeHistory(response, request);
    if (options.json) {
      PrintJson(response);
      return 0;
    }
    std::printf("Profile %s: %zu merge log entries\n", response.profile_id.c_str(),
                response.entries.size());
    for (const auto& e : response.entries) {
      std::vector<std::string> bridging;
      for (const auto& id : e.bridging) bridging.push_back(absl::StrCat(id.type, "=", id.value));
      std::printf("  %s  %-7s into %s from %s via %s (event %s)\n",
                  FormatTime(e.time_micros).c_str(), e.kind.c_str(), e.survivor.c_str(),
                  absl::StrJoin(e.absorbed, ",").c_str(), absl::StrJoin(bridging, ", ").c_str(),
                  e.message_id.c_str());
    }
    return 0;
  });
}

}  // namespace cdp::api
