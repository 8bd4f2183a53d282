// Randomized check of resolution against a reference partition computed independently here:
// many people with several identifiers each emit events carrying random subsets of them,
// shuffled, and applied in batches from several threads at once. Whatever the order, the final
// partition of identifiers into profiles must equal the connected components of "seen together".

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <random>
#include <set>
#include <thread>

#include "tests/identity/identity_graph_fixture.h"

namespace cdp::identity {
namespace {

struct Person {
  std::vector<Identifier> ids;
};

class IdentityPartitionTest : public testing::IdentityGraphTestBase {
 protected:
  void SetUp() override {
    IdentityOptions options;
    options.custom_types = {"crm_id"};
    Reopen(options);
  }
};

// Reference union-find keyed by identifier.
class Reference {
 public:
  void Add(const std::vector<Identifier>& seen) {
    for (const Identifier& id : seen) parent_.try_emplace(id, id);
    for (size_t i = 1; i < seen.size(); ++i) parent_[Find(seen[i])] = Find(seen[0]);
  }
  Identifier Find(Identifier id) {
    while (!(parent_.at(id) == id)) id = parent_[id] = parent_.at(parent_.at(id));
    return id;
  }
  std::set<std::set<Identifier>> Partition() {
    std::map<Identifier, std::set<Identifier>> groups;
    for (const auto& [id, unused] : parent_) groups[Find(id)].insert(id);
    std::set<std::set<Identifier>> out;
    for (auto& [root, members] : groups) out.insert(members);
    return out;
  }

 private:
  std::map<Identifier, Identifier> parent_;
};

TEST_F(IdentityPartitionTest, ConcurrentShuffledEventsEndInTheReferencePartition) {
  std::mt19937 rng(20261123);
  const char* types[] = {"user_id", "email", "anonymous_id", "device_id", "crm_id"};
  std::vector<Person> people(300);
  for (size_t p = 0; p < people.size(); ++p) {
    const int n = 2 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k) {
      const std::string type = types[(p + k) % 5];
      std::string value = type == "email" ? absl::StrCat("p", p, "k", k, "@example.com")
                                          : absl::StrCat(type, "-", p, "-", k);
      people[p].ids.push_back(normalizer_->Normalize(type, value).identifier);
    }
  }
  std::vector<EventIdentity> events;
  Reference reference;
  for (size_t p = 0; p < people.size(); ++p) {
    for (int e = 0; e < 5; ++e) {
      std::vector<Identifier> ids = people[p].ids;
      std::shuffle(ids.begin(), ids.end(), rng);
      ids.resize(1 + rng() % std::min<size_t>(3, ids.size()));
      EventIdentity event;
      event.message_id = absl::StrCat("p", p, "e", e);
      event.time_micros = 1'700'000'000'000'000 + static_cast<int64_t>(rng() % 1'000'000);
      event.identifiers = ids;
      reference.Add(ids);
      events.push_back(std::move(event));
    }
  }
  std::shuffle(events.begin(), events.end(), rng);

  constexpr int kThreads = 4;
  constexpr size_t kBatch = 16;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t start = t * kBatch; start < events.size(); start += kThreads * kBatch) {
        const size_t end = std::min(events.size(), start + kBatch);
        IngestBatch(std::vector<EventIdentity>(events.begin() + start, events.begin() + end));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::map<ProfileId, std::set<Identifier>> by_profile;
  for (const auto& group : reference.Partition()) {
    for (const Identifier& id : group) {
      auto profile = graph_->FindProfile(id);
      ASSERT_TRUE(profile.ok() && profile->has_value()) << id.type;
      by_profile[**profile].insert(id);
    }
  }
  std::set<std::set<Identifier>> actual;
  for (auto& [profile, ids] : by_profile) actual.insert(ids);
  EXPECT_EQ(actual, reference.Partition());

  size_t stored = 0;
  for (const auto& [profile, ids] : by_profile) stored += EventsOf(profile).size();
  EXPECT_EQ(stored, events.size());
}

}  // namespace
}  // namespace cdp::identity
