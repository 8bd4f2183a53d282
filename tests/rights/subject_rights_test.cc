// Export, erase with crypto-shredding, suppression, recovery and the inactive-profile sweep,
// end to end from ingested feeds.

#include "rights/subject_rights.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "ingest/conversation_store.h"
#include "rights/rights.pb.h"
#include "storage/errors.h"
#include "tests/ingest/pipeline_fixture.h"
#include "tests/support/raw_db.h"

namespace cdp::rights {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kDay = 86'400'000'000;

using ::cdp::testing::FilesContaining;

class SubjectRightsTest : public ingest::testing::PipelineTestBase {
 protected:
  void SetUp() override {
    Open();
    OpenRights();
  }
  void OpenRights() {
    audit_ = consent::AuditLog::Open(store_.get(), &clock_).value();
    rights_ = std::make_unique<SubjectRights>(store_.get(), graph_.get(), ledger_.get(),
                                              audit_.get());
  }

  // Three people with distinctive values, one of them merged from two profiles.
  std::vector<std::string> Feed() {
    std::vector<std::string> lines;
    for (const char* who : {"zed", "amy", "bo"}) {
      lines.push_back(absl::StrCat(
          R"({"type":"identify","messageId":")", who, R"(-1","userId":")", who,
          R"(","traits":{"email":")", who, R"(.quokka77@example.org","secret":"Marmalade-)", who,
          R"(-9921"},"timestamp":"2026-11-01T00:00:00Z"})"));
      for (int i = 0; i < 5; ++i) {
        lines.push_back(absl::StrCat(R"({"type":"track","messageId":")", who, "-e", i,
                                     R"(","userId":")", who,
                                     R"(","event":"Viewed","timestamp":"2026-11-01T00:0)", i,
                                     R"(:00Z"})"));
      }
    }
    // zed's phone arrives first on its own, then is linked: zed is a merged person.
    lines.push_back(
        R"({"type":"track","messageId":"zed-p1","anonymousId":"zed-phone-anon","event":"Call","context":{"traits":{"phone":"+16502530077"}},"timestamp":"2026-11-01T01:00:00Z"})");
    lines.push_back(
        R"({"type":"track","messageId":"zed-p2","userId":"zed","anonymousId":"zed-phone-anon","event":"Linked","timestamp":"2026-11-01T02:00:00Z"})");
    return lines;
  }

  std::string ExportOf(const std::string& user_id) {
    std::string document;
    absl::Status s = rights_->ExportByIdentifier(
        {"user_id", user_id}, {.actor = "dpo", .reason = "DSAR-1"},
        [&](absl::string_view chunk) {
          document.append(chunk.data(), chunk.size());
          return absl::OkStatus();
        });
    EXPECT_THAT(s, IsOk());
    return document;
  }

  // What an erase leaves when cut right after step 1 (its erasure record): the record, and with
  // `destroy_key` the destruction of the data key in the same write.
  void WritePendingErasure(const ProfileId& profile, const std::string& erase_id,
                           bool destroy_key) {
    pb::ErasureRecord record;
    record.set_erase_id(erase_id);
    record.set_profile(std::string(profile.bytes().data(), ProfileId::kSize));
    record.set_actor("dpo");
    record.set_events(4);
    CDP_ASSERT_OK_AND_ASSIGN(std::optional<identity::ProfileIdentity> identity,
                             graph_->GetIdentity(profile));
    ASSERT_TRUE(identity.has_value());
    for (const auto& id : identity->identifiers) {
      record.add_identifier_hashes(
          storage::DigestKey(store_->blind_index().Hash(id.type, id.value)));
    }
    pb::SuppressionEntry pending;
    pending.set_erase_id(erase_id);
    *pending.mutable_erasure() = record;
    storage::WriteBatch batch = store_->NewBatch();
    ASSERT_THAT(
        batch.Put(storage::Family::kSuppression,
                  storage::DigestKey(store_->blind_index().Hash("profile_id", profile.ToHex())),
                  {}, pending.SerializeAsString()),
        IsOk());
    if (destroy_key) batch.DestroyDataKey(profile);
    ASSERT_THAT(store_->Write(batch), IsOk());
  }

  // bo of Feed() is gone and suppressed, no erasure is left pending, and amy is intact.
  void ExpectBoErasedAndAmySpared() {
    auto found = graph_->FindProfile({"user_id", "bo"});
    ASSERT_THAT(found, IsOk());
    EXPECT_FALSE(found->has_value());
    EXPECT_THAT(rights_->IsSuppressed({"user_id", "bo"}), ::cdp::testing::IsOkAndHolds(true));
    EXPECT_THAT(rights_->ResumePendingErasures(), ::cdp::testing::IsOkAndHolds(0u));
    EXPECT_EQ(EventCount(ProfileOf("user_id", "amy")), 6u);
  }

  std::unique_ptr<consent::AuditLog> audit_;
  std::unique_ptr<SubjectRights> rights_;
};

TEST_F(SubjectRightsTest, ExportHoldsEveryEventTraitsConsentMergeLogAndConversation) {
  for (const std::string& line : Feed()) Ingest({line});
  const ProfileId zed = ProfileOf("user_id", "zed");
  ingest::ConversationStore conversations(store_.get(), graph_.get(), &clock_);
  ASSERT_THAT(conversations.Put(zed, {.conversation_id = "chat-1",
                                      .channel = "chat",
                                      .state = {{"note", "Quince-Lantern-55"}}}),
              IsOk());
  ASSERT_THAT(conversations.Put(zed, {.conversation_id = "mail-1", .channel = "email"}), IsOk());
  ASSERT_THAT(conversations.Close(zed, "mail-1"), IsOk());
  const std::string document = ExportOf("zed");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(document).get(root), simdjson::SUCCESS) << document;
  simdjson::dom::array events;
  ASSERT_EQ(root["events"].get_array().get(events), simdjson::SUCCESS);
  EXPECT_EQ(events.size(), 8u);  // identify, five views, the call, the link
  std::string_view secret;
  ASSERT_EQ(root["traits"]["secret"]["value"].get_string().get(secret), simdjson::SUCCESS);
  EXPECT_EQ(secret, "Marmalade-zed-9921");
  simdjson::dom::array merges;
  ASSERT_EQ(root["merge_log"].get_array().get(merges), simdjson::SUCCESS);
  EXPECT_EQ(merges.size(), 1u);
  simdjson::dom::array former;
  ASSERT_EQ(root["former_profile_ids"].get_array().get(former), simdjson::SUCCESS);
  EXPECT_EQ(former.size(), 1u);
  simdjson::dom::array audit;
  ASSERT_EQ(root["audit"].get_array().get(audit), simdjson::SUCCESS);
  ASSERT_EQ(audit.size(), 1u);  // the export itself
  EXPECT_THAT(document, HasSubstr("zed.quokka77@example.org"));
  EXPECT_THAT(document, HasSubstr("+16502530077"));
  // Conversation state, closed conversations included.
  simdjson::dom::array exported;
  ASSERT_EQ(root["conversations"].get_array().get(exported), simdjson::SUCCESS);
  ASSERT_EQ(exported.size(), 2u);
  std::map<std::string, simdjson::dom::element> by_id;
  for (simdjson::dom::element c : exported) {
    std::string_view id;
    ASSERT_EQ(c["conversation_id"].get_string().get(id), simdjson::SUCCESS);
    by_id[std::string(id)] = c;
  }
  std::string_view note;
  ASSERT_EQ(by_id["chat-1"]["state"]["note"].get_string().get(note), simdjson::SUCCESS);
  EXPECT_EQ(note, "Quince-Lantern-55");
  bool closed = false;
  ASSERT_EQ(by_id["mail-1"]["closed"].get_bool().get(closed), simdjson::SUCCESS);
  EXPECT_TRUE(closed);
}

TEST_F(SubjectRightsTest, EraseLeavesNoReadableTraceAndSparesTheOthers) {
  for (const std::string& line : Feed()) Ingest({line});
  const ProfileId zed = ProfileOf("user_id", "zed");
  ingest::ConversationStore conversations(store_.get(), graph_.get(), &clock_);
  ASSERT_THAT(conversations.Put(zed, {.conversation_id = "chat-1",
                                      .state = {{"note", "Quince-Lantern-zed-55"}}}),
              IsOk());
  const std::string backup = dir_.Sub("backup");
  ASSERT_THAT(store_->Checkpoint(backup), IsOk());

  CDP_ASSERT_OK_AND_ASSIGN(ErasureReceipt receipt,
                           rights_->EraseByIdentifier({"email", "zed.quokka77@example.org"},
                                                      {.actor = "dpo", .reason = "ART17-7"}));
  EXPECT_EQ(receipt.profile, zed);
  EXPECT_EQ(receipt.events, 8u);
  EXPECT_EQ(receipt.identifiers, 4u);  // user_id, email, anonymous_id, phone
  EXPECT_EQ(receipt.merged_profiles, 1u);
  EXPECT_EQ(receipt.merge_entries, 1u);
  EXPECT_EQ(receipt.conversations, 1u);
  EXPECT_EQ(RecordCount(storage::Family::kConversations, zed), 0u);
  EXPECT_THAT(conversations.Get(zed, "chat-1"), ::cdp::testing::IsOkAndHolds(std::nullopt));

  // Nothing of zed resolves or reads any more, by any identifier or old profile id.
  auto gone = graph_->FindProfile({"user_id", "zed"});
  ASSERT_THAT(gone, IsOk());
  EXPECT_FALSE(gone->has_value());
  auto old_id = graph_->CurrentProfile(zed);
  ASSERT_THAT(old_id, IsOk());
  EXPECT_FALSE(old_id->has_value());
  auto by_phone = graph_->FindProfile({"phone", "+16502530077"});
  ASSERT_THAT(by_phone, IsOk());
  EXPECT_FALSE(by_phone->has_value());
  EXPECT_EQ(EventCount(zed), 0u);
  // The others are untouched.
  EXPECT_EQ(EventCount(ProfileOf("user_id", "amy")), 6u);
  EXPECT_EQ(DataOf(ProfileOf("user_id", "bo")).traits().at("secret").json(),
            "\"Marmalade-bo-9921\"");

  // No plaintext of zed anywhere under the data directory (nor of anyone: all is sealed).
  rights_->WaitForCompactions();
  ASSERT_THAT(store_->CompactAll(), IsOk());
  for (const char* needle : {"zed.quokka77@example.org", "Marmalade-zed-9921", "+16502530077",
                             "Marmalade-amy-9921", "Quince-Lantern-zed-55"}) {
    EXPECT_THAT(FilesContaining(dir_.Sub("data"), needle), IsEmpty()) << needle;
  }
  // Only amy's and bo's data keys remain, beside the pool of keys no profile has taken yet:
  // zed's and the one merged into zed are destroyed.
  auto keys = store_->key_vault().CountByKekVersion();
  ASSERT_THAT(keys, IsOk());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].second, 2u + store_->key_vault().pooled_keys());

  // The backup taken before the erasure no longer decrypts zed, but still decrypts amy.
  const ProfileId amy = ProfileOf("user_id", "amy");
  pipeline_.reset();
  rights_.reset();
  audit_.reset();
  graph_.reset();
  ledger_.reset();
  store_.reset();
  const std::string restored = dir_.Sub("restored");
  std::filesystem::create_directories(restored);
  std::filesystem::rename(backup, restored + "/db");
  std::filesystem::copy(dir_.Sub("data") + "/keyvault", restored + "/keyvault");
  std::filesystem::copy_file(dir_.Sub("data") + "/keys", restored + "/keys");
  auto copy = storage::Store::Open(cdp::testing::SmallStoreOptions(restored, &clock_));
  ASSERT_THAT(copy, IsOk());
  bool zed_records = false;
  absl::Status zed_scan = (*copy)->Scan(storage::Family::kEvents, storage::ProfileKey(zed), {},
                                        [&](absl::string_view, storage::Record) {
                                          zed_records = true;
                                          return true;
                                        });
  EXPECT_TRUE(storage::IsShredded(zed_scan)) << zed_scan;
  EXPECT_FALSE(zed_records);
  size_t amy_events = 0;
  EXPECT_THAT((*copy)->Scan(storage::Family::kEvents, storage::ProfileKey(amy), {},
                            [&](absl::string_view, storage::Record) {
                              ++amy_events;
                              return true;
                            }),
              IsOk());
  EXPECT_EQ(amy_events, 6u);
}

// Every dedup entry that points at the person goes, including those of events consent filtered
// out (never stored, but kept as dedup entries because they changed the ledger).
TEST_F(SubjectRightsTest, EraseLeavesNoDedupEntryPointingAtThePerson) {
  consent::ConsentOptions options;
  options.default_event_purposes = {"analytics"};
  Open(options);
  OpenRights();
  Ingest({
      R"({"type":"identify","messageId":"d1","userId":"dee","traits":{"tier":"gold"},"timestamp":"2026-11-01T00:00:00Z"})",
      R"({"type":"track","messageId":"d2","userId":"dee","event":"E","context":{"consent":{"categoryPreferences":{"analytics":false}}},"timestamp":"2026-11-01T00:01:00Z"})",
      R"({"type":"track","messageId":"d3","userId":"dee","event":"E","context":{"consent":{"categoryPreferences":{"analytics":true}}},"timestamp":"2026-11-01T00:02:00Z"})",
      R"({"type":"identify","messageId":"o1","userId":"other","timestamp":"2026-11-01T00:00:00Z"})",
  });
  const ProfileId dee = ProfileOf("user_id", "dee");
  const std::string dee_bytes(dee.bytes().data(), ProfileId::kSize);
  auto dedup_pointing_at_dee = [&] {
    size_t n = 0;
    EXPECT_THAT(store_->Scan(storage::Family::kDedup, "", {},
                             [&](absl::string_view, storage::Record record) {
                               n += record.value == dee_bytes ? 1 : 0;
                               return true;
                             }),
                IsOk());
    return n;
  };
  // d2 was filtered out but changed the ledger, so it left a dedup entry.
  auto d2 = store_->Get(storage::Family::kDedup,
                        storage::DigestKey(store_->blind_index().Hash("message_id", "d2")));
  ASSERT_THAT(d2, IsOk());
  ASSERT_TRUE(d2->has_value());
  EXPECT_EQ((*d2)->value, dee_bytes);
  ASSERT_GE(dedup_pointing_at_dee(), 2u);
  ASSERT_THAT(rights_->EraseByIdentifier({"user_id", "dee"}, {.actor = "dpo", .reason = "T-9"}),
              IsOk());
  EXPECT_EQ(dedup_pointing_at_dee(), 0u);
  ASSERT_TRUE(graph_->FindProfile({"user_id", "other"}).value().has_value());
}

TEST_F(SubjectRightsTest, ReplayAfterEraseIsSuppressedUntilUnsuppressed) {
  const std::vector<std::string> feed = Feed();
  for (const std::string& line : feed) Ingest({line});
  ASSERT_THAT(rights_->EraseByIdentifier({"user_id", "zed"}, {.actor = "dpo", .reason = "r"}),
              IsOk());
  ingest::IngestSummary replay = Ingest(feed);
  EXPECT_EQ(replay.suppressed, 8u);  // every zed record
  EXPECT_EQ(replay.duplicate, 12u);  // amy and bo were already there
  EXPECT_EQ(replay.accepted, 0u);

  EXPECT_THAT(rights_->EraseByIdentifier({"user_id", "zed"}, {.actor = "dpo", .reason = "again"}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already erased")));
  EXPECT_THAT(rights_->EraseByIdentifier({"user_id", "nobody"}, {.actor = "dpo", .reason = "x"}),
              StatusIs(absl::StatusCode::kNotFound));

  ASSERT_THAT(rights_->Unsuppress({"user_id", "zed"}, {.actor = "dpo", .reason = "came back"}),
              IsOk());
  EXPECT_EQ(Ingest({R"({"type":"track","messageId":"new-1","userId":"zed","event":"Back"})"})
                .accepted,
            1u);

  auto entries = audit_->List({});
  ASSERT_THAT(entries, IsOk());
  std::vector<std::string> acts;
  for (const auto& e : *entries) acts.push_back(absl::StrCat(e.act, ":", e.outcome));
  EXPECT_THAT(acts, ::testing::ElementsAre("erase:ok", "erase:already_erased",
                                           "erase:not_found", "unsuppress:ok"));
  auto verified = audit_->Verify();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok());
  for (const auto& e : *entries) {
    EXPECT_EQ(e.target.find("zed"), std::string::npos);  // hashes and ids only
  }
}

TEST_F(SubjectRightsTest, ErasureInterruptedAfterItsRecordCompletesOnResume) {
  for (const std::string& line : Feed()) Ingest({line});
  const ProfileId bo = ProfileOf("user_id", "bo");
  // A crash right after step 1: only the pending erasure record was written.
  WritePendingErasure(bo, "interrupted", /*destroy_key=*/false);
  ASSERT_FALSE(HasFatalFailure());

  Open();  // "restart"
  OpenRights();
  EXPECT_THAT(rights_->ResumePendingErasures(), ::cdp::testing::IsOkAndHolds(1u));
  ExpectBoErasedAndAmySpared();
}

// An erase cut by an I/O error after its record and the destruction of the data key (the store
// recovers without a restart, so no resume runs): asking again completes it, although the
// person's records can no longer be read.
TEST_F(SubjectRightsTest, EraseCutAfterItsDataKeyIsDestroyedCompletesWhenAskedAgain) {
  for (const std::string& line : Feed()) Ingest({line});
  const ProfileId bo = ProfileOf("user_id", "bo");
  WritePendingErasure(bo, "cut", /*destroy_key=*/true);
  ASSERT_FALSE(HasFatalFailure());

  CDP_ASSERT_OK_AND_ASSIGN(ErasureReceipt receipt,
                           rights_->EraseByIdentifier({"user_id", "bo"},
                                                      {.actor = "dpo", .reason = "retry"}));
  EXPECT_EQ(receipt.erase_id, "cut");
  EXPECT_EQ(receipt.profile, bo);
  EXPECT_EQ(receipt.events, 4u);
  ExpectBoErasedAndAmySpared();
  // The retry is audited under its requester and reason.
  auto entries = audit_->List({});
  ASSERT_THAT(entries, IsOk());
  ASSERT_FALSE(entries->empty());
  EXPECT_EQ(entries->back().outcome, "resumed");
  EXPECT_EQ(entries->back().reason, "retry");
}

TEST_F(SubjectRightsTest, SweepErasesInactiveProfilesOnlyAndAuditsWhy) {
  consent::RetentionOptions retention;
  retention.inactive_profile_ttl_seconds = 30 * 86400;
  consent::RetentionPolicy policy(retention);
  clock_.Set(1'790'000'000'000'000);
  Ingest({R"({"type":"track","messageId":"old-1","userId":"old","event":"E","timestamp":"2026-09-01T00:00:00Z"})",
          R"({"type":"track","messageId":"new-1","userId":"new","event":"E","timestamp":"2026-09-01T00:00:00Z"})"});
  clock_.Advance(40 * kDay);
  Ingest({R"({"type":"track","messageId":"new-2","userId":"new","event":"E"})"});
  // "new" was active just now (event time = ingestion time); "old" 40 days ago.
  EXPECT_THAT(rights_->SweepInactive(policy), ::cdp::testing::IsOkAndHolds(1u));
  EXPECT_FALSE(graph_->FindProfile({"user_id", "old"}).value().has_value());
  EXPECT_TRUE(graph_->FindProfile({"user_id", "new"}).value().has_value());
  auto entries = audit_->List({});
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].actor, "retention");
  EXPECT_EQ((*entries)[0].reason, "inactive-profile TTL");
}

}  // namespace
}  // namespace cdp::rights
