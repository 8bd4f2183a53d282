#include "tools/person_commands.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "ingest/csv_parser.h"
#include "ingest/dead_letter.h"
#include "ingest/segment_parser.h"
#include "tools/local_stack.h"
#include "tools/sample_feed.h"

namespace cdp::tools {
namespace {

constexpr size_t kRecordsPerCall = 2000;

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "cdp: %s\n", status.ToString().c_str());
  return 1;
}

std::string FormatTime(int64_t micros) {
  if (micros == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  std::stringstream buffer;
  if (path == "-") {
    buffer << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
    buffer << in.rdbuf();
  }
  return buffer.str();
}

// Applies parsed records in calls of kRecordsPerCall events, adding up the summaries.
absl::StatusOr<ingest::IngestSummary> ApplyInCalls(ingest::Pipeline& pipeline,
                                                   ingest::ParseOutput parsed) {
  ingest::IngestSummary total;
  size_t start = 0;
  do {
    ingest::ParseOutput chunk;
    const size_t end = std::min(parsed.events.size(), start + kRecordsPerCall);
    for (size_t i = start; i < end; ++i) {
      chunk.events.push_back(std::move(parsed.events[i]));
      chunk.event_positions.push_back(parsed.event_positions[i]);
    }
    if (start == 0) chunk.rejections = std::move(parsed.rejections);
    auto summary = pipeline.Apply(std::move(chunk));
    if (!summary.ok()) return summary.status();
    total.accepted += summary->accepted;
    total.duplicate += summary->duplicate;
    total.rejected += summary->rejected;
    total.suppressed += summary->suppressed;
    total.filtered += summary->filtered;
    for (auto& r : summary->rejections) total.rejections.push_back(std::move(r));
    for (auto& [k, v] : summary->identifier_rejections) total.identifier_rejections[k] += v;
    for (auto& [k, v] : summary->unknown_consent_categories) {
      total.unknown_consent_categories[k] += v;
    }
    start = end;
  } while (start < parsed.events.size());
  return total;
}

void PrintSummary(const std::string& source, const ingest::IngestSummary& s) {
  std::printf("%s: %llu accepted, %llu duplicate, %llu rejected, %llu suppressed, %llu filtered\n",
              source.c_str(), static_cast<unsigned long long>(s.accepted),
              static_cast<unsigned long long>(s.duplicate),
              static_cast<unsigned long long>(s.rejected),
              static_cast<unsigned long long>(s.suppressed),
              static_cast<unsigned long long>(s.filtered));
  for (const auto& [kind, n] : s.identifier_rejections) {
    std::printf("  identifier values not used: %s x%llu\n", kind.c_str(),
                static_cast<unsigned long long>(n));
  }
  for (const auto& [category, n] : s.unknown_consent_categories) {
    std::printf("  unknown consent category \"%s\" x%llu\n", category.c_str(),
                static_cast<unsigned long long>(n));
  }
}

absl::StatusOr<ingest::IngestSummary> IngestText(LocalStack& stack, const std::string& text,
                                                 const std::string& source,
                                                 const std::string& mapping_path) {
  ingest::ParserOptions options;
  ingest::ParseOutput parsed;
  if (!mapping_path.empty()) {
    auto mapping_text = ReadInput(mapping_path);
    if (!mapping_text.ok()) return mapping_text.status();
    auto mapping = ingest::ParseCsvMapping(*mapping_text);
    if (!mapping.ok()) return mapping.status();
    auto parser = ingest::CsvParser::Create(*std::move(mapping), options);
    if (!parser.ok()) return parser.status();
    auto out = (*parser)->Parse(text, source);
    if (!out.ok()) return out.status();
    parsed = *std::move(out);
  } else {
    auto parser = ingest::SegmentParser::Create(options);
    if (!parser.ok()) return parser.status();
    const size_t first = text.find_first_not_of(" \t\r\n");
    const bool envelope = first != std::string::npos && text[first] == '{' &&
                          text.find("\"batch\"") != std::string::npos &&
                          text.find('\n', first) == std::string::npos;
    if (envelope) {
      auto out = (*parser)->ParseBatchEnvelope(text, source);
      if (!out.ok()) return out.status();
      parsed = *std::move(out);
    } else {
      parsed = (*parser)->ParseNdjson(text, source);
    }
  }
  return ApplyInCalls(*stack.pipeline, std::move(parsed));
}

void PrintContext(const ingest::PersonContext& c, const std::string& purpose) {
  std::printf("Profile %s (purpose: %s)\n", c.profile.ToHex().c_str(), purpose.c_str());
  std::printf("Consent:");
  for (const auto& p : c.consent.purposes) {
    std::printf(" %s=%s%s", p.purpose.c_str(), p.allowed ? "yes" : "no",
                p.explicit_answer ? "" : "(default)");
  }
  std::printf("\n");
  if (!c.purpose_allowed) {
    std::printf("The person has not allowed \"%s\": no personal data returned.\n",
                purpose.c_str());
    return;
  }
  if (!c.identifiers.empty()) {
    std::printf("Identifiers:\n");
    for (const auto& id : c.identifiers) {
      std::printf("  %-14s %s\n", id.type.c_str(), id.value.c_str());
    }
  }
  if (!c.traits.empty()) {
    std::printf("Traits:\n");
    for (const auto& t : c.traits) {
      std::printf("  %-14s %-28s set %s by %s\n", t.name.c_str(), t.json.c_str(),
                  FormatTime(t.set_micros).c_str(), t.source.c_str());
    }
  }
  std::printf("Seen: first %s, last %s, %llu events, channels: %s\n",
              FormatTime(c.first_seen_micros).c_str(), FormatTime(c.last_seen_micros).c_str(),
              static_cast<unsigned long long>(c.total_events),
              absl::StrJoin(c.channels, ", ").c_str());
  if (!c.recent_events.empty()) {
    std::printf("Last events, newest first:\n");
    for (const auto& e : c.recent_events) {
      std::printf("  %s  %-8s %-18s %s\n", FormatTime(e.time_micros).c_str(), e.type.c_str(),
                  e.name.c_str(), e.channel.c_str());
    }
  }
}

// "type=value" normalized as an identifier, or a profile id.
absl::StatusOr<std::variant<identity::Identifier, ProfileId>> ParseWho(LocalStack& stack,
                                                                       const std::string& who) {
  const size_t eq = who.find('=');
  if (eq == std::string::npos) {
    auto profile = ProfileId::FromHex(who);
    if (!profile.ok()) {
      return absl::InvalidArgumentError(
          "expected type=value (email=ann@example.com) or a 32-hex-digit profile id");
    }
    return *profile;
  }
  auto id = identity::ToStatusOr(
      stack.normalizer->Normalize(who.substr(0, eq), who.substr(eq + 1)));
  if (!id.ok()) return id.status();
  return *id;
}

absl::StatusOr<std::optional<ingest::PersonContext>> Lookup(LocalStack& stack,
                                                            const std::string& who,
                                                            const ingest::ContextRequest& request) {
  auto target = ParseWho(stack, who);
  if (!target.ok()) return target.status();
  if (auto* profile = std::get_if<ProfileId>(&*target)) {
    return stack.reader->ByProfile(*profile, request);
  }
  return stack.reader->ByIdentifier(std::get<identity::Identifier>(*target), request);
}

}  // namespace

int RunIngest(const std::string& data_dir, const std::vector<std::string>& files,
              const std::string& mapping_path) {
  auto stack = LocalStack::Open(data_dir, /*create=*/true);
  if (!stack.ok()) return Fail(stack.status());
  int exit_code = 0;
  for (const std::string& file : files) {
    auto text = ReadInput(file);
    if (!text.ok()) return Fail(text.status());
    auto summary = IngestText(**stack, *text, file, mapping_path);
    if (!summary.ok()) return Fail(summary.status());
    PrintSummary(file, *summary);
    if (!summary->rejections.empty() && file != "-") {
      const std::string path = ingest::DeadLetterPath(file);
      if (auto s = ingest::WriteDeadLetters(path, summary->rejections); !s.ok()) return Fail(s);
      std::printf("  rejected records with their reasons: %s\n", path.c_str());
      exit_code = 2;  // some records were rejected; everything else was applied
    }
  }
  return exit_code;
}

int RunLookup(const std::string& data_dir, const std::string& who, const std::string& purpose,
              size_t max_events) {
  auto stack = LocalStack::Open(data_dir, /*create=*/false);
  if (!stack.ok()) return Fail(stack.status());
  auto context = Lookup(**stack, who, {.purpose = purpose, .max_events = max_events});
  if (!context.ok()) return Fail(context.status());
  if (!context->has_value()) {
    std::fprintf(stderr, "cdp: no profile holds that identifier\n");
    return 3;
  }
  PrintContext(**context, purpose);
  return 0;
}

int RunExport(const std::string& data_dir, const std::string& who, const std::string& actor,
              const std::string& reason) {
  auto stack = LocalStack::Open(data_dir, /*create=*/false);
  if (!stack.ok()) return Fail(stack.status());
  auto target = ParseWho(**stack, who);
  if (!target.ok()) return Fail(target.status());
  rights::ExportSink sink = [](absl::string_view chunk) {
    return std::fwrite(chunk.data(), 1, chunk.size(), stdout) == chunk.size()
               ? absl::OkStatus()
               : absl::UnavailableError("cannot write the export to stdout");
  };
  const rights::Requester requester{.actor = actor, .reason = reason};
  absl::Status s = std::holds_alternative<ProfileId>(*target)
                       ? (*stack)->rights->Export(std::get<ProfileId>(*target), requester, sink)
                       : (*stack)->rights->ExportByIdentifier(
                             std::get<identity::Identifier>(*target), requester, sink);
  return s.ok() ? 0 : Fail(s);
}

int RunErase(const std::string& data_dir, const std::string& who, const std::string& actor,
             const std::string& reason) {
  auto stack = LocalStack::Open(data_dir, /*create=*/false);
  if (!stack.ok()) return Fail(stack.status());
  auto target = ParseWho(**stack, who);
  if (!target.ok()) return Fail(target.status());
  const rights::Requester requester{.actor = actor, .reason = reason};
  auto receipt = std::holds_alternative<ProfileId>(*target)
                     ? (*stack)->rights->Erase(std::get<ProfileId>(*target), requester)
                     : (*stack)->rights->EraseByIdentifier(
                           std::get<identity::Identifier>(*target), requester);
  if (!receipt.ok()) return Fail(receipt.status());
  std::printf(
      "Erased profile %s (erase id %s): data key destroyed; %llu identifiers suppressed, %llu "
      "events, %llu consent entries, %llu merge log entries, %llu conversations, %llu merged "
      "profiles removed.\n",
      receipt->profile.ToHex().c_str(), receipt->erase_id.c_str(),
      static_cast<unsigned long long>(receipt->identifiers),
      static_cast<unsigned long long>(receipt->events),
      static_cast<unsigned long long>(receipt->consent_entries),
      static_cast<unsigned long long>(receipt->merge_entries),
      static_cast<unsigned long long>(receipt->conversations),
      static_cast<unsigned long long>(receipt->merged_profiles));
  return 0;
}

int RunUnsuppress(const std::string& data_dir, const std::string& who, const std::string& actor,
                  const std::string& reason) {
  auto stack = LocalStack::Open(data_dir, /*create=*/false);
  if (!stack.ok()) return Fail(stack.status());
  auto target = ParseWho(**stack, who);
  if (!target.ok()) return Fail(target.status());
  if (!std::holds_alternative<identity::Identifier>(*target)) {
    return Fail(absl::InvalidArgumentError("unsuppress takes type=value"));
  }
  absl::Status s = (*stack)->rights->Unsuppress(std::get<identity::Identifier>(*target),
                                                {.actor = actor, .reason = reason});
  if (!s.ok()) return Fail(s);
  std::printf("Unsuppressed: new records naming that identifier will be accepted again.\n");
  return 0;
}

int RunAuditVerify(const std::string& data_dir) {
  auto stack = LocalStack::Open(data_dir, /*create=*/false);
  if (!stack.ok()) return Fail(stack.status());
  auto report = (*stack)->audit->Verify();
  if (!report.ok()) return Fail(report.status());
  if (report->ok()) {
    std::printf("Audit chain verified: %llu entries.\n",
                static_cast<unsigned long long>(report->entries));
    return 0;
  }
  std::printf("Audit chain BROKEN at entry %llu: %s\n",
              static_cast<unsigned long long>(*report->first_broken), report->problem.c_str());
  return 4;
}

int RunUnmerge(const std::string& data_dir, const std::string& profile_hex,
               const std::string& identifier, const std::string& actor,
               const std::string& reason) {
  auto stack = LocalStack::Open(data_dir, /*create=*/false);
  if (!stack.ok()) return Fail(stack.status());
  auto profile = ProfileId::FromHex(profile_hex);
  if (!profile.ok()) return Fail(profile.status());
  auto target = ParseWho(**stack, identifier);
  if (!target.ok()) return Fail(target.status());
  if (!std::holds_alternative<identity::Identifier>(*target)) {
    return Fail(absl::InvalidArgumentError("the identifier to remove must be type=value"));
  }
  LocalStack& s = **stack;
  absl::MutexLock lock(&s.store->profile_writer_mutex());
  storage::WriteBatch batch = s.store->NewBatch();
  auto report = s.identity->Unmerge(*profile, std::get<identity::Identifier>(*target), actor,
                                    reason, batch);
  // A failed unmerge may have left partial writes in the batch: only the audit entry is written.
  if (!report.ok()) batch = s.store->NewBatch();
  const std::string outcome = report.ok() ? "ok" : absl::StatusCodeToString(report.status().code());
  std::string detail;
  if (report.ok()) {
    for (const auto& part : report->parts) absl::StrAppend(&detail, part.profile.ToHex(), " ");
  }
  auto entry = s.audit->Append(batch, {.actor = actor,
                                       .act = "unmerge",
                                       .target = profile->ToHex(),
                                       .reason = reason,
                                       .outcome = outcome,
                                       .detail = detail});
  if (!entry.ok()) return Fail(entry.status());
  if (auto written = s.store->Write(batch); !written.ok()) return Fail(written);
  if (!report.ok()) return Fail(report.status());
  std::printf("Profile %s split into %zu profiles:\n", profile->ToHex().c_str(),
              report->parts.size());
  for (const auto& part : report->parts) {
    std::printf("  %s  %u identifiers, %llu events\n", part.profile.ToHex().c_str(),
                part.identifiers, static_cast<unsigned long long>(part.events));
  }
  return 0;
}

int RunRotateKeys(const std::string& data_dir, const std::string& actor) {
  auto stack = LocalStack::Open(data_dir, /*create=*/false);
  if (!stack.ok()) return Fail(stack.status());
  auto report = (*stack)->store->RotateKeys();
  auto entry = (*stack)->audit->Append(
      {.actor = actor,
       .act = "keys.rotate",
       .outcome = report.ok() ? "ok" : absl::StatusCodeToString(report.status().code()),
       .detail = report.ok() ? absl::StrCat("kek_version=", report->new_version,
                                            " rewrapped=", report->rewrapped)
                             : ""});
  if (!report.ok()) return Fail(report.status());
  if (!entry.ok()) return Fail(entry.status());
  std::printf("Key-encryption key version %u is now active; %llu data keys rewrapped\n",
              report->new_version, static_cast<unsigned long long>(report->rewrapped));
  return 0;
}

int RunDemo(const std::string& data_dir) {
  auto stack = LocalStack::Open(data_dir, /*create=*/true);
  if (!stack.ok()) return Fail(stack.status());
  std::printf("Store at %s: records sealed with AES-256-GCM under one data key per person.\n",
              data_dir.c_str());
  auto summary = IngestText(**stack, std::string(kSampleFeed), "sample feed", "");
  if (!summary.ok()) return Fail(summary.status());
  PrintSummary("Sample feed", *summary);
  std::sort(summary->rejections.begin(), summary->rejections.end(),
            [](const auto& a, const auto& b) { return a.position < b.position; });
  for (const auto& r : summary->rejections) {
    std::printf("  rejected at line %llu: %s\n", static_cast<unsigned long long>(r.position),
                r.reason.c_str());
  }
  std::printf("\nAda's web visit, email capture, app login and phone call, as one person:\n\n");
  auto context = Lookup(**stack, "email=ada.lovelace@example.com",
                        {.purpose = "support", .max_events = 10});
  if (!context.ok()) return Fail(context.status());
  if (!context->has_value()) {
    std::printf("Ada is not in the store any more (erased?): her records above were counted as "
                "suppressed.\n");
    return 0;
  }
  PrintContext(**context, "support");
  std::printf(
      "\nTry (each command opens the store itself, so run one at a time):\n"
      "  build/bin/cdp lookup email=ada.lovelace@example.com --purpose support\n"
      "  build/bin/cdp lookup email=grace@example.com --purpose marketing   # consent denied\n"
      "  build/bin/cdp ingest my-feed.ndjson\n"
      "Run `make run` again: the sample is re-sent and counted as duplicates.\n");
  return 0;
}

}  // namespace cdp::tools
