#pragma once
// A real store with the whole write path (normalizer, identity graph, consent ledger, pipeline)
// and a Segment parser, for tests that ingest NDJSON and look at the result.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ingest/pipeline.h"
#include "ingest/profile_data.h"
#include "ingest/segment_parser.h"
#include "storage/key_codec.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_store.h"

namespace cdp::ingest::testing {

class PipelineTestBase : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open(consent::ConsentOptions consent_options = {}) {
    pipeline_.reset();
    graph_.reset();
    ledger_.reset();
    store_.reset();
    storage::StoreOptions options = cdp::testing::SmallStoreOptions(dir_.Sub("data"), &clock_);
    options.retention = store_retention_;
    auto store = storage::Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    identity::IdentityOptions identity_options;
    normalizer_ = identity::Normalizer::Create(identity_options).value();
    graph_ = identity::IdentityGraph::Create(store_.get(), identity_options, &clock_).value();
    ledger_ = consent::ConsentLedger::Create(store_.get(), consent_options, &clock_).value();
    pipeline_ = Pipeline::Create({.store = store_.get(),
                                  .identity = graph_.get(),
                                  .normalizer = normalizer_.get(),
                                  .consent = ledger_.get(),
                                  .clock = &clock_},
                                 pipeline_options_)
                    .value();
    ParserOptions parser_options;
    parser_options.clock = &clock_;
    parser_ = SegmentParser::Create(parser_options).value();
  }

  IngestSummary Ingest(const std::vector<std::string>& lines) {
    ParseOutput parsed = parser_->ParseNdjson(absl::StrJoin(lines, "\n"), "test.ndjson");
    auto summary = pipeline_->Apply(std::move(parsed));
    EXPECT_TRUE(summary.ok()) << summary.status();
    return summary.ok() ? *std::move(summary) : IngestSummary{};
  }

  ProfileId ProfileOf(const std::string& type, const std::string& value) {
    auto id = graph_->FindProfile(normalizer_->Normalize(type, value).identifier);
    EXPECT_TRUE(id.ok() && id->has_value()) << type;
    return id.ok() && id->has_value() ? **id : ProfileId();
  }

  pb::ProfileData DataOf(const ProfileId& profile) {
    pb::ProfileData data;
    auto record = store_->Get(storage::Family::kProfiles, ProfileDataKey(profile));
    EXPECT_TRUE(record.ok() && record->has_value());
    if (record.ok() && record->has_value()) {
      EXPECT_TRUE(data.ParseFromString((*record)->value));
    }
    return data;
  }

  size_t EventCount(const ProfileId& profile) {
    size_t n = 0;
    EXPECT_THAT(store_->Scan(storage::Family::kEvents, storage::ProfileKey(profile), {},
                             [&](absl::string_view, storage::Record) {
                               ++n;
                               return true;
                             }),
                ::cdp::testing::IsOk());
    return n;
  }

  // Unexpired records of a profile in a family, from their headers (values are not opened).
  size_t RecordCount(storage::Family family, const ProfileId& profile) {
    size_t n = 0;
    EXPECT_THAT(store_->ScanMeta(family, storage::ProfileKey(profile), {},
                                 [&](absl::string_view, const storage::RecordMeta&) {
                                   ++n;
                                   return true;
                                 }),
                ::cdp::testing::IsOk());
    return n;
  }

  cdp::testing::TempDir dir_;
  ManualClock clock_{1'795'000'000'000'000};
  // Retention policy of the store opened by Open(); null (the default) keeps everything.
  std::shared_ptr<const storage::RetentionPolicy> store_retention_;
  // Options of the pipeline opened by Open().
  PipelineOptions pipeline_options_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<identity::Normalizer> normalizer_;
  std::unique_ptr<identity::IdentityGraph> graph_;
  std::unique_ptr<consent::ConsentLedger> ledger_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<SegmentParser> parser_;
};

}  // namespace cdp::ingest::testing
