// Identity resolution rules, table by table, against a real store.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "storage/errors.h"
#include "storage/key_codec.h"
#include "identity/profile_node.h"
#include "storage/retention_hook.h"
#include "tests/identity/identity_graph_fixture.h"

namespace cdp::identity {
namespace {

using ::cdp::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

class IdentityGraphTest : public testing::IdentityGraphTestBase {
 protected:
  // The families (redirects aside) in which `profile` still has keys, expired ones included.
  std::vector<std::string> FamiliesWithKeysOf(const ProfileId& profile) {
    const std::string prefix = storage::ProfileKey(profile);
    std::vector<std::string> families;
    for (storage::Family family : storage::kAllFamilies) {
      if (!storage::IsProfilePrefixed(family) || family == storage::Family::kRedirects) continue;
      size_t left = 0;
      EXPECT_THAT(store_->ScanKeysWithPrefixes(family, {&prefix, 1}, nullptr,
                                               [&](absl::string_view) { return ++left > 0; }),
                  IsOk());
      if (left > 0) families.emplace_back(storage::FamilyName(family));
    }
    return families;
  }
};

TEST_F(IdentityGraphTest, SharedTabletNeverMergesTwoLoggedInPeople) {
  Ingest({{"user_id", "ann"}, {"anonymous_id", "tablet-1"}});
  Resolution bob = Ingest({{"user_id", "bob"}, {"anonymous_id", "tablet-1"}});
  EXPECT_THAT(bob.dropped_types, ElementsAre("anonymous_id"));
  EXPECT_TRUE(bob.created);
  EXPECT_NE(ProfileOf("user_id", "ann"), ProfileOf("user_id", "bob"));
  EXPECT_EQ(ProfileOf("anonymous_id", "tablet-1"), ProfileOf("user_id", "ann"));
  EXPECT_EQ(bob.profile, *ProfileOf("user_id", "bob"));
}

TEST_F(IdentityGraphTest, JunkValuesNeverBridgeTwoPeople) {
  const char* junk[] = {"null", "0", "undefined", "[object Object]", "  ", "-1", "N/A"};
  int person = 0;
  for (const char* value : junk) {
    ++person;
    Ingest({{"email", absl::StrCat("p", person, "@example.com")}, {"anonymous_id", value},
            {"device_id", value}});
    Ingest({{"email", absl::StrCat("q", person, "@example.com")}, {"anonymous_id", value},
            {"device_id", value}});
    if (std::string(value) == "N/A") continue;  // not a default blocked value: it may link
    EXPECT_NE(ProfileOf("email", absl::StrCat("p", person, "@example.com")),
              ProfileOf("email", absl::StrCat("q", person, "@example.com")))
        << value;
  }
}

TEST_F(IdentityGraphTest, EmailCaseAndSpacesResolveToOneProfile) {
  Resolution first = Ingest({{"email", "  Ann.Lee@Example.COM "}});
  Resolution second = Ingest({{"email", "ann.lee@example.com"}});
  EXPECT_TRUE(first.created);
  EXPECT_FALSE(second.created);
  EXPECT_EQ(first.profile, second.profile);
}

TEST_F(IdentityGraphTest, PhoneFormatsResolveToOneProfile) {
  Resolution first = Ingest({{"phone", "+1 (415) 555-0100"}});
  Resolution second = Ingest({{"phone", "4155550100"}});
  EXPECT_EQ(first.profile, second.profile);
}

TEST_F(IdentityGraphTest, EventWithoutUsableIdentifiersIsReportedNotLinked) {
  Resolution r = Ingest({{"email", "null"}, {"user_id", " "}});
  EXPECT_EQ(r.outcome, Resolution::Outcome::kNoIdentifiers);
}

TEST_F(IdentityGraphTest, MergeMovesEventsLeavesRedirectAndLogsTheBridge) {
  for (int i = 0; i < 3; ++i) Ingest({{"email", "ann@example.com"}});
  for (int i = 0; i < 5; ++i) Ingest({{"phone", "+14155550100"}});
  const ProfileId by_email = *ProfileOf("email", "ann@example.com");
  const ProfileId by_phone = *ProfileOf("phone", "+14155550100");
  ASSERT_NE(by_email, by_phone);

  Resolution bridge = Ingest({{"email", "ann@example.com"}, {"phone", "+14155550100"}});
  EXPECT_EQ(bridge.merged, 1u);
  EXPECT_EQ(bridge.profile, by_phone);  // the profile with more events survives
  EXPECT_EQ(ProfileOf("email", "ann@example.com"), by_phone);
  EXPECT_THAT(EventsOf(by_phone), SizeIs(9));
  EXPECT_THAT(EventsOf(by_email), IsEmpty());
  EXPECT_THAT(graph_->CurrentProfile(by_email), ::cdp::testing::IsOkAndHolds(by_phone));

  CDP_ASSERT_OK_AND_ASSIGN(auto identity, graph_->GetIdentity(by_email));
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->profile, by_phone);
  EXPECT_THAT(identity->merged_from, ElementsAre(by_email));
  EXPECT_EQ(identity->merge_count, 1u);

  CDP_ASSERT_OK_AND_ASSIGN(auto history, graph_->MergeHistory(by_phone));
  ASSERT_THAT(history, SizeIs(1));
  EXPECT_EQ(history[0].kind, MergeRecord::Kind::kMerge);
  EXPECT_EQ(history[0].survivor, by_phone);
  EXPECT_THAT(history[0].absorbed, ElementsAre(by_email));
  EXPECT_EQ(history[0].message_id, "m9");
  std::vector<std::string> bridging_types;
  for (const Identifier& id : history[0].bridging) bridging_types.push_back(id.type);
  EXPECT_THAT(bridging_types, UnorderedElementsAre("email", "phone"));
}

TEST_F(IdentityGraphTest, MergeSurvivorCountsEventsResolvedEarlierInTheBatch) {
  // Both profiles are older than the batch; the phone one is older still, so only the events
  // of the batch can make the email profile the larger.
  Ingest({{"phone", "+14155550100"}});
  clock_.Advance(1'000'000);
  Ingest({{"email", "ann@example.com"}});
  const ProfileId by_phone = *ProfileOf("phone", "+14155550100");
  const ProfileId by_email = *ProfileOf("email", "ann@example.com");
  std::vector<EventIdentity> batch;
  for (int i = 0; i < 3; ++i) batch.push_back(MakeEvent({{"email", "ann@example.com"}}));
  batch.push_back(MakeEvent({{"email", "ann@example.com"}, {"phone", "+14155550100"}}));
  std::vector<Resolution> resolutions = IngestBatch(batch);
  ASSERT_THAT(resolutions, SizeIs(4));
  EXPECT_EQ(resolutions[3].merged, 1u);
  EXPECT_EQ(resolutions[3].profile, by_email);  // 4 events against 1
  EXPECT_THAT(EventsOf(by_email), SizeIs(6));
  EXPECT_THAT(EventsOf(by_phone), IsEmpty());
}

// A merge hook that keeps its own event counts for some profiles (as ingest's profile data does).
class CountingHook final : public MergeHook {
 public:
  absl::Status OnMerge(const ProfileId&, absl::Span<const ProfileId>,
                       storage::WriteBatch&) override {
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::optional<uint64_t>>> EventCounts(
      absl::Span<const ProfileId> profiles) override {
    std::vector<std::optional<uint64_t>> counts;
    for (const ProfileId& profile : profiles) {
      asked.push_back(profile);
      auto it = known.find(profile);
      counts.push_back(it == known.end() ? std::nullopt : std::optional<uint64_t>(it->second));
    }
    return counts;
  }
  absl::flat_hash_map<ProfileId, uint64_t> known;
  std::vector<ProfileId> asked;
};

TEST_F(IdentityGraphTest, MergeSurvivorTakesAHooksEventCountsOverTheStore) {
  for (int i = 0; i < 3; ++i) Ingest({{"email", "ann@example.com"}});
  for (int i = 0; i < 5; ++i) Ingest({{"phone", "+14155550100"}});
  const ProfileId by_email = *ProfileOf("email", "ann@example.com");
  const ProfileId by_phone = *ProfileOf("phone", "+14155550100");
  CountingHook hook;
  hook.known[by_email] = 40;  // the store holds 3 of them (older ones expired, say)
  graph_->AddMergeHook(&hook);

  // The phone profile is counted in the store (5 events), the email one by the hook (40).
  Resolution bridge = Ingest({{"email", "ann@example.com"}, {"phone", "+14155550100"}});
  EXPECT_EQ(bridge.merged, 1u);
  EXPECT_EQ(bridge.profile, by_email);
  EXPECT_THAT(hook.asked, UnorderedElementsAre(by_email, by_phone));
  EXPECT_THAT(EventsOf(by_email), SizeIs(9));
  EXPECT_THAT(EventsOf(by_phone), IsEmpty());
}

// Events older than a cutoff have expired: reads skip them until compaction drops them.
class ExpireEventsBefore final : public storage::RetentionPolicy {
 public:
  explicit ExpireEventsBefore(int64_t cutoff_micros) : cutoff_micros_(cutoff_micros) {}
  bool IsExpired(storage::Family family, const storage::RecordMeta& meta,
                 int64_t) const override {
    return family == storage::Family::kEvents && meta.time_micros < cutoff_micros_;
  }

 private:
  int64_t cutoff_micros_;
};

TEST_F(IdentityGraphTest, MergeLeavesNoKeyOfTheAbsorbedProfileEvenExpiredOnes) {
  Reopen(IdentityOptions(),
         std::make_shared<ExpireEventsBefore>(clock_.NowMicros() + 5'000'000));
  Ingest({{"email", "ann@example.com"}});  // expired from the start
  clock_.Advance(10'000'000);
  Ingest({{"email", "ann@example.com"}});
  for (int i = 0; i < 3; ++i) Ingest({{"phone", "+14155550100"}});
  const ProfileId by_email = *ProfileOf("email", "ann@example.com");
  const ProfileId by_phone = *ProfileOf("phone", "+14155550100");
  Resolution bridge = Ingest({{"email", "ann@example.com"}, {"phone", "+14155550100"}});
  ASSERT_EQ(bridge.profile, by_phone);

  EXPECT_THAT(FamiliesWithKeysOf(by_email), IsEmpty());
  EXPECT_THAT(EventsOf(by_phone), SizeIs(5));  // the expired one is not read
}

TEST_F(IdentityGraphTest, MergeOfEqualSizesKeepsTheOlderProfile) {
  Ingest({{"phone", "+14155550100"}});
  clock_.Advance(1'000'000);
  Ingest({{"email", "ann@example.com"}});
  const ProfileId by_phone = *ProfileOf("phone", "+14155550100");
  Resolution bridge = Ingest({{"email", "ann@example.com"}, {"phone", "+14155550100"}});
  EXPECT_EQ(bridge.merged, 1u);
  EXPECT_EQ(bridge.profile, by_phone);
}

TEST_F(IdentityGraphTest, EventBringingNothingNewLeavesTheIdentityUnchanged) {
  Ingest({{"email", "ann@example.com"}, {"anonymous_id", "web-1"}});
  const ProfileId profile = *ProfileOf("email", "ann@example.com");
  CDP_ASSERT_OK_AND_ASSIGN(auto first, graph_->GetIdentity(profile));
  ASSERT_TRUE(first.has_value());

  clock_.Advance(5'000'000);
  Ingest({{"email", "ann@example.com"}});  // seen before, alone: no new observation
  Ingest({{"anonymous_id", "web-1"}, {"email", "ann@example.com"}});
  CDP_ASSERT_OK_AND_ASSIGN(auto same, graph_->GetIdentity(profile));
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->updated_micros, first->updated_micros);

  clock_.Advance(5'000'000);
  Ingest({{"email", "ann@example.com"}, {"phone", "+14155550100"}});
  CDP_ASSERT_OK_AND_ASSIGN(auto grown, graph_->GetIdentity(profile));
  ASSERT_TRUE(grown.has_value());
  EXPECT_EQ(grown->updated_micros, first->updated_micros + 10'000'000);
  EXPECT_THAT(grown->identifiers, SizeIs(3));
}

TEST_F(IdentityGraphTest, LookupsReadTheIdentityAsOfTheirSnapshot) {
  for (int i = 0; i < 3; ++i) Ingest({{"email", "ann@example.com"}});
  for (int i = 0; i < 5; ++i) Ingest({{"phone", "+14155550100"}});
  const ProfileId by_email = *ProfileOf("email", "ann@example.com");
  const ProfileId by_phone = *ProfileOf("phone", "+14155550100");
  std::unique_ptr<storage::Snapshot> before = store_->GetSnapshot();
  CDP_ASSERT_OK_AND_ASSIGN(std::optional<ProfileId> indexed_before,
                           graph_->IndexedProfile({"email", "ann@example.com"}));
  EXPECT_EQ(indexed_before, by_email);
  Ingest({{"email", "ann@example.com"}, {"phone", "+14155550100"}});  // merges into by_phone

  // From the snapshot the merge has not happened, but the merged-away profile's data key was
  // retired by it, so its sealed node no longer opens: shredded, and the caller reads again from
  // a fresh snapshot (ContextReader does).
  auto old_view = graph_->GetIdentity(by_email, before.get());
  EXPECT_TRUE(storage::IsShredded(old_view.status())) << old_view.status();
  // The survivor's identity as of the snapshot is still readable: without the merged-in part.
  CDP_ASSERT_OK_AND_ASSIGN(auto survivor_then, graph_->GetIdentity(by_phone, before.get()));
  ASSERT_TRUE(survivor_then.has_value());
  EXPECT_EQ(survivor_then->profile, by_phone);
  EXPECT_THAT(survivor_then->identifiers, ElementsAre(Identifier{"phone", "+14155550100"}));

  // Now: the identifier and the merged-away id both lead to the survivor, holding both; so does
  // the id the index named before the merge, read at a snapshot taken after it (the lookup path).
  CDP_ASSERT_OK_AND_ASSIGN(std::optional<ProfileId> indexed_now,
                           graph_->IndexedProfile({"email", "ann@example.com"}));
  EXPECT_EQ(indexed_now, by_phone);
  std::unique_ptr<storage::Snapshot> after = store_->GetSnapshot();
  CDP_ASSERT_OK_AND_ASSIGN(auto now, graph_->GetIdentity(*indexed_before, after.get()));
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->profile, by_phone);
  EXPECT_THAT(now->identifiers,
              UnorderedElementsAre(Identifier{"email", "ann@example.com"},
                                   Identifier{"phone", "+14155550100"}));
  CDP_ASSERT_OK_AND_ASSIGN(auto via_redirect, graph_->GetIdentity(by_email));
  ASSERT_TRUE(via_redirect.has_value());
  EXPECT_EQ(via_redirect->profile, by_phone);
  CDP_ASSERT_OK_AND_ASSIGN(auto nobody, graph_->IndexedProfile({"email", "nobody@example.com"}));
  EXPECT_FALSE(nobody.has_value());
}

TEST_F(IdentityGraphTest, MergesChainAcrossChannelsInAnyArrivalOrder) {
  const testing::Raw journey[] = {
      {{"anonymous_id", "web-1"}},                                     // anonymous web visit
      {{"anonymous_id", "web-1"}, {"email", "cy@example.com"}},         // email capture
      {{"user_id", "cy"}, {"device_id", "app-1"}, {"email", "cy@example.com"}},  // app login
      {{"phone", "+14155550199"}, {"user_id", "cy"}},                  // phone call
  };
  std::vector<int> order = {0, 1, 2, 3};
  int permutation = 0;
  do {
    ++permutation;
    Reopen(IdentityOptions());
    for (int i : order) Ingest(journey[i]);
    const auto profile = ProfileOf("user_id", "cy");
    ASSERT_TRUE(profile.has_value());
    for (const auto& [type, value] : std::vector<std::pair<std::string, std::string>>{
             {"anonymous_id", "web-1"}, {"email", "cy@example.com"}, {"device_id", "app-1"},
             {"phone", "+14155550199"}}) {
      EXPECT_EQ(ProfileOf(type, value), profile) << "permutation " << permutation << " " << type;
    }
    EXPECT_THAT(EventsOf(*profile), SizeIs(4)) << "permutation " << permutation;
    store_.reset();
    graph_.reset();
    std::filesystem::remove_all(dir_.Sub("data"));
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutation, 24);
}

TEST_F(IdentityGraphTest, ChainedMergesInsideOneBatchEndOnTheFinalSurvivor) {
  std::vector<EventIdentity> events = {
      MakeEvent({{"email", "dee@example.com"}}), MakeEvent({{"phone", "+14155550111"}}),
      MakeEvent({{"device_id", "d-1"}}),
      MakeEvent({{"email", "dee@example.com"}, {"phone", "+14155550111"}}),
      MakeEvent({{"device_id", "d-1"}, {"phone", "+14155550111"}})};
  std::vector<Resolution> results = IngestBatch(events);
  ASSERT_THAT(results, SizeIs(5));
  for (const Resolution& r : results) EXPECT_EQ(r.profile, results.back().profile);
  EXPECT_THAT(EventsOf(results.back().profile), SizeIs(5));
  CDP_ASSERT_OK_AND_ASSIGN(auto history, graph_->MergeHistory(results.back().profile));
  EXPECT_THAT(history, SizeIs(2));
}

// Several people merged by one batch: each survivor gets its own absorbed profile's records (the
// batch moves them all in one pass per family) and no absorbed profile keeps a key.
TEST_F(IdentityGraphTest, ManyMergesInOneBatchMoveEachProfilesRecordsToItsOwnSurvivor) {
  constexpr int kPeople = 6;
  std::vector<EventIdentity> bridges;
  std::vector<ProfileId> by_email, by_phone;
  for (int p = 0; p < kPeople; ++p) {
    const std::string email = absl::StrCat("person", p, "@example.com");
    const std::string phone = absl::StrCat("+1415555", 1000 + p);
    for (int i = 0; i <= p; ++i) Ingest({{"email", email}});  // p + 1 events
    for (int i = 0; i < 8; ++i) Ingest({{"phone", phone}});   // 8 events: the survivor
    by_email.push_back(*ProfileOf("email", email));
    by_phone.push_back(*ProfileOf("phone", phone));
    bridges.push_back(MakeEvent({{"email", email}, {"phone", phone}}));
  }
  std::vector<Resolution> results = IngestBatch(bridges);
  ASSERT_THAT(results, SizeIs(kPeople));
  for (int p = 0; p < kPeople; ++p) {
    SCOPED_TRACE(p);
    EXPECT_EQ(results[p].profile, by_phone[p]);
    EXPECT_THAT(EventsOf(by_phone[p]), SizeIs(8 + (p + 1) + 1));
    EXPECT_THAT(FamiliesWithKeysOf(by_email[p]), IsEmpty());
  }
}

// Events with one stored identifier resolve without their profile's node: they still count
// towards the profile's size when a later event of the batch merges it, and end on the survivor.
TEST_F(IdentityGraphTest, OneIdentifierEventsCountAndFollowMergesInTheirBatch) {
  Ingest({{"email", "eve@example.com"}});
  Ingest({{"phone", "+14155550122"}});
  Ingest({{"phone", "+14155550122"}});
  const ProfileId by_email = *ProfileOf("email", "eve@example.com");
  const ProfileId by_phone = *ProfileOf("phone", "+14155550122");
  ASSERT_NE(by_email, by_phone);

  std::vector<Resolution> results = IngestBatch(
      {MakeEvent({{"email", "eve@example.com"}}), MakeEvent({{"email", "eve@example.com"}}),
       MakeEvent({{"email", "eve@example.com"}, {"phone", "+14155550122"}}),
       MakeEvent({{"phone", "+14155550122"}})});
  ASSERT_THAT(results, SizeIs(4));
  // 1 stored + 3 in the batch against 2 stored: the email's profile is the larger.
  EXPECT_EQ(results[2].merged, 1u);
  for (const Resolution& r : results) EXPECT_EQ(r.profile, by_email);
  EXPECT_THAT(EventsOf(by_email), SizeIs(7));
  EXPECT_THAT(EventsOf(by_phone), IsEmpty());
  EXPECT_EQ(*ProfileOf("phone", "+14155550122"), by_email);
}

// A set of identifiers seen before is listed in its anchor's index entry (the email: user_id
// absent, it has the highest priority), and later events with it resolve without the node.
TEST_F(IdentityGraphTest, RecordedIdentifierSetsAreListedInTheAnchorsIndexEntry) {
  auto listed = [&](const std::string& email) {
    NormalizeResult normalized = normalizer_->Normalize("email", email);
    auto record = store_->Get(storage::Family::kIdentifiers,
                              storage::DigestKey(store_->blind_index().Hash(
                                  normalized.identifier.type, normalized.identifier.value)));
    EXPECT_TRUE(record.ok() && record->has_value());
    auto entry = internal::DecodeIndexEntry((*record)->value);
    EXPECT_TRUE(entry.ok());
    return entry.ok() ? entry->observations.size() : 0;
  };
  Ingest({{"email", "fay@example.com"}, {"anonymous_id", "web-f"}});
  const ProfileId profile = *ProfileOf("email", "fay@example.com");
  EXPECT_EQ(listed("fay@example.com"), 1u);
  CDP_ASSERT_OK_AND_ASSIGN(auto first, graph_->GetIdentity(profile));

  clock_.Advance(1'000'000);
  Resolution again = Ingest({{"anonymous_id", "web-f"}, {"email", "fay@example.com"}});
  EXPECT_EQ(again.profile, profile);
  EXPECT_FALSE(again.created);
  Ingest({{"email", "fay@example.com"}, {"anonymous_id", "web-g"}});  // a new set: the node grows
  EXPECT_EQ(listed("fay@example.com"), 2u);
  CDP_ASSERT_OK_AND_ASSIGN(auto grown, graph_->GetIdentity(profile));
  EXPECT_EQ(grown->updated_micros, first->updated_micros + 1'000'000);
  EXPECT_THAT(grown->identifiers, SizeIs(3));
  // Both indexed to the profile, but never seen together: recorded, so the node changes.
  clock_.Advance(1'000'000);
  Ingest({{"anonymous_id", "web-f"}, {"anonymous_id", "web-g"}});
  CDP_ASSERT_OK_AND_ASSIGN(auto linked, graph_->GetIdentity(profile));
  EXPECT_EQ(linked->updated_micros, grown->updated_micros + 1'000'000);

  // Merged into a larger profile: the email's entry is re-pointed and lists nothing until the
  // survivor's node records a set anchored at it again.
  for (int i = 0; i < 5; ++i) Ingest({{"user_id", "u-fay"}});  // 5 events against 3
  Resolution merge = Ingest({{"user_id", "u-fay"}, {"email", "fay@example.com"}});
  EXPECT_EQ(merge.merged, 1u);
  EXPECT_NE(merge.profile, profile);
  EXPECT_EQ(listed("fay@example.com"), 0u);
  Resolution after = Ingest({{"email", "fay@example.com"}, {"anonymous_id", "web-f"}});
  EXPECT_EQ(after.profile, merge.profile);
  EXPECT_EQ(listed("fay@example.com"), 1u);
}

TEST_F(IdentityGraphTest, MergeCapStopsMergingButKeepsTheEvent) {
  IdentityOptions options;
  options.max_merges_per_profile = 1;
  Reopen(options);
  Ingest({{"email", "x@example.com"}});
  Ingest({{"email", "y@example.com"}});
  Ingest({{"email", "z@example.com"}});
  Resolution first = Ingest({{"email", "x@example.com"}, {"email", "y@example.com"}});
  EXPECT_EQ(first.merged, 1u);
  Resolution capped = Ingest({{"email", "x@example.com"}, {"email", "z@example.com"}});
  EXPECT_TRUE(capped.cap_hit);
  EXPECT_EQ(capped.merged, 0u);
  EXPECT_EQ(capped.profile, *ProfileOf("email", "x@example.com"));
  EXPECT_NE(ProfileOf("email", "x@example.com"), ProfileOf("email", "z@example.com"));
  EXPECT_THAT(EventsOf(capped.profile), SizeIs(4));
  EXPECT_EQ(graph_->counters().cap_hits, 1u);
}

TEST_F(IdentityGraphTest, IdentifierCapStopsLinkingButKeepsTheEvent) {
  IdentityOptions options;
  options.max_identifiers_per_profile = 2;
  Reopen(options);
  Ingest({{"user_id", "u"}, {"email", "e1@example.com"}});
  Resolution capped = Ingest({{"user_id", "u"}, {"email", "e2@example.com"}});
  EXPECT_TRUE(capped.cap_hit);
  EXPECT_EQ(ProfileOf("email", "e2@example.com"), std::nullopt);
  EXPECT_THAT(EventsOf(capped.profile), SizeIs(2));
}

TEST_F(IdentityGraphTest, SuppressedIdentifierIsNotResolved) {
  NormalizeResult email = normalizer_->Normalize("email", "gone@example.com");
  storage::WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(batch.Put(storage::Family::kSuppression,
                        storage::DigestKey(store_->blind_index().Hash("email",
                                                                      email.identifier.value)),
                        {}, "erase-1"),
              IsOk());
  ASSERT_THAT(store_->Write(batch), IsOk());
  Resolution r = Ingest({{"user_id", "new-id"}, {"email", "gone@example.com"}});
  EXPECT_EQ(r.outcome, Resolution::Outcome::kSuppressed);
  EXPECT_EQ(ProfileOf("user_id", "new-id"), std::nullopt);
}

TEST_F(IdentityGraphTest, UnmergeGivesBackTwoPeopleWithTheirOwnEvents) {
  for (int i = 0; i < 3; ++i) Ingest({{"user_id", "fay"}, {"device_id", "kiosk"}});
  for (int i = 0; i < 2; ++i) Ingest({{"email", "gus@example.com"}, {"device_id", "kiosk"}});
  Ingest({{"device_id", "kiosk"}});
  const ProfileId merged = *ProfileOf("user_id", "fay");
  ASSERT_EQ(ProfileOf("email", "gus@example.com"), merged);
  ASSERT_THAT(EventsOf(merged), SizeIs(6));

  UnmergeReport report;
  {
    absl::MutexLock lock(&store_->profile_writer_mutex());
    storage::WriteBatch batch = store_->NewBatch();
    CDP_ASSERT_OK_AND_ASSIGN(report, graph_->Unmerge(merged, Identifier{"device_id", "kiosk"},
                                                     "ops@example.com", "TICKET-7", batch));
    ASSERT_THAT(store_->Write(batch), IsOk());
  }
  ASSERT_THAT(report.parts, SizeIs(3));
  EXPECT_EQ(report.parts[0].profile, merged);
  EXPECT_EQ(report.parts[0].events, 3u);

  const ProfileId fay = *ProfileOf("user_id", "fay");
  const ProfileId gus = *ProfileOf("email", "gus@example.com");
  const ProfileId kiosk = *ProfileOf("device_id", "kiosk");
  EXPECT_EQ(fay, merged);
  EXPECT_NE(gus, fay);
  EXPECT_NE(kiosk, fay);
  EXPECT_NE(kiosk, gus);
  EXPECT_THAT(EventsOf(fay), SizeIs(3));
  EXPECT_THAT(EventsOf(gus), SizeIs(2));
  EXPECT_THAT(EventsOf(kiosk), SizeIs(1));

  CDP_ASSERT_OK_AND_ASSIGN(auto history, graph_->MergeHistory(gus));
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back().kind, MergeRecord::Kind::kUnmerge);
  EXPECT_EQ(history.back().actor, "ops@example.com");
  EXPECT_EQ(history.back().reason, "TICKET-7");

  // The removed identifier no longer bridges: the same shared device does not merge them again.
  Ingest({{"email", "gus@example.com"}, {"device_id", "kiosk"}});
  Ingest({{"user_id", "fay"}, {"device_id", "kiosk"}});
  EXPECT_NE(ProfileOf("user_id", "fay"), ProfileOf("email", "gus@example.com"));
}

// The lookup path reads the index first and the identity at a later snapshot: an unmerge between
// them leaves the index's profile without the identifier, which the snapshot's index then finds
// on the part that took it (ContextReader::ByIdentifier checks for exactly this).
TEST_F(IdentityGraphTest, AnIdentifierMovedAfterTheIndexReadIsFoundAtTheSnapshot) {
  for (int i = 0; i < 3; ++i) Ingest({{"user_id", "fay"}, {"device_id", "kiosk"}});
  Ingest({{"email", "gus@example.com"}, {"device_id", "kiosk"}});
  const Identifier gus_email{"email", "gus@example.com"};
  CDP_ASSERT_OK_AND_ASSIGN(std::optional<ProfileId> indexed, graph_->IndexedProfile(gus_email));
  ASSERT_TRUE(indexed.has_value());
  {
    absl::MutexLock lock(&store_->profile_writer_mutex());
    storage::WriteBatch batch = store_->NewBatch();
    ASSERT_THAT(graph_->Unmerge(*indexed, Identifier{"device_id", "kiosk"}, "ops", "", batch),
                IsOk());
    ASSERT_THAT(store_->Write(batch), IsOk());
  }
  std::unique_ptr<storage::Snapshot> snapshot = store_->GetSnapshot();
  CDP_ASSERT_OK_AND_ASSIGN(auto stale, graph_->GetIdentity(*indexed, snapshot.get()));
  ASSERT_TRUE(stale.has_value());
  EXPECT_THAT(stale->identifiers, ::testing::Not(::testing::Contains(gus_email)));
  CDP_ASSERT_OK_AND_ASSIGN(std::optional<ProfileId> holder,
                           graph_->IndexedProfile(gus_email, snapshot.get()));
  ASSERT_TRUE(holder.has_value());
  EXPECT_NE(*holder, *indexed);
  CDP_ASSERT_OK_AND_ASSIGN(auto gus, graph_->GetIdentity(*holder, snapshot.get()));
  ASSERT_TRUE(gus.has_value());
  EXPECT_THAT(gus->identifiers, ::testing::Contains(gus_email));
}

TEST_F(IdentityGraphTest, UnmergeOfAnIdentifierTheProfileDoesNotHoldIsNotFound) {
  Resolution r = Ingest({{"user_id", "hal"}});
  absl::MutexLock lock(&store_->profile_writer_mutex());
  storage::WriteBatch batch = store_->NewBatch();
  EXPECT_THAT(graph_->Unmerge(r.profile, Identifier{"email", "x@example.com"}, "ops", "", batch),
              ::cdp::testing::StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace cdp::identity
