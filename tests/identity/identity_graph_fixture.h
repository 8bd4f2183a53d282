#pragma once
// Set-up for identity graph tests: a real store in a temp dir, a normalizer and a graph, and a
// helper that ingests events the way the pipeline does (normalize, resolve, write envelopes).

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "identity/event_envelope.h"
#include "identity/identity_graph.h"
#include "identity/normalizer.h"
#include "storage/key_codec.h"
#include "storage/store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_store.h"

namespace cdp::identity::testing {

using Raw = std::vector<std::pair<std::string, std::string>>;

class IdentityGraphTestBase : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(IdentityOptions()); }

  void Reopen(IdentityOptions options,
              std::shared_ptr<const storage::RetentionPolicy> retention = nullptr) {
    graph_.reset();
    store_.reset();
    storage::StoreOptions store_options = cdp::testing::SmallStoreOptions(dir_.Sub("data"), &clock_);
    store_options.retention = std::move(retention);
    auto store = storage::Store::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto normalizer = Normalizer::Create(options);
    ASSERT_TRUE(normalizer.ok()) << normalizer.status();
    normalizer_ = *std::move(normalizer);
    auto graph = IdentityGraph::Create(store_.get(), options, &clock_);
    ASSERT_TRUE(graph.ok()) << graph.status();
    graph_ = *std::move(graph);
  }

  EventIdentity MakeEvent(const Raw& raw) {
    EventIdentity event;
    event.message_id = absl::StrCat("m", ++next_message_);
    event.time_micros = clock_.NowMicros() + next_message_;
    for (const auto& [type, value] : raw) {
      NormalizeResult result = normalizer_->Normalize(type, value);
      if (result.ok()) event.identifiers.push_back(result.identifier);
    }
    return event;
  }

  // Resolves `events` as one batch and stores each resolved event; returns the resolutions.
  std::vector<Resolution> IngestBatch(const std::vector<EventIdentity>& events) {
    absl::MutexLock lock(&store_->profile_writer_mutex());
    storage::WriteBatch batch = store_->NewBatch();
    auto resolutions = graph_->Resolve(events, batch);
    EXPECT_TRUE(resolutions.ok()) << resolutions.status();
    if (!resolutions.ok()) return {};
    for (size_t i = 0; i < events.size(); ++i) {
      const Resolution& r = (*resolutions)[i];
      if (r.outcome != Resolution::Outcome::kResolved) continue;
      EXPECT_TRUE(batch
                      .Put(storage::Family::kEvents,
                           graph_->EventKey(r.profile, events[i].time_micros,
                                            events[i].message_id),
                           {.time_micros = events[i].time_micros}, EncodeEvent(events[i], "body"))
                      .ok());
    }
    absl::Status written = store_->Write(batch);
    EXPECT_TRUE(written.ok()) << written;
    return *resolutions;
  }

  Resolution Ingest(const Raw& raw) { return IngestBatch({MakeEvent(raw)}).at(0); }

  std::optional<ProfileId> ProfileOf(const std::string& type, const std::string& raw) {
    NormalizeResult normalized = normalizer_->Normalize(type, raw);
    EXPECT_TRUE(normalized.ok()) << type;
    auto found = graph_->FindProfile(normalized.identifier);
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() ? *found : std::nullopt;
  }

  // Message ids of the events stored under `profile`.
  std::vector<std::string> EventsOf(const ProfileId& profile) {
    std::vector<std::string> ids;
    absl::Status s = store_->Scan(storage::Family::kEvents, storage::ProfileKey(profile), {},
                                  [&](absl::string_view, storage::Record record) {
                                    auto event = DecodeEvent(record.value);
                                    EXPECT_TRUE(event.ok());
                                    if (event.ok()) ids.push_back(event->message_id);
                                    return true;
                                  });
    EXPECT_TRUE(s.ok()) << s;
    return ids;
  }

  cdp::testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<IdentityGraph> graph_;
  int next_message_ = 0;
};

}  // namespace cdp::identity::testing
