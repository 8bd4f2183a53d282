// The signed audit head: truncation of the chain (newest entries, the head itself), a tampered or
// replayed head, and a head that survives restarts.

#include "consent/audit_head.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "consent/audit_log.h"
#include "storage/family.h"
#include "storage/key_codec.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_store.h"

namespace cdp::consent {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

class AuditHeadTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    log_.reset();
    store_.reset();
    auto store = storage::Store::Open(cdp::testing::SmallStoreOptions(dir_.Sub("data"), &clock_));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto log = AuditLog::Open(store_.get(), &clock_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }

  // Appends `n` entries one millisecond apart; returns the last.
  AuditEntry AppendMany(int n) {
    AuditEntry last;
    for (int i = 0; i < n; ++i) {
      clock_.Advance(1000);
      absl::StatusOr<AuditEntry> appended = log_->Append({.actor = "compliance-bot",
                                                          .act = "export",
                                                          .target = "t" + std::to_string(i),
                                                          .reason = "TICKET-1",
                                                          .outcome = "ok"});
      EXPECT_THAT(appended, IsOk());
      if (appended.ok()) last = *appended;
    }
    return last;
  }

  // Deletes entries [from, to] behind the log's back, as someone with write access to the
  // database could.
  void DeleteEntries(uint64_t from, uint64_t to) {
    storage::WriteBatch batch = store_->NewBatch();
    for (uint64_t seq = from; seq <= to; ++seq) {
      batch.Delete(storage::Family::kAudit, storage::SequenceKey(seq));
    }
    ASSERT_THAT(store_->Write(batch), IsOk());
  }

  std::string RawHead() {
    absl::StatusOr<std::optional<std::string>> head = store_->GetMeta(AuditHead::kMetaName);
    EXPECT_THAT(head, IsOk());
    return head.ok() && head->has_value() ? **head : std::string();
  }

  void PutRawHead(const std::string& value) {
    storage::WriteBatch batch = store_->NewBatch();
    batch.PutMeta(AuditHead::kMetaName, value);
    ASSERT_THAT(store_->Write(batch), IsOk());
  }

  void DeleteHead() {
    storage::WriteBatch batch = store_->NewBatch();
    batch.DeleteMeta(AuditHead::kMetaName);
    ASSERT_THAT(store_->Write(batch), IsOk());
  }

  // Verifies, expecting the chain broken at `seq` with a problem that contains `problem`.
  VerifyReport ExpectBrokenAt(uint64_t seq, const std::string& problem) {
    VerifyReport report = VerifyOrDie();
    EXPECT_EQ(report.first_broken, std::optional<uint64_t>(seq)) << report.problem;
    EXPECT_THAT(report.problem, HasSubstr(problem));
    return report;
  }

  VerifyReport VerifyOrDie() {
    absl::StatusOr<VerifyReport> report = log_->Verify();
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : VerifyReport{.first_broken = 0, .problem = "verify failed"};
  }

  cdp::testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditHeadTest, VerifyIsOkAndNamesTheNewestEntryAfterNormalAppends) {
  const AuditEntry last = AppendMany(5);
  VerifyReport report = VerifyOrDie();
  EXPECT_TRUE(report.ok()) << report.problem;
  EXPECT_EQ(report.entries, 5u);
  EXPECT_EQ(report.head_seq, std::optional<uint64_t>(5));
  EXPECT_EQ(report.head_hash, last.hash);
  ASSERT_FALSE(report.notes.empty());
  EXPECT_THAT(report.notes.back(), HasSubstr("ends with entry 5"));
}

TEST_F(AuditHeadTest, VerifyFailsNamingTheEntryWhenTheNewestIsDeleted) {
  AppendMany(5);
  DeleteEntries(5, 5);
  VerifyReport report = ExpectBrokenAt(5, "entry 5 is missing at the end of the chain");
  EXPECT_EQ(report.entries, 4u);
  EXPECT_EQ(report.head_seq, std::optional<uint64_t>(5));
}

TEST_F(AuditHeadTest, VerifyFailsNamingTheRangeWhenTheNewestEntriesAreDeleted) {
  AppendMany(6);
  DeleteEntries(4, 6);
  VerifyReport report = ExpectBrokenAt(4, "entries 4 to 6 are missing");
  EXPECT_EQ(report.entries, 3u);
}

TEST_F(AuditHeadTest, VerifyFailsWhenEveryEntryIsDeleted) {
  AppendMany(3);
  DeleteEntries(1, 3);
  ExpectBrokenAt(3, "no entry remains");
}

TEST_F(AuditHeadTest, VerifyFailsWhenTheHeadIsDeleted) {
  AppendMany(4);
  DeleteHead();
  VerifyReport report = ExpectBrokenAt(5, "head is missing");
  EXPECT_EQ(report.head_seq, std::nullopt);
}

TEST_F(AuditHeadTest, VerifyFailsWhenAnyByteOfTheHeadIsFlipped) {
  AppendMany(3);
  const std::string original = RawHead();
  ASSERT_EQ(original.size(), 81u);
  for (size_t i = 0; i < original.size(); ++i) {
    std::string altered = original;
    altered[i] = static_cast<char>(altered[i] ^ 0x01);
    PutRawHead(altered);
    VerifyReport report = VerifyOrDie();
    EXPECT_EQ(report.first_broken, std::optional<uint64_t>(4)) << "byte " << i;
    EXPECT_THAT(report.problem, HasSubstr("head")) << "byte " << i;
    EXPECT_EQ(report.head_seq, std::nullopt) << "byte " << i;
  }
  PutRawHead(original.substr(0, 40));
  EXPECT_THAT(VerifyOrDie().problem, HasSubstr("malformed"));
  PutRawHead(original);
  EXPECT_TRUE(VerifyOrDie().ok());
}

TEST_F(AuditHeadTest, VerifyFailsWhenAnOlderHeadIsWrittenBack) {
  AppendMany(3);
  const std::string old_head = RawHead();
  AppendMany(2);
  PutRawHead(old_head);
  ExpectBrokenAt(4, "not covered by the signed head");
}

TEST_F(AuditHeadTest, VerifyFailsWhenTheLastEntryDoesNotMatchTheHead) {
  // Entries 4 and 5 replaced by a consistent chain of their own that the head never signed.
  AppendMany(5);
  const std::string head_of_5 = RawHead();
  DeleteEntries(4, 5);
  DeleteHead();
  Open();
  AppendMany(2);  // seq 4 and 5 again, different times and targets
  PutRawHead(head_of_5);
  ExpectBrokenAt(5, "does not match the signed head");
}

TEST_F(AuditHeadTest, HeadFromAnotherKeyFileDoesNotAuthenticate) {
  AppendMany(2);
  cdp::testing::TempDir other_dir;
  {
    auto other = storage::Store::Open(
        cdp::testing::SmallStoreOptions(other_dir.Sub("data"), &clock_));
    ASSERT_THAT(other.status(), IsOk());
    AuditHead head(other->get());
    storage::WriteBatch batch = store_->NewBatch();
    head.Put(batch, {.seq = 2, .time_micros = 0, .hash = std::string(32, 'x')});
    ASSERT_THAT(store_->Write(batch), IsOk());
  }
  EXPECT_THAT(AuditHead(store_.get()).Read(), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_FALSE(VerifyOrDie().ok());
}

TEST_F(AuditHeadTest, RestartKeepsTheChainAndHeadVerifying) {
  AppendMany(3);
  Open();
  EXPECT_TRUE(VerifyOrDie().ok());
  const AuditEntry last = AppendMany(2);
  EXPECT_EQ(last.seq, 5u);
  Open();
  VerifyReport report = VerifyOrDie();
  EXPECT_TRUE(report.ok()) << report.problem;
  EXPECT_EQ(report.head_seq, std::optional<uint64_t>(5));
  EXPECT_EQ(report.head_hash, last.hash);
}

TEST_F(AuditHeadTest, AppendAfterTruncationAndRestartKeepsTheGapVisible) {
  AppendMany(5);
  DeleteEntries(4, 5);
  Open();
  const AuditEntry next = AppendMany(1);
  EXPECT_EQ(next.seq, 6u) << "the chain continues after the signed head, not after entry 3";
  ExpectBrokenAt(6, "entries 4 to 5 are missing");
}

TEST_F(AuditHeadTest, EmptyLogWithoutHeadIsOk) {
  VerifyReport report = VerifyOrDie();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.head_seq, std::nullopt);
  EXPECT_THAT(AuditHead(store_.get()).Read(), IsOk());
}

TEST_F(AuditHeadTest, BatchAppendWritesTheHeadOnlyWithTheBatch) {
  AppendMany(1);
  {
    storage::WriteBatch dropped = store_->NewBatch();
    ASSERT_THAT(log_->Append(dropped, {.actor = "a", .act = "erase", .outcome = "ok"}), IsOk());
  }  // never written
  ASSERT_THAT(log_->Reload(), IsOk());
  VerifyReport report = VerifyOrDie();
  EXPECT_TRUE(report.ok()) << report.problem;
  EXPECT_EQ(report.head_seq, std::optional<uint64_t>(1));
  EXPECT_THAT(report.problem, Not(HasSubstr("missing")));
}

}  // namespace
}  // namespace cdp::consent
