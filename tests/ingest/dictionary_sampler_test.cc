// The event sample a store's value dictionary is trained on, and what it keeps out of it.

#include "ingest/dictionary_sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/support/status_matchers.h"

namespace cdp::ingest {
namespace {

using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

ProfileId Person(int i) {
  return ProfileId::FromBytes(absl::StrFormat("p-%014d", i)).value();
}

// An event of person `person`: shared structure and values, plus values only they carry.
std::string Event(int person, int n) {
  return absl::StrCat(
      R"({"type":"track","event":"Viewed","messageId":"msg-)", person, "-", n,
      R"(","userId":"secret-user-)", person, R"(","properties":{"plan":"gold","score":)",
      person * 1000 + 7, R"(,"tier":3},"context":{"library":{"name":"analytics.js"},)",
      R"("traits":{"email":"person)", person, R"(@example.com"},"rare-key-)", person,
      R"(":true}})");
}

DictionarySamplerOptions Small() {
  return {.sample_events = 400,
          .max_sample_bytes = 1 << 20,
          .min_profiles = 40,
          .max_events_per_profile = 10,
          .min_profile_share = 0.05,
          .min_profiles_per_token = 3,
          .dictionary_bytes = 4096};
}

TEST(DictionarySamplerTest, ReadyOnlyWithEnoughEventsFromEnoughPeople) {
  DictionarySampler sampler(Small());
  for (int n = 0; n < 399; ++n) sampler.Add(Person(n % 50), Event(n % 50, n));
  EXPECT_FALSE(sampler.Ready());
  EXPECT_THAT(sampler.Train(), StatusIs(absl::StatusCode::kFailedPrecondition));
  sampler.Add(Person(1), Event(1, 399));
  EXPECT_TRUE(sampler.Ready());
}

TEST(DictionarySamplerTest, ASampleOfTooFewPeopleStartsOver) {
  DictionarySamplerOptions options = Small();
  options.max_events_per_profile = 1000;
  DictionarySampler sampler(options);
  for (int n = 0; n < 400; ++n) sampler.Add(Person(n % 10), Event(n % 10, n));
  EXPECT_FALSE(sampler.Ready());
  EXPECT_TRUE(sampler.Scrubbed().empty());
  for (int n = 0; n < 400; ++n) sampler.Add(Person(n % 60), Event(n % 60, n));
  EXPECT_TRUE(sampler.Ready());
}

TEST(DictionarySamplerTest, TakesAtMostAFewEventsOfEachPerson) {
  DictionarySampler sampler(Small());
  // A backfill arriving person by person, 25 events each: 10 of each are sampled.
  for (int p = 0; p < 39; ++p) {
    for (int n = 0; n < 25; ++n) sampler.Add(Person(p), Event(p, n));
  }
  EXPECT_FALSE(sampler.Ready());
  EXPECT_EQ(sampler.Scrubbed().size(), 390u);
  for (int n = 0; n < 25; ++n) sampler.Add(Person(39), Event(39, n));
  EXPECT_TRUE(sampler.Ready());
}

TEST(DictionarySamplerTest, FullByBytesTrainsWhenItSpansEnoughPeople) {
  DictionarySamplerOptions options = Small();
  options.max_sample_bytes = 200 * Event(59, 399).size();  // room for 200-odd events, not 400
  DictionarySampler sampler(options);
  int offered = 0;
  for (; offered < 400 && !sampler.Ready(); ++offered) {
    sampler.Add(Person(offered % 60), Event(offered % 60, offered));
  }
  EXPECT_TRUE(sampler.Ready());
  EXPECT_LT(offered, 300);
  EXPECT_GE(sampler.Scrubbed().size(), 200u);
}

TEST(DictionarySamplerTest, KeepsOnlyWhatEnoughPeopleShare) {
  DictionarySampler sampler(Small());
  for (int n = 0; n < 400; ++n) sampler.Add(Person(n % 50), Event(n % 50, n));
  ASSERT_TRUE(sampler.Ready());
  const std::vector<std::string> scrubbed = sampler.Scrubbed();
  ASSERT_EQ(scrubbed.size(), 400u);
  EXPECT_EQ(scrubbed[0],
            R"({"type":"track","event":"Viewed","messageId":"","userId":"",)"
            R"("properties":{"plan":"gold","score":0,"tier":3},)"
            R"("context":{"library":{"name":"analytics.js"},"traits":{"email":""},"":true}})");
}

TEST(DictionarySamplerTest, NoValueOfOnePersonReachesTheDictionary) {
  DictionarySampler sampler(Small());
  for (int n = 0; n < 400; ++n) sampler.Add(Person(n % 50), Event(n % 50, n));
  absl::StatusOr<std::string> dictionary = sampler.Train();
  ASSERT_TRUE(dictionary.ok()) << dictionary.status();
  EXPECT_FALSE(dictionary->empty());
  EXPECT_LE(dictionary->size(), 4096u);
  EXPECT_THAT(*dictionary, HasSubstr("analytics.js"));
  EXPECT_THAT(*dictionary, Not(HasSubstr("secret-user")));
  EXPECT_THAT(*dictionary, Not(HasSubstr("@example.com")));
  EXPECT_THAT(*dictionary, Not(HasSubstr("msg-")));
  EXPECT_THAT(*dictionary, Not(HasSubstr("rare-key")));
  EXPECT_THAT(*dictionary, Not(HasSubstr("007")));  // every score ends in 007
  // Trained once: the sample is gone.
  EXPECT_FALSE(sampler.Ready());
  EXPECT_TRUE(sampler.Scrubbed().empty());
}

TEST(DictionarySamplerTest, InvalidJsonIsLeftOut) {
  DictionarySampler sampler(Small());
  for (int n = 0; n < 400; ++n) {
    sampler.Add(Person(n % 50), n % 2 ? Event(n % 50, n) : std::string("{\"truncated\":"));
  }
  ASSERT_TRUE(sampler.Ready());
  EXPECT_EQ(sampler.Scrubbed().size(), 200u);
}

}  // namespace
}  // namespace cdp::ingest
