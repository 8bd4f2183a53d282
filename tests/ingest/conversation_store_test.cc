// Conversation state per person: put/merge/remove, close, expiry, limits, the context read, and
// survival across merges and reopen. Export and erase are tested in tests/rights.

#include "ingest/conversation_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "consent/retention_policy.h"
#include "ingest/context_reader.h"
#include "tests/ingest/pipeline_fixture.h"
#include "tests/support/raw_db.h"

namespace cdp::ingest {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::SizeIs;
using StateMap = std::map<std::string, std::string>;

constexpr int64_t kSecond = 1'000'000;

class ConversationStoreTest : public testing::PipelineTestBase {
 protected:
  void SetUp() override { OpenAll(); }

  void OpenAll() {
    Open();
    conversations_ = std::make_unique<ConversationStore>(store_.get(), graph_.get(), &clock_);
    if (!ann_known_) {
      Ingest(
          {R"({"type":"identify","messageId":"i1","userId":"ann","traits":{"email":"ann@example.com"},"timestamp":"2026-11-01T00:00:00Z"})"});
      ann_known_ = true;
    }
    ann_ = ProfileOf("user_id", "ann");
  }

  ConversationView MustPut(const ProfileId& profile, ConversationUpdate update) {
    absl::StatusOr<ConversationView> view = conversations_->Put(profile, update);
    EXPECT_THAT(view, IsOk());
    return view.ok() ? *view : ConversationView{};
  }

  std::optional<ConversationView> MustGet(const ProfileId& profile, const std::string& id) {
    auto view = conversations_->Get(profile, id);
    EXPECT_THAT(view, IsOk());
    return view.ok() ? *view : std::nullopt;
  }

  std::vector<std::string> OpenIds(const ProfileId& profile, size_t max = 20) {
    auto list = conversations_->ListOpen(profile, nullptr, max);
    EXPECT_THAT(list, IsOk());
    std::vector<std::string> ids;
    if (list.ok()) {
      for (const ConversationView& c : *list) ids.push_back(c.conversation_id);
    }
    return ids;
  }

  size_t RecordsUnder(const ProfileId& profile) {
    return RecordCount(storage::Family::kConversations, profile);
  }

  bool ann_known_ = false;
  ProfileId ann_;
  std::unique_ptr<ConversationStore> conversations_;
};

TEST_F(ConversationStoreTest, PutThenGetReturnsWhatWasStored) {
  const int64_t now = clock_.NowMicros();
  ConversationView put = MustPut(ann_, {.conversation_id = "conv-1",
                                        .channel = "chat",
                                        .state = {{"intent", "refund"}, {"order", "A-42"}},
                                        .ttl_seconds = 3600});
  EXPECT_EQ(put.profile, ann_);
  std::optional<ConversationView> got = MustGet(ann_, "conv-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->channel, "chat");
  EXPECT_THAT(got->state, ElementsAre(Pair("intent", "refund"), Pair("order", "A-42")));
  EXPECT_EQ(got->created_micros, now);
  EXPECT_EQ(got->updated_micros, now);
  EXPECT_EQ(got->expires_micros, now + 3600 * kSecond);
  EXPECT_FALSE(got->closed);
  EXPECT_FALSE(MustGet(ann_, "conv-2").has_value());
}

TEST_F(ConversationStoreTest, PutMergesStateRemovesKeysAndFollowsTheChannel) {
  const int64_t created = clock_.NowMicros();
  MustPut(ann_, {.conversation_id = "c",
                 .channel = "chat",
                 .state = {{"intent", "refund"}, {"order", "A-42"}, {"step", "1"}}});
  clock_.Advance(60 * kSecond);
  MustPut(ann_, {.conversation_id = "c",
                 .channel = "email",
                 .state = {{"order", "A-43"}, {"agent", "kim"}},
                 .remove_keys = {"intent", "not-there"}});
  clock_.Advance(kSecond);
  MustPut(ann_, {.conversation_id = "c", .state = {{"step", "2"}}});  // no channel: kept
  std::optional<ConversationView> got = MustGet(ann_, "c");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->channel, "email");
  EXPECT_EQ(got->state, (StateMap{{"agent", "kim"}, {"order", "A-43"}, {"step", "2"}}));
  EXPECT_EQ(got->created_micros, created);
  EXPECT_EQ(got->updated_micros, clock_.NowMicros());
  EXPECT_EQ(got->expires_micros, clock_.NowMicros() + kDefaultConversationTtlSeconds * kSecond);
}

TEST_F(ConversationStoreTest, CloseIsFinalAndHidesTheConversationFromListOpen) {
  MustPut(ann_, {.conversation_id = "c1", .channel = "chat"});
  clock_.Advance(kSecond);
  MustPut(ann_, {.conversation_id = "c2", .channel = "voice"});
  ASSERT_THAT(conversations_->Close(ann_, "c1"), IsOk());
  const int64_t closed_at = clock_.NowMicros();
  clock_.Advance(kSecond);
  EXPECT_THAT(conversations_->Close(ann_, "c1"), IsOk());  // again: no change
  EXPECT_THAT(OpenIds(ann_), ElementsAre("c2"));
  std::optional<ConversationView> closed = MustGet(ann_, "c1");
  ASSERT_TRUE(closed.has_value());
  EXPECT_TRUE(closed->closed);
  EXPECT_EQ(closed->closed_micros, closed_at);
  EXPECT_THAT(conversations_->Put(ann_, {.conversation_id = "c1", .state = {{"k", "v"}}}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("closed")));
  EXPECT_THAT(conversations_->Close(ann_, "nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(conversations_->Close(ProfileId::Random(), "c2"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(conversations_->Put(ProfileId::Random(), {.conversation_id = "c3"}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ConversationStoreTest, ListOpenIsNewestUpdateFirstAndBounded) {
  for (const char* id : {"a", "b", "c"}) {
    MustPut(ann_, {.conversation_id = id});
    clock_.Advance(kSecond);
  }
  MustPut(ann_, {.conversation_id = "a", .state = {{"k", "v"}}});  // a is now the newest
  EXPECT_THAT(OpenIds(ann_), ElementsAre("a", "c", "b"));
  EXPECT_THAT(OpenIds(ann_, 2), ElementsAre("a", "c"));
  EXPECT_THAT(OpenIds(ann_, 0), IsEmpty());
}

TEST_F(ConversationStoreTest, ExpiredConversationsAreGoneAndEveryPutExtendsTheExpiry) {
  MustPut(ann_, {.conversation_id = "short", .state = {{"old", "1"}}, .ttl_seconds = 60});
  MustPut(ann_, {.conversation_id = "kept", .ttl_seconds = 60});
  clock_.Advance(50 * kSecond);
  MustPut(ann_, {.conversation_id = "kept", .ttl_seconds = 60});  // now expires at 110 s
  clock_.Advance(10 * kSecond);  // 60 s: "short" expires exactly now
  EXPECT_FALSE(MustGet(ann_, "short").has_value());
  EXPECT_TRUE(MustGet(ann_, "kept").has_value());
  EXPECT_THAT(OpenIds(ann_), ElementsAre("kept"));
  EXPECT_THAT(conversations_->Close(ann_, "short"), StatusIs(absl::StatusCode::kNotFound));
  // A put under an expired id starts a new conversation.
  ConversationView fresh = MustPut(ann_, {.conversation_id = "short", .state = {{"new", "1"}}});
  EXPECT_EQ(fresh.created_micros, clock_.NowMicros());
  EXPECT_EQ(fresh.state, (StateMap{{"new", "1"}}));
}

TEST_F(ConversationStoreTest, RetentionDropsExpiredConversationsFromTheFiles) {
  store_retention_ = std::make_shared<consent::RetentionPolicy>(consent::RetentionOptions{});
  conversations_.reset();
  OpenAll();
  MustPut(ann_, {.conversation_id = "c", .state = {{"k", "v"}}, .ttl_seconds = 60});
  ASSERT_THAT(store_->CompactAll(), IsOk());
  EXPECT_EQ(RecordsUnder(ann_), 1u);
  clock_.Advance(61 * kSecond);
  EXPECT_EQ(RecordsUnder(ann_), 0u);  // hidden on read by the policy at once
  ASSERT_THAT(store_->CompactAll(), IsOk());
  conversations_.reset();
  pipeline_.reset();
  graph_.reset();
  ledger_.reset();
  store_.reset();
  EXPECT_THAT(cdp::testing::RawFamily(dir_.Sub("data"), storage::Family::kConversations),
              IsEmpty());
}

TEST_F(ConversationStoreTest, LimitsAreRejectedNamingTheLimitNeverTheValue) {
  const std::string secret = "Secret-Value-";
  const std::string big_value = secret + std::string(kMaxStateValueBytes, 'v');
  StateMap too_many, too_big;
  for (size_t i = 0; i <= kMaxStateEntries; ++i) too_many[absl::StrCat("k", i)] = secret;
  for (size_t i = 0; i < 16; ++i) {
    too_big[absl::StrCat("k", i)] = std::string(kMaxStateValueBytes, 'v');
  }
  std::vector<std::string> remove_many(kMaxStateEntries + 1, "x");
  const struct {
    ConversationUpdate update;
    const char* limit;
  } cases[] = {
      {{.conversation_id = ""}, "kMaxConversationIdBytes"},
      {{.conversation_id = secret + std::string(kMaxConversationIdBytes, 'i')},
       "kMaxConversationIdBytes"},
      {{.conversation_id = "c", .channel = secret + std::string(kMaxChannelBytes, 'c')},
       "kMaxChannelBytes"},
      {{.conversation_id = "c", .state = too_many}, "kMaxStateEntries"},
      {{.conversation_id = "c", .state = {{secret + std::string(kMaxStateKeyBytes, 'k'), "v"}}},
       "kMaxStateKeyBytes"},
      {{.conversation_id = "c", .state = {{"", "v"}}}, "kMaxStateKeyBytes"},
      {{.conversation_id = "c", .state = {{"k", big_value}}}, "kMaxStateValueBytes"},
      {{.conversation_id = "c", .state = too_big}, "kMaxStateBytes"},
      {{.conversation_id = "c", .remove_keys = remove_many}, "kMaxStateEntries"},
      {{.conversation_id = "c", .ttl_seconds = 0}, "kMaxConversationTtlSeconds"},
      {{.conversation_id = "c", .ttl_seconds = kMaxConversationTtlSeconds + 1},
       "kMaxConversationTtlSeconds"},
      {{.conversation_id = "c", .state = {{"k", secret + "\xff"}}}, "UTF-8"},
      {{.conversation_id = "c", .state = {{"k", "v"}}, .remove_keys = {"k"}},
       "both set and removed"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(conversations_->Put(ann_, c.update),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(c.limit), Not(HasSubstr(secret)))))
        << c.limit;
  }
  EXPECT_EQ(RecordsUnder(ann_), 0u);  // nothing was written

  // The entry limit also holds for the state after a merge of two valid updates.
  StateMap first, second;
  for (size_t i = 0; i < 40; ++i) first[absl::StrCat("a", i)] = "v";
  for (size_t i = 0; i < 30; ++i) second[absl::StrCat("b", i)] = "v";
  MustPut(ann_, {.conversation_id = "c", .state = first});
  EXPECT_THAT(conversations_->Put(ann_, {.conversation_id = "c", .state = second}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kMaxStateEntries")));
  EXPECT_THAT(MustGet(ann_, "c")->state, SizeIs(40));
}

TEST_F(ConversationStoreTest, ContextShowsOpenConversationsOnlyWhenThePurposeAllows) {
  consent::ConsentOptions options;
  options.purposes[3].data_kinds = {consent::DataKind::kTraits};  // support, without conversations
  options.purposes.push_back({.name = "service", .basis = consent::LegalBasis::kContract});
  Open(options);
  conversations_ = std::make_unique<ConversationStore>(store_.get(), graph_.get(), &clock_);
  ContextReader reader(store_.get(), graph_.get(), ledger_.get(), nullptr);
  MustPut(ann_, {.conversation_id = "open", .channel = "chat", .state = {{"k", "v"}}});
  MustPut(ann_, {.conversation_id = "closed"});
  ASSERT_THAT(conversations_->Close(ann_, "closed"), IsOk());

  auto context = reader.ByProfile(ann_, {.purpose = "service"});
  ASSERT_THAT(context, IsOk());
  ASSERT_TRUE(context->has_value());
  ASSERT_THAT((*context)->conversations, SizeIs(1));
  EXPECT_EQ((*context)->conversations[0].conversation_id, "open");
  EXPECT_EQ((*context)->conversations[0].state, (StateMap{{"k", "v"}}));

  context = reader.ByProfile(ann_, {.purpose = "service", .max_conversations = 0});
  ASSERT_THAT(context, IsOk());
  EXPECT_THAT((*context)->conversations, IsEmpty());
  context = reader.ByProfile(ann_, {.purpose = "marketing"});  // consent basis, never granted
  ASSERT_THAT(context, IsOk());
  EXPECT_FALSE((*context)->purpose_allowed);
  EXPECT_THAT((*context)->conversations, IsEmpty());
  context = reader.ByProfile(ann_, {.purpose = "support"});  // allowed, but not this data kind
  ASSERT_THAT(context, IsOk());
  EXPECT_TRUE((*context)->purpose_allowed);
  EXPECT_THAT((*context)->conversations, IsEmpty());
}

TEST_F(ConversationStoreTest, ConversationOfAMergedAwayProfileLivesOnTheSurvivor) {
  // ann has more events, so the anonymous profile is the one merged away.
  Ingest({R"({"type":"track","messageId":"t1","userId":"ann","event":"Viewed"})",
          R"({"type":"track","messageId":"a1","anonymousId":"anon-7","event":"Chat"})"});
  const ProfileId anon = ProfileOf("anonymous_id", "anon-7");
  ASSERT_NE(anon, ann_);
  MustPut(anon, {.conversation_id = "chat-1", .channel = "chat", .state = {{"topic", "bill"}}});
  Ingest(
      {R"({"type":"track","messageId":"m1","userId":"ann","anonymousId":"anon-7","event":"Login"})"});
  ASSERT_EQ(ProfileOf("anonymous_id", "anon-7"), ann_);

  EXPECT_EQ(RecordsUnder(anon), 0u);
  EXPECT_EQ(RecordsUnder(ann_), 1u);
  EXPECT_THAT(OpenIds(ann_), ElementsAre("chat-1"));
  // The old id still works, and a put under it lands on the survivor.
  ConversationView moved =
      MustPut(anon, {.conversation_id = "chat-1", .channel = "email", .state = {{"step", "2"}}});
  EXPECT_EQ(moved.profile, ann_);
  EXPECT_EQ(moved.state, (StateMap{{"step", "2"}, {"topic", "bill"}}));
  EXPECT_EQ(RecordsUnder(anon), 0u);
}

TEST_F(ConversationStoreTest, PutsRacingAMergeAreNeverLost) {
  Ingest({R"({"type":"track","messageId":"t1","userId":"ann","event":"Viewed"})",
          R"({"type":"track","messageId":"a1","anonymousId":"anon-9","event":"Chat"})"});
  const ProfileId anon = ProfileOf("anonymous_id", "anon-9");
  constexpr int kPuts = 40;
  std::vector<absl::Status> failures;
  absl::Mutex mu;
  std::thread writer([&] {
    for (int i = 0; i < kPuts; ++i) {
      absl::Status s =
          conversations_->Put(anon, {.conversation_id = absl::StrCat("c", i)}).status();
      if (!s.ok()) {
        absl::MutexLock lock(&mu);
        failures.push_back(s);
      }
    }
  });
  Ingest(
      {R"({"type":"track","messageId":"m1","userId":"ann","anonymousId":"anon-9","event":"Login"})"});
  writer.join();
  EXPECT_THAT(failures, IsEmpty());
  EXPECT_EQ(RecordsUnder(ann_), static_cast<size_t>(kPuts));
  EXPECT_EQ(RecordsUnder(anon), 0u);
}

TEST_F(ConversationStoreTest, SurvivesReopeningTheStore) {
  MustPut(ann_, {.conversation_id = "c", .channel = "voice", .state = {{"k", "v"}}});
  ASSERT_THAT(conversations_->Close(ann_, "c"), IsOk());
  MustPut(ann_, {.conversation_id = "d"});
  conversations_.reset();
  OpenAll();
  std::optional<ConversationView> got = MustGet(ann_, "c");
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->closed);
  EXPECT_EQ(got->channel, "voice");
  EXPECT_EQ(got->state, (StateMap{{"k", "v"}}));
  EXPECT_THAT(OpenIds(ann_), ElementsAre("d"));
}

TEST_F(ConversationStoreTest, PutIntoACallersBatchIsWrittenWithIt) {
  absl::MutexLock lock(&store_->profile_writer_mutex());
  storage::WriteBatch batch = store_->NewBatch();
  ASSERT_THAT(conversations_->Put(ann_, {.conversation_id = "c"}, &batch), IsOk());
  EXPECT_EQ(RecordsUnder(ann_), 0u);
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_EQ(RecordsUnder(ann_), 1u);
}

}  // namespace
}  // namespace cdp::ingest
