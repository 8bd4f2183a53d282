// The CDP context service: one request and one response struct per call, one exception.
//
// Rules for changing this file: field ids are never reused or renumbered; a removed field leaves
// a comment "// N: removed (reason)". New fields are optional or have defaults so old clients
// keep working. Every call takes a bearer token in field 1 of its request (the name "token"); it
// may be empty when the connection's TLS client certificate maps to a role. Times are
// microseconds since the Unix epoch (UTC).

namespace cpp cdp.api.thrift
namespace py cdp_thrift

enum ErrorCode {
  INVALID_ARGUMENT = 1,     // the request is malformed; the message names the field
  UNAUTHENTICATED = 2,      // no token, an unknown token, or no mapped client certificate
  PERMISSION_DENIED = 3,    // the caller's role may not make this call
  NOT_FOUND = 4,            // no person holds the identifier / no such profile or conversation
  ALREADY_EXISTS = 5,       // e.g. the person was already erased
  OVERLOADED = 6,           // shed by admission control: retry with backoff
  UNAVAILABLE = 7,          // the server is shutting down or storage refuses writes
  INTERNAL = 8,             // a bug or storage corruption; details are in the server log
  FAILED_PRECONDITION = 9,  // e.g. the export cursor expired
}

// The one exception every call may throw.
exception CdpError {
  1: ErrorCode code,   // what kind of failure
  2: string message,   // human-readable; never contains identifier or trait values
}

// An identifier: a type (user_id, anonymous_id, email, phone, device_id or a configured custom
// type) and its value as sent by the source (normalized by the server).
struct Identifier {
  1: string type,   // identifier type
  2: string value,  // raw value; the server normalizes it (emails lower-cased, phones to E.164)
}

// Names a person: exactly one of the two fields is set.
struct PersonRef {
  1: optional Identifier identifier,  // any identifier the person holds
  2: optional string profile_id,      // 32 hex characters; a merged-away id is followed
}

// ----------------------------------------------------------------------------------------------
// Context

struct GetContextRequest {
  1: string token,                    // bearer token
  2: PersonRef person,                // who
  3: string purpose,                  // required: a configured purpose (e.g. "support")
  4: optional i32 max_events = 20,    // newest events to return, 0..1000
  5: optional string event_name,      // only events of this name (track event or page name)
}

// One trait with where it came from.
struct Trait {
  1: string name,         // trait name
  2: string json,         // value as JSON text
  3: i64 set_micros,      // event time of the update that set it
  4: string source,       // messageId of that event
}

// One identifier of the person as the caller may see it.
struct IdentifierView {
  1: string type,         // identifier type
  2: string value,        // the normalized value, or a masked form (see masked)
  3: bool masked,         // true when the caller's role may not see the value
}

// Counts of one event name.
struct EventCount {
  1: string event,        // track event name, "page:<name>", "screen:<name>", "identify"...
  2: i64 count,           // events seen
  3: i64 last_micros,     // time of the newest
}

// One stored event.
struct Event {
  1: string message_id,   // messageId (given or derived from content)
  2: string type,         // identify, track, page, screen, group, alias
  3: string name,         // track event or page/screen name
  4: i64 time_micros,     // event time
  5: string channel,      // context.channel or the source's channel
  6: string json,         // the whole event as compact JSON
}

// The state of one purpose for the person.
struct PurposeState {
  1: string purpose,          // purpose name
  2: string basis,            // legal basis: consent, contract, legitimate_interest, ...
  3: bool allowed,            // whether data may be used for it now
  4: bool explicit_answer,    // false: the basis default applies (no answer recorded)
  5: i64 since_micros,        // effective time of the deciding change; 0 for a default
}

// Per-person conversation state that survives channel switches (chat -> email -> voice).
struct Conversation {
  1: string conversation_id,          // chosen by the caller
  2: string channel,                  // channel of the latest update
  3: map<string, string> state,       // free-form state
  4: i64 created_micros,              // first put
  5: i64 updated_micros,              // latest put
  6: i64 expires_micros,              // after this it is no longer returned
}

// Everything about one person the caller may see for the purpose.
struct Context {
  1: string profile_id,                  // current profile id (32 hex)
  2: bool purpose_allowed,               // false: only profile_id and consent are filled
  3: list<IdentifierView> identifiers,   // every identifier of the person
  4: list<Trait> traits,                 // current traits
  5: i64 first_seen_micros,              // oldest event
  6: i64 last_seen_micros,               // newest event
  7: i64 total_events,                   // events seen
  8: list<EventCount> event_counts,      // per event name
  9: list<string> channels,              // channels seen
  10: list<string> groups,               // groupIds from group calls
  11: list<Event> recent_events,         // newest first, at most max_events
  12: list<PurposeState> consent,        // every configured purpose
  13: list<Conversation> conversations,  // open, unexpired conversations, newest first
}

struct GetContextResponse {
  1: bool found,                   // false: no person holds the identifier
  2: optional Context context,     // set when found
}

struct GetContextsRequest {
  1: string token,                 // bearer token
  2: list<PersonRef> people,       // at most 1000
  3: string purpose,               // required, as in GetContextRequest
  4: optional i32 max_events = 20, // per person; people x max_events at most 20000
  5: optional string event_name,   // per person
}

// The answer for one person of a batch; a bad reference fails only its own entry.
struct ContextResult {
  1: bool found,                        // as in GetContextResponse
  2: optional Context context,          // set when found
  3: optional ErrorCode error_code,     // set when this entry failed
  4: optional string error_message,     // with error_code
}

struct GetContextsResponse {
  1: list<ContextResult> results,  // one per requested person, same order
}

// ----------------------------------------------------------------------------------------------
// Ingest

enum IngestFormat {
  NDJSON = 1,       // one Segment-spec event per line
  BATCH_JSON = 2,   // {"batch": [...]} envelope
  CSV = 3,          // header row + rows; csv_mapping required
}

struct IngestRequest {
  1: string token,                   // bearer token
  2: IngestFormat format,            // how body is encoded
  3: binary body,                    // the records; at most the server's max batch bytes
  4: optional string csv_mapping,    // JSON column mapping (CSV only)
  5: optional string source,         // name used in positions, e.g. the file name
  6: optional i64 first_line = 1,    // line number of the body's first line (NDJSON, CSV)
}

enum Outcome {
  ACCEPTED = 1,     // stored (synced) before the response
  DUPLICATE = 2,    // messageId seen within the dedup window
  REJECTED = 3,     // invalid; reason says why
  SUPPRESSED = 4,   // names an erased person
  FILTERED = 5,     // no consent for any purpose the event serves
}

struct RecordOutcome {
  1: i64 position,                // line number (NDJSON, CSV) or batch index (BATCH_JSON)
  2: Outcome outcome,             // what happened
  3: optional string reason,      // why (REJECTED, FILTERED); never contains values
  4: optional string message_id,  // messageId, when the record had a usable one
}

struct IngestResponse {
  1: i64 accepted,                 // counts by outcome
  2: i64 duplicate,
  3: i64 rejected,
  4: i64 suppressed,
  5: i64 filtered,
  6: list<RecordOutcome> records,  // one per record, in input order
  // Parts of accepted records that were not kept, counted by kind (never a value):
  // "identifier:<type>/<why>" an identifier value that is not one ("identifier:email/invalid",
  // "identifier:phone/blocked"); "consent_category:<name>" a consent category that maps to no
  // purpose; "profile_limit:traits", "profile_limit:event_names", "profile_limit:groups" names a
  // profile at its limits did not keep. Absent when nothing was left out.
  7: optional map<string, i64> not_kept,
}

// ----------------------------------------------------------------------------------------------
// Consent

struct SetConsentRequest {
  1: string token,                       // bearer token
  2: PersonRef person,                   // who; an unknown identifier creates the person
  3: map<string, bool> purposes,         // purpose -> granted
  4: optional string notice_version,     // version of the notice the person saw
  5: optional i64 effective_micros,      // when the person answered; default now
}

struct SetConsentResponse {
  1: string profile_id,             // the person's profile
  2: list<PurposeState> consent,    // state after the change
}

struct GetConsentRequest {
  1: string token,        // bearer token
  2: PersonRef person,    // who
}

// One entry of the consent ledger.
struct ConsentChange {
  1: string purpose,          // purpose name
  2: bool granted,            // the answer
  3: i64 effective_micros,    // when the answer was given
  4: i64 recorded_micros,     // when the server recorded it
  5: string source_kind,      // api, feed, event or merge
  6: string source_detail,    // actor, "file:line" or messageId
  7: string notice_version,   // notice shown, if known
  8: bool conflict,           // recorded when merging two profiles that disagreed
}

struct GetConsentResponse {
  1: string profile_id,               // the person's profile
  2: list<PurposeState> consent,      // current state
  3: list<ConsentChange> ledger,      // every change, oldest first
}

// ----------------------------------------------------------------------------------------------
// Subject rights (compliance)

struct ExportSubjectRequest {
  1: string token,                 // bearer token
  2: PersonRef person,             // who (first page only)
  3: string reason,                // ticket or justification (first page only), audited
  4: optional string cursor,       // from the previous page; absent for the first page
  5: optional i32 max_bytes = 1048576,  // page size, 64 KiB..4 MiB
}

// One page of the export document (JSON). Concatenating the pages gives the whole document.
struct ExportSubjectResponse {
  1: binary chunk,            // the next bytes of the document
  2: bool done,               // true on the last page
  3: optional string cursor,  // pass to get the next page (when not done); expires after 60 s idle
}

struct EraseSubjectRequest {
  1: string token,         // bearer token
  2: PersonRef person,     // who
  3: string reason,        // ticket or justification, audited
}

struct EraseSubjectResponse {
  1: string erase_id,                // receipt id
  2: string profile_id,              // the erased profile
  3: i64 completed_micros,           // when the erasure committed
  4: map<string, i64> counts,        // records removed per kind
}

struct UnsuppressRequest {
  1: string token,           // bearer token
  2: Identifier identifier,  // to take off the suppression list
  3: string reason,          // audited
}

struct UnsuppressResponse {
}

struct UnmergeRequest {
  1: string token,           // bearer token
  2: string profile_id,      // the profile to split
  3: Identifier identifier,  // the identifier that should not be there
  4: string reason,          // audited
}

// One profile that came out of an unmerge.
struct UnmergePart {
  1: string profile_id,   // profile id (the original first)
  2: i64 identifiers,     // identifiers it holds
  3: i64 events,          // events it holds
}

struct UnmergeResponse {
  1: list<UnmergePart> parts,   // the original profile first
}

struct MergeHistoryRequest {
  1: string token,        // bearer token
  2: PersonRef person,    // who
}

struct MergeEntry {
  1: string kind,                        // merge or unmerge
  2: i64 time_micros,                    // when
  3: string message_id,                  // the event that caused it (merge)
  4: string survivor,                    // profile kept
  5: list<string> absorbed,              // profiles merged into it (or split from it)
  6: list<IdentifierView> bridging,      // identifiers that linked them (masked per role)
}

struct MergeHistoryResponse {
  1: string profile_id,            // current profile id
  2: list<MergeEntry> entries,     // oldest first
}

// ----------------------------------------------------------------------------------------------
// Conversations

struct PutConversationRequest {
  1: string token,                       // bearer token
  2: PersonRef person,                   // who; an unknown identifier creates the person
  3: string conversation_id,             // 1..128 bytes, chosen by the caller
  4: string channel,                     // chat, email, voice...
  5: map<string, string> state,          // keys to set (merged into the existing state)
  6: list<string> remove_keys,           // keys to remove
  7: optional i64 ttl_seconds = 86400,   // expiry from now
}

struct PutConversationResponse {
  1: string profile_id,             // the person's profile
  2: Conversation conversation,     // state after the update
}

struct CloseConversationRequest {
  1: string token,               // bearer token
  2: PersonRef person,           // who
  3: string conversation_id,     // which
}

struct CloseConversationResponse {
}

// ----------------------------------------------------------------------------------------------
// Audit and operations

struct AuditLogRequest {
  1: string token,                  // bearer token
  2: optional i64 from_micros,      // inclusive; default the beginning
  3: optional i64 to_micros,        // exclusive; default now
  4: optional PersonRef subject,    // only entries about this person
  5: optional i32 limit = 1000,     // at most 10000
}

struct AuditEntry {
  1: i64 seq,              // position in the chain, from 1
  2: i64 time_micros,      // when
  3: string actor,         // token name or certificate name
  4: string act,           // erase, export, unsuppress, consent.set, unmerge, keys.rotate...
  5: string target,        // profile id or blind-index hash (hex)
  6: string reason,        // given by the actor
  7: string outcome,       // ok, not_found, denied, error: ...
  8: string detail,        // counts or ids (no personal data)
  9: string hash,          // this entry's hash (hex)
}

struct AuditLogResponse {
  1: list<AuditEntry> entries,   // oldest first
}

struct VerifyAuditRequest {
  1: string token,   // bearer token
}

struct VerifyAuditResponse {
  1: bool ok,                         // the whole chain verifies and ends where the signed head says
  2: i64 entries,                     // entries checked
  3: optional i64 first_broken_seq,   // first entry that does not verify, or the first one missing
                                      // at the end of the chain (newest entries deleted)
  4: optional string problem,         // what is wrong with it
  5: optional i64 head_seq,           // the entry the signed audit head names (absent when there is
                                      // no head or it does not authenticate)
  6: optional string head_hash,       // that entry's hash (hex), with head_seq
  7: list<string> notes,              // how the end of the chain compares with the signed head
}

struct RotateKeysRequest {
  1: string token,    // bearer token
  2: string reason,   // audited
}

struct RotateKeysResponse {
  1: i32 kek_version,        // the new key-encryption key version
  2: i64 keys_rewrapped,     // data keys rewrapped under it
}

struct BackupRequest {
  1: string token,       // bearer token
  2: string directory,   // a directory on the server's host that does not exist yet
}

struct BackupResponse {
  1: string directory,   // where the checkpoint was written
}

struct StatsRequest {
  1: string token,   // bearer token
}

// Counters and latency of one call.
struct CallStats {
  1: string call,       // call name
  2: i64 count,         // calls completed
  3: i64 errors,        // calls that threw CdpError
  4: i64 shed,          // calls refused as OVERLOADED
  5: double p50_us,     // latency percentiles over the server's lifetime, microseconds
  6: double p99_us,
  7: double p999_us,
}

struct StatsResponse {
  1: list<CallStats> calls,           // per call
  2: map<string, i64> counters,       // identity, ingest, storage and server counters
}

struct HealthRequest {
  1: string token,   // not checked: health answers anyone who can connect
}

struct HealthResponse {
  1: string status,        // "serving" or "shutting_down"
  2: string version,       // server version
  3: i64 uptime_seconds,   // since start
}

service CdpService {
  GetContextResponse getContext(1: GetContextRequest request) throws (1: CdpError error),
  GetContextsResponse getContexts(1: GetContextsRequest request) throws (1: CdpError error),
  IngestResponse ingest(1: IngestRequest request) throws (1: CdpError error),
  SetConsentResponse setConsent(1: SetConsentRequest request) throws (1: CdpError error),
  GetConsentResponse getConsent(1: GetConsentRequest request) throws (1: CdpError error),
  ExportSubjectResponse exportSubject(1: ExportSubjectRequest request) throws (1: CdpError error),
  EraseSubjectResponse eraseSubject(1: EraseSubjectRequest request) throws (1: CdpError error),
  UnsuppressResponse unsuppress(1: UnsuppressRequest request) throws (1: CdpError error),
  UnmergeResponse unmerge(1: UnmergeRequest request) throws (1: CdpError error),
  MergeHistoryResponse mergeHistory(1: MergeHistoryRequest request) throws (1: CdpError error),
  PutConversationResponse putConversation(1: PutConversationRequest request)
      throws (1: CdpError error),
  CloseConversationResponse closeConversation(1: CloseConversationRequest request)
      throws (1: CdpError error),
  AuditLogResponse auditLog(1: AuditLogRequest request) throws (1: CdpError error),
  VerifyAuditResponse verifyAudit(1: VerifyAuditRequest request) throws (1: CdpError error),
  RotateKeysResponse rotateKeys(1: RotateKeysRequest request) throws (1: CdpError error),
  BackupResponse backup(1: BackupRequest request) throws (1: CdpError error),
  StatsResponse stats(1: StatsRequest request) throws (1: CdpError error),
  HealthResponse health(1: HealthRequest request) throws (1: CdpError error),
}
