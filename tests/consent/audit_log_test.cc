#include "consent/audit_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "rocksdb/db.h"
#include "storage/family.h"
#include "storage/key_codec.h"
#include "tests/support/raw_db.h"
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
using ::testing::Not;

using ::cdp::testing::RawDb;

AuditEntry Entry(const std::string& act, const std::string& target,
                 const std::string& reason = "TICKET-1") {
  return AuditEntry{.actor = "compliance-bot",
                    .act = act,
                    .target = target,
                    .reason = reason,
                    .outcome = "ok",
                    .detail = "records=3"};
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    log_.reset();
    store_.reset();
    auto store = storage::Store::Open(cdp::testing::SmallStoreOptions(data_dir(), &clock_));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto log = AuditLog::Open(store_.get(), &clock_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }

  void Close() {
    log_.reset();
    store_.reset();
  }

  std::string data_dir() const { return dir_.Sub("data"); }

  // Appends `n` entries one millisecond apart.
  void AppendMany(int n) {
    for (int i = 0; i < n; ++i) {
      clock_.Advance(1000);
      ASSERT_THAT(log_->Append(Entry("export", "target-" + std::to_string(i))), IsOk());
    }
  }

  VerifyReport VerifyOrDie() {
    absl::StatusOr<VerifyReport> report = log_->Verify();
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : VerifyReport{.first_broken = 0, .problem = "verify failed"};
  }

  // With the store closed, replaces the raw value of entry `seq`, then reopens the store and
  // reports the first broken seq that the log sees: through Verify, or through Open when the
  // altered entry is the tail that Open must decode (kDataLoss counts as detecting `seq`).
  std::optional<uint64_t> FirstBrokenAfterRawPut(uint64_t seq, const std::string& value,
                                                 std::string* problem) {
    Close();
    RawDb(data_dir(), /*read_only=*/false).Put(storage::Family::kAudit, storage::SequenceKey(seq), value);
    auto store = storage::Store::Open(cdp::testing::SmallStoreOptions(data_dir(), &clock_));
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return 0;
    store_ = *std::move(store);
    auto log = AuditLog::Open(store_.get(), &clock_);
    if (!log.ok()) {
      *problem = std::string(log.status().message());
      return absl::IsDataLoss(log.status()) ? std::optional<uint64_t>(last_seq_for_open_)
                                            : std::optional<uint64_t>(0);
    }
    log_ = *std::move(log);
    VerifyReport report = VerifyOrDie();
    *problem = report.problem;
    return report.first_broken;
  }

  cdp::testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<AuditLog> log_;
  uint64_t last_seq_for_open_ = 0;  // the tail seq, the one Open may reject
};

TEST_F(AuditLogTest, AppendAssignsSequenceTimeAndChainedHashes) {
  clock_.Set(5'000'000);
  CDP_ASSERT_OK_AND_ASSIGN(AuditEntry first, log_->Append(Entry("erase", "p1")));
  clock_.Set(6'000'000);
  CDP_ASSERT_OK_AND_ASSIGN(AuditEntry second, log_->Append(Entry("export", "p2")));

  EXPECT_EQ(first.seq, 1u);
  EXPECT_EQ(first.time_micros, 5'000'000);
  EXPECT_EQ(first.prev_hash, std::string(32, '\0'));
  EXPECT_EQ(first.hash.size(), 32u);
  EXPECT_EQ(second.seq, 2u);
  EXPECT_EQ(second.time_micros, 6'000'000);
  EXPECT_EQ(second.prev_hash, first.hash);
  EXPECT_NE(second.hash, first.hash);
}

TEST_F(AuditLogTest, ListFiltersByTimeRangeAndTarget) {
  clock_.Set(1'000);
  ASSERT_THAT(log_->Append(Entry("erase", "p1")), IsOk());
  clock_.Set(2'000);
  ASSERT_THAT(log_->Append(Entry("export", "p2")), IsOk());
  clock_.Set(3'000);
  ASSERT_THAT(log_->Append(Entry("unmerge", "p1")), IsOk());
  clock_.Set(4'000);
  ASSERT_THAT(log_->Append(Entry("keys.rotate", "")), IsOk());

  auto seqs = [](const std::vector<AuditEntry>& entries) {
    std::vector<uint64_t> out;
    for (const AuditEntry& e : entries) out.push_back(e.seq);
    return out;
  };
  CDP_ASSERT_OK_AND_ASSIGN(auto all, log_->List({}));
  EXPECT_THAT(seqs(all), ElementsAre(1, 2, 3, 4));
  EXPECT_EQ(all[2].act, "unmerge");
  EXPECT_EQ(all[2].actor, "compliance-bot");
  EXPECT_EQ(all[2].reason, "TICKET-1");
  EXPECT_EQ(all[2].outcome, "ok");
  EXPECT_EQ(all[2].detail, "records=3");

  CDP_ASSERT_OK_AND_ASSIGN(auto range, log_->List({.from_micros = 2'000, .to_micros = 4'000}));
  EXPECT_THAT(seqs(range), ElementsAre(2, 3));
  CDP_ASSERT_OK_AND_ASSIGN(auto p1, log_->List({.target = "p1"}));
  EXPECT_THAT(seqs(p1), ElementsAre(1, 3));
  CDP_ASSERT_OK_AND_ASSIGN(auto p1_late, log_->List({.from_micros = 2'000, .target = "p1"}));
  EXPECT_THAT(seqs(p1_late), ElementsAre(3));
  CDP_ASSERT_OK_AND_ASSIGN(auto limited, log_->List({.limit = 2}));
  EXPECT_THAT(seqs(limited), ElementsAre(1, 2));
  CDP_ASSERT_OK_AND_ASSIGN(auto none, log_->List({.target = "p9"}));
  EXPECT_THAT(none, IsEmpty());
}

TEST_F(AuditLogTest, TimeNeverGoesBackwardsWhenClockStepsBack) {
  clock_.Set(10'000);
  ASSERT_THAT(log_->Append(Entry("erase", "p1")), IsOk());
  clock_.Set(5'000);
  CDP_ASSERT_OK_AND_ASSIGN(AuditEntry second, log_->Append(Entry("erase", "p2")));
  EXPECT_EQ(second.time_micros, 10'000);
  EXPECT_TRUE(VerifyOrDie().ok());
}

TEST_F(AuditLogTest, ChainContinuesAfterReopen) {
  AppendMany(3);
  CDP_ASSERT_OK_AND_ASSIGN(auto before, log_->List({}));
  Open();
  CDP_ASSERT_OK_AND_ASSIGN(AuditEntry next, log_->Append(Entry("export", "p4")));
  EXPECT_EQ(next.seq, 4u);
  EXPECT_EQ(next.prev_hash, before.back().hash);
  AppendMany(2);
  VerifyReport report = VerifyOrDie();
  EXPECT_TRUE(report.ok()) << report.problem;
  EXPECT_EQ(report.entries, 6u);
}

TEST_F(AuditLogTest, VerifyOfEmptyLogIsOk) {
  VerifyReport report = VerifyOrDie();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.entries, 0u);
}

TEST_F(AuditLogTest, BatchAppendIsVisibleOnlyOnceWritten) {
  storage::WriteBatch batch = store_->NewBatch();
  CDP_ASSERT_OK_AND_ASSIGN(AuditEntry entry, log_->Append(batch, Entry("erase", "p1")));
  EXPECT_EQ(entry.seq, 1u);
  CDP_ASSERT_OK_AND_ASSIGN(auto listed, log_->List({}));
  EXPECT_THAT(listed, IsEmpty());
  ASSERT_THAT(store_->Write(batch), IsOk());
  CDP_ASSERT_OK_AND_ASSIGN(listed, log_->List({}));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].hash, entry.hash);
}

TEST_F(AuditLogTest, ReloadAfterUnwrittenBatchReusesTheSequence) {
  AppendMany(2);
  {
    storage::WriteBatch dropped = store_->NewBatch();
    CDP_ASSERT_OK_AND_ASSIGN(AuditEntry lost, log_->Append(dropped, Entry("erase", "p1")));
    EXPECT_EQ(lost.seq, 3u);
  }  // never written, as if the write had failed
  ASSERT_THAT(log_->Reload(), IsOk());
  CDP_ASSERT_OK_AND_ASSIGN(AuditEntry next, log_->Append(Entry("erase", "p1")));
  EXPECT_EQ(next.seq, 3u);
  EXPECT_TRUE(VerifyOrDie().ok());
}

TEST_F(AuditLogTest, AppendRejectsOversizedFieldWithoutEchoingIt) {
  AuditEntry entry = Entry("erase", "p1", std::string(100'000, 'x'));
  EXPECT_THAT(log_->Append(std::move(entry)),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("xxxx"))));
  CDP_ASSERT_OK_AND_ASSIGN(AuditEntry next, log_->Append(Entry("erase", "p1")));
  EXPECT_EQ(next.seq, 1u);
}

TEST_F(AuditLogTest, VerifyFindsEveryFlippedByteOfAMiddleEntry) {
  AppendMany(5);
  Close();
  const std::string original =
      RawDb(data_dir(), /*read_only=*/false).All(storage::Family::kAudit).at(storage::SequenceKey(3));
  constexpr size_t kHeader = 13;  // storage/record.h envelope header
  ASSERT_GT(original.size(), kHeader + 64);
  // The 13 envelope header bytes need the raw database (the store writes the header itself).
  for (size_t i = 0; i < kHeader; ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
      std::string altered = original;
      altered[i] = static_cast<char>(altered[i] ^ mask);
      std::string problem;
      EXPECT_EQ(FirstBrokenAfterRawPut(3, altered, &problem), std::optional<uint64_t>(3))
          << "header byte " << i << " mask " << int{mask} << ": " << problem;
      EXPECT_THAT(problem, Not(IsEmpty()));
    }
  }
  std::string problem;
  ASSERT_EQ(FirstBrokenAfterRawPut(3, original, &problem), std::nullopt) << problem;

  // Body bytes: writing the altered body with the original header through the store gives the
  // same raw bytes as flipping them on disk, without reopening the store for each byte.
  CDP_ASSERT_OK_AND_ASSIGN(std::optional<storage::Record> stored,
                           store_->Get(storage::Family::kAudit, storage::SequenceKey(3)));
  ASSERT_TRUE(stored.has_value());
  ASSERT_EQ(stored->value, original.substr(kHeader));
  auto put_body = [&](const std::string& body) {
    storage::WriteBatch batch = store_->NewBatch();
    ASSERT_THAT(batch.Put(storage::Family::kAudit, storage::SequenceKey(3), stored->meta, body),
                IsOk());
    ASSERT_THAT(store_->Write(batch), IsOk());
  };
  for (size_t i = 0; i < stored->value.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
      std::string altered = stored->value;
      altered[i] = static_cast<char>(altered[i] ^ mask);
      put_body(altered);
      VerifyReport report = VerifyOrDie();
      EXPECT_EQ(report.first_broken, std::optional<uint64_t>(3))
          << "body byte " << i << " mask " << int{mask} << ": " << report.problem;
      EXPECT_THAT(report.problem, Not(IsEmpty()));
    }
  }
  put_body(stored->value);
  EXPECT_TRUE(VerifyOrDie().ok());
}

TEST_F(AuditLogTest, VerifyFindsFlippedBytesOfFirstAndLastEntries) {
  AppendMany(4);
  last_seq_for_open_ = 4;
  Close();
  std::map<std::string, std::string> raw = RawDb(data_dir(), /*read_only=*/false).All(storage::Family::kAudit);
  for (uint64_t seq : {uint64_t{1}, uint64_t{4}}) {
    const std::string original = raw.at(storage::SequenceKey(seq));
    // Envelope format, category, time, the start of the body, the hashes at the end.
    for (size_t i : {size_t{0}, size_t{2}, size_t{12}, size_t{13}, size_t{16}, original.size() - 40,
                     original.size() - 1}) {
      std::string altered = original;
      altered[i] = static_cast<char>(altered[i] ^ 0x04);
      std::string problem;
      EXPECT_EQ(FirstBrokenAfterRawPut(seq, altered, &problem), std::optional<uint64_t>(seq))
          << "seq " << seq << " byte " << i << ": " << problem;
    }
    std::string problem;
    EXPECT_EQ(FirstBrokenAfterRawPut(seq, original, &problem), std::nullopt) << problem;
  }
}

TEST_F(AuditLogTest, VerifyFindsRewrittenEntryThroughTheNextLink) {
  // A forger who rewrites entry 2 with a valid hash of its own still breaks entry 3's link.
  AppendMany(3);
  CDP_ASSERT_OK_AND_ASSIGN(std::optional<storage::Record> third,
                           store_->Get(storage::Family::kAudit, storage::SequenceKey(3)));
  ASSERT_TRUE(third.has_value());
  storage::WriteBatch truncate = store_->NewBatch();
  truncate.Delete(storage::Family::kAudit, storage::SequenceKey(2));
  truncate.Delete(storage::Family::kAudit, storage::SequenceKey(3));
  // The forger deletes the signed head too (audit_head_test covers what that shows); without it
  // the log continues after entry 1.
  truncate.DeleteMeta(AuditHead::kMetaName);
  ASSERT_THAT(store_->Write(truncate), IsOk());
  ASSERT_THAT(log_->Reload(), IsOk());
  CDP_ASSERT_OK_AND_ASSIGN(AuditEntry forged, log_->Append(Entry("erase", "someone-else")));
  ASSERT_EQ(forged.seq, 2u);
  EXPECT_TRUE(VerifyOrDie().ok());  // 1..2 alone is a consistent chain

  storage::WriteBatch restore = store_->NewBatch();
  ASSERT_THAT(
      restore.Put(storage::Family::kAudit, storage::SequenceKey(3), third->meta, third->value),
      IsOk());
  ASSERT_THAT(store_->Write(restore), IsOk());
  VerifyReport report = VerifyOrDie();
  EXPECT_EQ(report.first_broken, std::optional<uint64_t>(3));
  EXPECT_THAT(report.problem, HasSubstr("previous hash"));
}

TEST_F(AuditLogTest, VerifyFindsDeletedMiddleEntry) {
  AppendMany(5);
  storage::WriteBatch batch = store_->NewBatch();
  batch.Delete(storage::Family::kAudit, storage::SequenceKey(3));
  ASSERT_THAT(store_->Write(batch), IsOk());

  VerifyReport report = VerifyOrDie();
  EXPECT_EQ(report.first_broken, std::optional<uint64_t>(4));
  EXPECT_THAT(report.problem, HasSubstr("missing"));
  EXPECT_EQ(report.entries, 3u);
}

TEST_F(AuditLogTest, VerifyTrustsFirstRemainingEntryAfterExpiry) {
  AppendMany(5);
  storage::WriteBatch batch = store_->NewBatch();
  batch.Delete(storage::Family::kAudit, storage::SequenceKey(1));
  batch.Delete(storage::Family::kAudit, storage::SequenceKey(2));
  ASSERT_THAT(store_->Write(batch), IsOk());

  VerifyReport report = VerifyOrDie();
  EXPECT_TRUE(report.ok()) << report.problem;
  EXPECT_EQ(report.entries, 3u);
}

TEST_F(AuditLogTest, ConcurrentAppendsFormAGaplessChain) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        clock_.Advance(1);
        EXPECT_THAT(log_->Append(Entry("context.lookup", "t" + std::to_string(t))), IsOk());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  VerifyReport report = VerifyOrDie();
  EXPECT_TRUE(report.ok()) << report.problem;
  EXPECT_EQ(report.entries, uint64_t{kThreads * kPerThread});
  CDP_ASSERT_OK_AND_ASSIGN(auto all, log_->List({}));
  ASSERT_EQ(all.size(), size_t{kThreads * kPerThread});
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].seq, i + 1);
}

}  // namespace
}  // namespace cdp::consent
