// SubjectRights::Export: everything held about a person as one streamed JSON document.
//
// {"profile_id": "...", "exported_at_micros": n, "former_profile_ids": [...],
//  "identifiers": [{"type","value","first_seen_micros"}...],
//  "traits": {"name": {"value": <json>, "set_at_micros": n, "source": "messageId"}...},
//  "computed": {"first_seen_micros","last_seen_micros","total_events","events":{...},
//               "channels":[...],"groups":[...]},
//  "consent": [{"purpose","granted","effective_micros","source","notice_version"}...],
//  "merge_log": [{"kind","time_micros","message_id","survivor","absorbed","split_into"}...],
//  "conversations": [{"conversation_id","channel","state":{"key":"value"...},"created_micros",
//                     "updated_micros","expires_micros","closed","closed_micros"}...],
//  "events": [{"message_id","time_micros","type","name","channel","stored_for":[...],
//              "event": <the event as received>}...],
//  "audit": [{"seq","time_micros","actor","act","reason","outcome"}...]}

#include "absl/strings/str_cat.h"
#include "common/json_text.h"
#include "common/status_macros.h"
#include "identity/event_envelope.h"
#include "ingest/conversation_store.h"
#include "ingest/event_json.h"
#include "ingest/ingest.pb.h"
#include "ingest/parsed_event.h"
#include "ingest/profile_data.h"
#include "rights/subject_rights.h"
#include "storage/key_codec.h"

namespace cdp::rights {

using storage::Family;

namespace {

constexpr size_t kChunkBytes = 64 << 10;

// Buffers output and hands it to the sink in chunks of about kChunkBytes.
class ChunkWriter {
 public:
  explicit ChunkWriter(const ExportSink& sink) : sink_(sink) {}
  std::string& out() { return buffer_; }
  absl::Status MaybeFlush() { return buffer_.size() >= kChunkBytes ? Flush() : absl::OkStatus(); }
  absl::Status Flush() {
    if (buffer_.empty()) return absl::OkStatus();
    absl::Status s = sink_(buffer_);
    buffer_.clear();
    return s;
  }

 private:
  const ExportSink& sink_;
  std::string buffer_;
};

void Str(absl::string_view s, std::string* out) { AppendJsonString(s, out); }

// A stored JSON text is written as is when present, else as null.
void RawJson(absl::string_view json, std::string* out) {
  absl::StrAppend(out, json.empty() ? absl::string_view("null") : json);
}

}  // namespace

absl::Status SubjectRights::ExportByIdentifier(const identity::Identifier& id,
                                               const Requester& who, const ExportSink& sink) {
  CDP_ASSIGN_OR_RETURN(std::optional<ProfileId> profile, identity_->FindProfile(id));
  if (!profile) {
    CDP_RETURN_IF_ERROR(Audit(who, "export", "", "not_found", ""));
    return absl::NotFoundError("no profile holds that identifier");
  }
  return Export(*profile, who, sink);
}

absl::Status SubjectRights::Export(const ProfileId& profile, const Requester& who,
                                   const ExportSink& sink) {
  CDP_ASSIGN_OR_RETURN(std::optional<identity::ProfileIdentity> person,
                       identity_->GetIdentity(profile));
  if (!person) {
    CDP_RETURN_IF_ERROR(Audit(who, "export", profile.ToHex(), "not_found", ""));
    return absl::NotFoundError(absl::StrCat("no profile ", profile.ToHex()));
  }
  const ProfileId id = person->profile;
  // The audit entry comes first so the export itself shows in the document.
  CDP_RETURN_IF_ERROR(Audit(who, "export", id.ToHex(), "ok", ""));
  std::unique_ptr<storage::Snapshot> snapshot = store_->GetSnapshot();
  ChunkWriter w(sink);
  std::string& o = w.out();

  absl::StrAppend(&o, "{\"profile_id\":\"", id.ToHex(), "\",\"exported_at_micros\":",
                  store_->clock().NowMicros(), ",\"former_profile_ids\":[");
  for (size_t i = 0; i < person->merged_from.size(); ++i) {
    absl::StrAppend(&o, i ? "," : "", "\"", person->merged_from[i].ToHex(), "\"");
  }
  o += "],\"identifiers\":[";
  for (size_t i = 0; i < person->identifiers.size(); ++i) {
    o += i ? ",{\"type\":" : "{\"type\":";
    Str(person->identifiers[i].type, &o);
    o += ",\"value\":";
    Str(person->identifiers[i].value, &o);
    o += "}";
  }

  CDP_ASSIGN_OR_RETURN(std::optional<storage::Record> data_record,
                       store_->Get(Family::kProfiles, ingest::ProfileDataKey(id), snapshot.get()));
  ingest::pb::ProfileData data;
  if (data_record && !data.ParseFromString(data_record->value)) {
    return absl::DataLossError("profile data is not a valid record");
  }
  o += "],\"traits\":{";
  bool first = true;
  for (const auto& [name, value] : data.traits()) {
    o += first ? "" : ",";
    first = false;
    Str(name, &o);
    o += ":{\"value\":";
    RawJson(value.json(), &o);
    absl::StrAppend(&o, ",\"set_at_micros\":", value.set_micros(), ",\"source\":");
    Str(value.source(), &o);
    o += "}";
  }
  absl::StrAppend(&o, "},\"computed\":{\"first_seen_micros\":", data.first_seen_micros(),
                  ",\"last_seen_micros\":", data.last_seen_micros(),
                  ",\"total_events\":", data.total_events(), ",\"events\":{");
  first = true;
  for (const auto& [name, stats] : data.events()) {
    o += first ? "" : ",";
    first = false;
    Str(name, &o);
    absl::StrAppend(&o, ":{\"count\":", stats.count(), ",\"last_micros\":", stats.last_micros(),
                    "}");
  }
  o += "},\"channels\":[";
  for (int i = 0; i < data.channels_size(); ++i) {
    o += i ? "," : "";
    Str(data.channels(i), &o);
  }
  o += "],\"groups\":[";
  for (int i = 0; i < data.groups_size(); ++i) {
    o += i ? "," : "";
    Str(data.groups(i), &o);
  }

  CDP_ASSIGN_OR_RETURN(std::vector<consent::ConsentChange> ledger,
                       consent_->History(id, snapshot.get()));
  o += "]},\"consent\":[";
  for (size_t i = 0; i < ledger.size(); ++i) {
    const consent::ConsentChange& c = ledger[i];
    o += i ? ",{\"purpose\":" : "{\"purpose\":";
    Str(c.purpose, &o);
    absl::StrAppend(&o, ",\"granted\":", c.granted ? "true" : "false",
                    ",\"effective_micros\":", c.effective_micros, ",\"source\":");
    Str(c.source.detail, &o);
    o += ",\"notice_version\":";
    Str(c.notice_version, &o);
    absl::StrAppend(&o, ",\"conflict\":", c.conflict ? "true" : "false", "}");
  }

  CDP_ASSIGN_OR_RETURN(std::vector<identity::MergeRecord> merges, identity_->MergeHistory(id));
  o += "],\"merge_log\":[";
  for (size_t i = 0; i < merges.size(); ++i) {
    const identity::MergeRecord& m = merges[i];
    absl::StrAppend(&o, i ? "," : "", "{\"kind\":\"",
                    m.kind == identity::MergeRecord::Kind::kMerge ? "merge" : "unmerge",
                    "\",\"time_micros\":", m.time_micros, ",\"message_id\":");
    Str(m.message_id, &o);
    absl::StrAppend(&o, ",\"survivor\":\"", m.survivor.ToHex(), "\",\"absorbed\":[");
    for (size_t k = 0; k < m.absorbed.size(); ++k) {
      absl::StrAppend(&o, k ? "," : "", "\"", m.absorbed[k].ToHex(), "\"");
    }
    o += "],\"split_into\":[";
    for (size_t k = 0; k < m.split_into.size(); ++k) {
      absl::StrAppend(&o, k ? "," : "", "\"", m.split_into[k].ToHex(), "\"");
    }
    o += "]}";
  }

  // Closed conversations too, and expired ones not yet reclaimed: everything still held.
  ingest::ConversationStore conversation_store(store_, identity_);
  CDP_ASSIGN_OR_RETURN(std::vector<ingest::ConversationView> conversations,
                       conversation_store.ListAll(id, snapshot.get()));
  o += "],\"conversations\":[";
  for (size_t i = 0; i < conversations.size(); ++i) {
    const ingest::ConversationView& c = conversations[i];
    o += i ? ",{\"conversation_id\":" : "{\"conversation_id\":";
    Str(c.conversation_id, &o);
    o += ",\"channel\":";
    Str(c.channel, &o);
    o += ",\"state\":{";
    bool first_key = true;
    for (const auto& [key, value] : c.state) {
      o += first_key ? "" : ",";
      first_key = false;
      Str(key, &o);
      o += ":";
      Str(value, &o);
    }
    absl::StrAppend(&o, "},\"created_micros\":", c.created_micros,
                    ",\"updated_micros\":", c.updated_micros,
                    ",\"expires_micros\":", c.expires_micros,
                    ",\"closed\":", c.closed ? "true" : "false",
                    ",\"closed_micros\":", c.closed_micros, "}");
  }

  o += "],\"events\":[";
  absl::Status status;
  bool first_event = true;
  std::string json;
  CDP_RETURN_IF_ERROR(store_->Scan(
      Family::kEvents, storage::ProfileKey(id), {.snapshot = snapshot.get()},
      [&](absl::string_view, storage::Record stored) {
        absl::StatusOr<identity::StoredEvent> event = identity::DecodeEvent(stored.value);
        ingest::pb::EventBody body;
        if (!event.ok() || !body.ParseFromString(event->body)) {
          status = absl::DataLossError("stored event is not a valid record");
          return false;
        }
        o += first_event ? "{\"message_id\":" : ",{\"message_id\":";
        first_event = false;
        Str(event->message_id, &o);
        absl::StrAppend(&o, ",\"time_micros\":", stored.meta.time_micros, ",\"type\":\"",
                        ingest::EventTypeName(static_cast<ingest::EventType>(body.type())),
                        "\",\"name\":");
        Str(body.name(), &o);
        o += ",\"channel\":";
        Str(body.channel(), &o);
        o += ",\"stored_for\":[";
        for (int k = 0; k < body.purposes_size(); ++k) {
          o += k ? "," : "";
          Str(body.purposes(k), &o);
        }
        o += "],\"event\":";
        status = ingest::StoredEventJson(store_->codec(), body, &json);
        if (!status.ok()) return false;
        RawJson(json, &o);
        o += "}";
        status = w.MaybeFlush();
        return status.ok();
      }));
  CDP_RETURN_IF_ERROR(status);

  CDP_ASSIGN_OR_RETURN(std::vector<consent::AuditEntry> audit,
                       audit_->List({.target = id.ToHex()}));
  o += "],\"audit\":[";
  for (size_t i = 0; i < audit.size(); ++i) {
    const consent::AuditEntry& a = audit[i];
    absl::StrAppend(&o, i ? "," : "", "{\"seq\":", a.seq, ",\"time_micros\":", a.time_micros,
                    ",\"actor\":");
    Str(a.actor, &o);
    o += ",\"act\":";
    Str(a.act, &o);
    o += ",\"reason\":";
    Str(a.reason, &o);
    o += ",\"outcome\":";
    Str(a.outcome, &o);
    o += "}";
  }
  o += "]}\n";
  return w.Flush();
}

}  // namespace cdp::rights
