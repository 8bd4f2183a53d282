#include "consent/consent_ledger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "storage/key_codec.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_store.h"

namespace cdp::consent {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class ConsentLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(ConsentOptions()); }

  void Open(const ConsentOptions& options) {
    ledger_.reset();
    store_.reset();
    storage::StoreOptions store_options = cdp::testing::SmallStoreOptions(dir_.Sub("data"), &clock_);
    auto store = storage::Store::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto ledger = ConsentLedger::Create(store_.get(), options, &clock_);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
  }

  ProfileId NewProfile() {
    ProfileId id = ProfileId::Random();
    storage::WriteBatch batch = store_->NewBatch();
    EXPECT_THAT(batch.CreateDataKey(id), IsOk());
    EXPECT_THAT(store_->Write(batch), IsOk());
    return id;
  }

  void Record(const ProfileId& profile, const std::string& purpose, bool granted, int64_t at) {
    storage::WriteBatch batch = store_->NewBatch();
    ASSERT_THAT(ledger_->Append(batch, profile,
                                {.purpose = purpose,
                                 .granted = granted,
                                 .effective_micros = at,
                                 .source = {.kind = ConsentSource::Kind::kApi, .detail = "t"},
                                 .notice_version = "v1"}),
                IsOk());
    ASSERT_THAT(store_->Write(batch), IsOk());
  }

  ConsentState StateOf(const ProfileId& profile) {
    auto state = ledger_->State(profile);
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *state : ConsentState{};
  }

  cdp::testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<ConsentLedger> ledger_;
};

TEST_F(ConsentLedgerTest, EachLegalBasisHasItsDefaultUntilTheFirstAnswer) {
  ProfileId p = NewProfile();
  ConsentState fresh = StateOf(p);
  EXPECT_FALSE(fresh.Allowed("marketing"));  // consent: denied until granted
  EXPECT_TRUE(fresh.Allowed("support"));     // contract: allowed until objected
  EXPECT_FALSE(fresh.Find("marketing")->explicit_answer);

  Record(p, "marketing", true, 100);
  Record(p, "support", false, 100);
  ConsentState answered = StateOf(p);
  EXPECT_TRUE(answered.Allowed("marketing"));
  EXPECT_FALSE(answered.Allowed("support"));
  EXPECT_EQ(answered.Find("marketing")->since_micros, 100);
}

TEST_F(ConsentLedgerTest, ReplayOfTheStoredLedgerEqualsAReferenceAcrossRandomSequences) {
  std::mt19937 rng(4);
  const char* purposes[] = {"analytics", "personalization", "marketing", "support"};
  for (int round = 0; round < 20; ++round) {
    ProfileId p = NewProfile();
    std::map<std::string, std::pair<int64_t, bool>> reference;  // purpose -> (time, granted)
    for (int i = 0; i < 15; ++i) {
      const std::string purpose = purposes[rng() % 4];
      const bool granted = rng() % 2;
      const int64_t at = 1000 + static_cast<int64_t>(rng() % 20);  // many ties on purpose
      Record(p, purpose, granted, at);
      auto it = reference.find(purpose);
      if (it == reference.end() || at > it->second.first ||
          (at == it->second.first && !granted)) {
        reference[purpose] = {at, granted};
      }
    }
    ConsentState state = StateOf(p);
    for (const char* purpose : purposes) {
      auto it = reference.find(purpose);
      const bool expected =
          it != reference.end() ? it->second.second : std::string(purpose) == "support";
      EXPECT_EQ(state.Allowed(purpose), expected) << "round " << round << " " << purpose;
    }
    auto history = ledger_->History(p);
    ASSERT_THAT(history, IsOk());
    EXPECT_EQ(history->size(), 15u);
  }
}

TEST_F(ConsentLedgerTest, HistoryKeepsSourceAndNoticeVersion) {
  ProfileId p = NewProfile();
  Record(p, "analytics", true, 5);
  auto history = ledger_->History(p);
  ASSERT_THAT(history, IsOk());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].notice_version, "v1");
  EXPECT_EQ((*history)[0].source.detail, "t");
  EXPECT_EQ((*history)[0].recorded_micros, clock_.NowMicros());
}

TEST_F(ConsentLedgerTest, UnknownPurposeIsRejectedWithTheConfiguredOnes) {
  ProfileId p = NewProfile();
  storage::WriteBatch batch = store_->NewBatch();
  EXPECT_THAT(ledger_->Append(batch, p, {.purpose = "spam", .granted = true}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("analytics")));
}

TEST_F(ConsentLedgerTest, MergeCombinesLedgersAndTheMostRestrictiveAnswerWins) {
  ProfileId a = NewProfile();
  ProfileId b = NewProfile();
  Record(a, "marketing", true, 500);   // the later answer...
  Record(b, "marketing", false, 100);  // ...but the other profile said no
  Record(a, "analytics", true, 100);   // no disagreement: stays granted

  storage::WriteBatch batch = store_->NewBatch();
  auto appended = ledger_->CombineOnMerge(a, {b}, batch);
  ASSERT_THAT(appended, IsOk());
  ASSERT_EQ(appended->size(), 1u);
  EXPECT_EQ((*appended)[0].purpose, "marketing");
  // What identity does on merge: the absorbed ledger moves under the survivor.
  ASSERT_THAT(store_->Scan(storage::Family::kConsent, storage::ProfileKey(b), {},
                           [&](absl::string_view key, storage::Record r) {
                             EXPECT_THAT(batch.Put(storage::Family::kConsent,
                                                   storage::ProfileChildKey(a, key.substr(16)),
                                                   r.meta, r.value),
                                         IsOk());
                             return true;
                           }),
              IsOk());
  ASSERT_THAT(store_->Write(batch), IsOk());

  ConsentState merged = StateOf(a);
  EXPECT_FALSE(merged.Allowed("marketing"));
  EXPECT_TRUE(merged.Allowed("analytics"));
  auto history = ledger_->History(a);
  ASSERT_THAT(history, IsOk());
  ASSERT_EQ(history->size(), 4u);
  EXPECT_TRUE(history->back().conflict);
  EXPECT_EQ(history->back().source.kind, ConsentSource::Kind::kMerge);
  EXPECT_EQ(history->back().purpose, "marketing");
}

TEST_F(ConsentLedgerTest, SegmentCategoryPreferencesMapToPurposesAndUnknownOnesAreReported) {
  PreferenceChanges changes = ledger_->FromPreferences(
      {{"marketing", true}, {"advertising", false}, {"analytics", false}, {"telemetry", true}},
      {.kind = ConsentSource::Kind::kEvent, .detail = "msg-1"}, 77);
  EXPECT_THAT(changes.unknown_categories, ElementsAre("telemetry"));
  ASSERT_EQ(changes.changes.size(), 3u);
  ConsentState state = ledger_->Derive(changes.changes);
  EXPECT_FALSE(state.Allowed("marketing"));  // "advertising": false wins the tie
  EXPECT_FALSE(state.Allowed("analytics"));
}

TEST_F(ConsentLedgerTest, EventsAreKeptOnlyForAllowedPurposes) {
  ConsentOptions options;
  options.event_name_purposes["Ad Clicked"] = {"marketing"};
  options.event_type_purposes["page"] = {"analytics", "personalization"};
  Open(options);
  ConsentState state = ledger_->Derive(std::vector<ConsentChange>{
      {.purpose = "analytics", .granted = true, .effective_micros = 1}});
  EXPECT_THAT(ledger_->AllowedPurposesForEvent(state, "track", "Ad Clicked"), IsEmpty());
  EXPECT_THAT(ledger_->AllowedPurposesForEvent(state, "page", "Home"), ElementsAre("analytics"));
  EXPECT_THAT(ledger_->AllowedPurposesForEvent(state, "track", "Order"),
              ElementsAre("analytics", "support"));
}

TEST_F(ConsentLedgerTest, ReadsForADeniedPurposeOrAnExcludedKindReturnNothing) {
  ConsentOptions options;
  options.purposes[0].data_kinds = {DataKind::kEvents, DataKind::kComputed};  // analytics
  Open(options);
  ConsentState state = ledger_->Derive(std::vector<ConsentChange>{
      {.purpose = "analytics", .granted = true, .effective_micros = 1}});
  EXPECT_TRUE(ledger_->MayRead(state, "analytics", DataKind::kEvents));
  EXPECT_FALSE(ledger_->MayRead(state, "analytics", DataKind::kIdentifiers));
  EXPECT_FALSE(ledger_->MayRead(state, "marketing", DataKind::kTraits));
  EXPECT_TRUE(ledger_->MayRead(state, "support", DataKind::kIdentifiers));
  EXPECT_FALSE(ledger_->MayRead(state, "nonexistent", DataKind::kTraits));
}

}  // namespace
}  // namespace cdp::consent
