// Context and consent calls: getContext, getContexts, setConsent, getConsent.

#include <algorithm>
#include <variant>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/service_internal.h"
#include "common/crypto.h"
#include "common/status_macros.h"

namespace cdp::api {

namespace {

constexpr size_t kMaxEventsPerLookup = 1000;
constexpr size_t kMaxPeoplePerBatch = 1000;
// Events a getContexts call may ask for in all (people x max_events): ~1 KB each in the answer,
// so the answer stays within ~20 MB. Without it, 1000 people x 1000 events could make one call
// build an answer of ~1 GB.
constexpr size_t kMaxEventsPerBatch = 20000;

absl::StatusOr<ingest::ContextRequest> ToRequest(const std::string& purpose, bool has_max,
                                                 int32_t max_events, bool has_name,
                                                 const std::string& event_name) {
  if (purpose.empty()) return absl::InvalidArgumentError("purpose: required");
  ingest::ContextRequest request{.purpose = purpose};
  if (has_max) {
    if (max_events < 0 || static_cast<size_t>(max_events) > kMaxEventsPerLookup) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_events: must be in 0..", kMaxEventsPerLookup));
    }
    request.max_events = static_cast<size_t>(max_events);
  }
  if (has_name) request.event_name = event_name;
  return request;
}

}  // namespace

t::IdentifierView ToThrift(const identity::Identifier& id, Role role) {
  t::IdentifierView view;
  view.type = id.type;
  view.masked = !SeesIdentifiers(role);
  view.value = view.masked ? identity::MaskIdentifierValue(id.type, id.value) : id.value;
  return view;
}

void ToThrift(const consent::ConsentState& state, std::vector<t::PurposeState>* out) {
  out->clear();
  out->reserve(state.purposes.size());
  for (const consent::PurposeState& p : state.purposes) {
    t::PurposeState& s = out->emplace_back();
    s.purpose = p.purpose;
    s.basis = consent::LegalBasisName(p.basis);
    s.allowed = p.allowed;
    s.explicit_answer = p.explicit_answer;
    s.since_micros = p.since_micros;
  }
}

void ConnectionHandler::FillContext(t::Context& out, ingest::PersonContext&& c, Role role) {
  out.profile_id = c.profile.ToHex();
  out.purpose_allowed = c.purpose_allowed;
  out.identifiers.reserve(c.identifiers.size());
  for (const auto& id : c.identifiers) out.identifiers.push_back(ToThrift(id, role));
  out.traits.reserve(c.traits.size());
  for (auto& trait : c.traits) {
    t::Trait& t = out.traits.emplace_back();
    t.name = std::move(trait.name);
    t.json = std::move(trait.json);
    t.set_micros = trait.set_micros;
    t.source = std::move(trait.source);
  }
  out.first_seen_micros = c.first_seen_micros;
  out.last_seen_micros = c.last_seen_micros;
  out.total_events = static_cast<int64_t>(c.total_events);
  out.event_counts.reserve(c.event_counts.size());
  for (const auto& count : c.event_counts) {
    t::EventCount& e = out.event_counts.emplace_back();
    e.event = count.event;
    e.count = static_cast<int64_t>(count.count);
    e.last_micros = count.last_micros;
  }
  out.channels = std::move(c.channels);
  out.groups = std::move(c.groups);
  out.recent_events.reserve(c.recent_events.size());
  for (auto& event : c.recent_events) {
    t::Event& e = out.recent_events.emplace_back();
    e.message_id = std::move(event.message_id);
    e.type = std::move(event.type);
    e.name = std::move(event.name);
    e.time_micros = event.time_micros;
    e.channel = std::move(event.channel);
    e.json = std::move(event.json);
  }
  ToThrift(c.consent, &out.consent);
  out.conversations.reserve(c.conversations.size());
  for (const auto& conversation : c.conversations) {
    t::Conversation& v = out.conversations.emplace_back();
    ConversationToThrift(conversation, &v);
  }
}

absl::StatusOr<std::optional<ingest::PersonContext>> ConnectionHandler::Read(
    const t::PersonRef& person, const ingest::ContextRequest& request, PersonKey* key) {
  auto parsed = ParsePerson(person);
  if (!parsed.ok()) return parsed.status();
  *key = *std::move(parsed);
  ingest::ContextReader& reader = *core_->stack().reader;
  return std::holds_alternative<ProfileId>(*key)
             ? reader.ByProfile(std::get<ProfileId>(*key), request)
             : reader.ByIdentifier(std::get<identity::Identifier>(*key), request);
}

absl::Status ConnectionHandler::AuditLookup(const PersonKey& key, const t::Context* found,
                                            const ingest::ContextRequest& request,
                                            const Caller& caller) {
  if (caller.role != Role::kCompliance) return absl::OkStatus();
  // What the compliance role reads about a person is on the record, and so is a miss.
  std::string target;
  if (found != nullptr) {
    target = found->profile_id;
  } else if (std::holds_alternative<ProfileId>(key)) {
    target = std::get<ProfileId>(key).ToHex();
  }
  return core_->stack()
      .audit
      ->Append({.actor = caller.name,
                .act = "context.lookup",
                .target = std::move(target),
                .reason = request.purpose,
                .outcome = found != nullptr ? "ok" : "not_found"})
      .status();
}

void ConnectionHandler::getContext(t::GetContextResponse& out,
                                   const t::GetContextRequest& request) {
  Run(CallId::kGetContext, request.token, kCxRole | kComplianceRole, Admission::Kind::kRead,
      [&](const Caller& caller) -> absl::Status {
        auto context_request =
            ToRequest(request.purpose, request.__isset.max_events, request.max_events,
                      request.__isset.event_name, request.event_name);
        if (!context_request.ok()) return context_request.status();
        context_request->mask_identifiers = !SeesIdentifiers(caller.role);
        PersonKey key;
        auto context = Read(request.person, *context_request, &key);
        if (!context.ok()) return context.status();
        out.found = context->has_value();
        if (out.found) {
          FillContext(out.context, std::move(**context), caller.role);
          out.__isset.context = true;
        }
        return AuditLookup(key, out.found ? &out.context : nullptr, *context_request, caller);
      });
}

void ConnectionHandler::getContexts(t::GetContextsResponse& out,
                                    const t::GetContextsRequest& request) {
  Run(CallId::kGetContexts, request.token, kCxRole | kComplianceRole, Admission::Kind::kRead,
      [&](const Caller& caller) -> absl::Status {
        if (request.people.size() > kMaxPeoplePerBatch) {
          return absl::InvalidArgumentError(
              absl::StrCat("people: at most ", kMaxPeoplePerBatch, " per call"));
        }
        auto context_request =
            ToRequest(request.purpose, request.__isset.max_events, request.max_events,
                      request.__isset.event_name, request.event_name);
        if (!context_request.ok()) return context_request.status();
        if (request.people.size() * context_request->max_events > kMaxEventsPerBatch) {
          return absl::InvalidArgumentError(absl::StrCat(
              "people x max_events: at most ", kMaxEventsPerBatch, " events per call (",
              request.people.size(), " people x ", context_request->max_events,
              "); ask for fewer events or split the batch"));
        }
        context_request->mask_identifiers = !SeesIdentifiers(caller.role);
        // The lookups are independent reads: they run on this thread and the core's lookup
        // pool at once, each filling its own result. Storage trouble in any fails the whole
        // call (the first by position is reported); audit entries follow the request's order.
        const size_t n = request.people.size();
        out.results.resize(n);
        std::vector<PersonKey> keys(n);
        std::vector<absl::Status> failed(n);
        auto lookup = [&](size_t i) {
          t::ContextResult& result = out.results[i];
          auto context = Read(request.people[i], *context_request, &keys[i]);
          if (!context.ok()) {
            if (context.status().code() != absl::StatusCode::kInvalidArgument) {
              failed[i] = context.status();
              return;
            }
            result.__set_error_code(t::ErrorCode::INVALID_ARGUMENT);
            result.__set_error_message(
                absl::StrCat("people[", i, "]: ", context.status().message()));
            return;
          }
          result.found = context->has_value();
          if (result.found) {
            FillContext(result.context, std::move(**context), caller.role);
            result.__isset.context = true;
          }
        };
        core_->lookups().ForEach(n, [&](size_t i) {
          // On a helper thread an exception would end the process: keep it as this entry's
          // failure, which fails the call as INTERNAL like any unexpected exception.
          try {
            lookup(i);
          } catch (const std::exception& e) {
            failed[i] = absl::InternalError(absl::StrCat("getContexts: exception: ", e.what()));
          }
        });
        for (const absl::Status& status : failed) {
          if (!status.ok()) return status;
        }
        for (size_t i = 0; i < n; ++i) {
          const t::ContextResult& result = out.results[i];
          if (result.__isset.error_code) continue;
          CDP_RETURN_IF_ERROR(AuditLookup(keys[i], result.found ? &result.context : nullptr,
                                          *context_request, caller));
        }
        return absl::OkStatus();
      });
}

absl::StatusOr<ProfileId> ConnectionHandler::FindOrCreatePerson(const t::PersonRef& person,
                                                                storage::WriteBatch& batch) {
  // REQUIRES: the profile writer mutex is held.
  if (!person.__isset.identifier || person.__isset.profile_id) return FindPerson(person);
  auto id = Normalize(person.identifier);
  if (!id.ok()) return id.status();
  identity::EventIdentity event{
      .message_id = absl::StrCat("api:", absl::BytesToHexString(crypto::RandomBytes(8))),
      .time_micros = absl::ToUnixMicros(absl::Now()),
      .identifiers = {*id}};
  auto resolved = core_->stack().identity->Resolve({&event, 1}, batch);
  if (!resolved.ok()) return resolved.status();
  const identity::Resolution& r = resolved->front();
  if (r.outcome == identity::Resolution::Outcome::kSuppressed) {
    return absl::FailedPreconditionError(
        "the person was erased; the identifier is suppressed until a compliance officer "
        "unsuppresses it");
  }
  if (r.outcome != identity::Resolution::Outcome::kResolved) {
    return absl::InvalidArgumentError("person.identifier: not usable as an identifier");
  }
  return r.profile;
}

void ConnectionHandler::setConsent(t::SetConsentResponse& out,
                                   const t::SetConsentRequest& request) {
  Run(CallId::kSetConsent, request.token, kIngestRole | kComplianceRole, Admission::Kind::kWrite,
      [&](const Caller& caller) -> absl::Status {
        Stack& stack = core_->stack();
        if (request.purposes.empty()) {
          return absl::InvalidArgumentError("purposes: at least one purpose");
        }
        for (const auto& [purpose, granted] : request.purposes) {
          if (absl::Status s = stack.consent->CheckPurpose(purpose); !s.ok()) return s;
        }
        const int64_t now = absl::ToUnixMicros(absl::Now());
        const int64_t effective = request.__isset.effective_micros ? request.effective_micros : now;
        if (effective > now + int64_t{5} * 60 * 1000000) {
          return absl::InvalidArgumentError("effective_micros: in the future");
        }
        auto subject = SubjectOf(request.person);
        if (!subject.ok()) return subject.status();
        ProfileId profile;
        {
          absl::MutexLock lock(&stack.store->profile_writer_mutex());
          storage::WriteBatch batch = stack.store->NewBatch();
          auto found = FindOrCreatePerson(request.person, batch);
          if (!found.ok()) return found.status();
          profile = *found;
          for (const auto& [purpose, granted] : request.purposes) {
            consent::ConsentChange change{
                .purpose = purpose,
                .granted = granted,
                .effective_micros = effective,
                .source = {.kind = consent::ConsentSource::Kind::kApi, .detail = caller.name},
                .notice_version = request.notice_version,
                .subject = *subject};
            if (absl::Status s = stack.consent->Append(batch, profile, change); !s.ok()) return s;
          }
          std::string detail;
          for (const auto& [purpose, granted] : request.purposes) {
            absl::StrAppend(&detail, purpose, granted ? "=granted " : "=denied ");
          }
          auto entry = stack.audit->Append(batch, {.actor = caller.name,
                                                   .act = "consent.set",
                                                   .target = profile.ToHex(),
                                                   .outcome = "ok",
                                                   .detail = detail});
          if (!entry.ok()) return entry.status();
          if (absl::Status s = stack.store->Write(batch); !s.ok()) return s;
        }
        auto state = stack.consent->State(profile);
        if (!state.ok()) return state.status();
        out.profile_id = profile.ToHex();
        ToThrift(*state, &out.consent);
        return absl::OkStatus();
      });
}

void ConnectionHandler::getConsent(t::GetConsentResponse& out,
                                   const t::GetConsentRequest& request) {
  Run(CallId::kGetConsent, request.token, kCxRole | kComplianceRole, Admission::Kind::kRead,
      [&](const Caller& caller) -> absl::Status {
        auto profile = FindPerson(request.person);
        if (!profile.ok()) return profile.status();
        auto history = core_->stack().consent->History(*profile);
        if (!history.ok()) return history.status();
        out.profile_id = profile->ToHex();
        ToThrift(core_->stack().consent->Derive(*history), &out.consent);
        out.ledger.reserve(history->size());
        for (const consent::ConsentChange& c : *history) {
          t::ConsentChange& e = out.ledger.emplace_back();
          e.purpose = c.purpose;
          e.granted = c.granted;
          e.effective_micros = c.effective_micros;
          e.recorded_micros = c.recorded_micros;
          e.source_kind = consent::ConsentSourceKindName(c.source.kind);
          e.source_detail = c.source.detail;
          e.notice_version = c.notice_version;
          e.conflict = c.conflict;
        }
        return absl::OkStatus();
      });
}

}  // namespace cdp::api
