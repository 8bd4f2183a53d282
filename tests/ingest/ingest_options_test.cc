// ParserOptions::Validate: the defaults pass, each bad field is named.

#include "ingest/ingest_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "tests/support/status_matchers.h"

namespace cdp::ingest {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ParserOptionsTest, DefaultsAreValid) {
  ParserOptions options;
  EXPECT_THAT(options.Validate(), IsOk());
  EXPECT_EQ(options.max_event_bytes, 32u * 1024);
  EXPECT_EQ(options.max_batch_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(options.max_message_id_chars, 100u);
  EXPECT_EQ(options.max_nesting_depth, 32u);
}

TEST(ParserOptionsTest, ValidCustomPathsPass) {
  ParserOptions options;
  options.custom_identifier_paths = {{"crm_id", "traits.crm_id"},
                                     {"crm_id", "context.traits.crm_id"},
                                     {"loyalty_id", "/context/traits/loyalty~1card/0"}};
  EXPECT_THAT(options.Validate(), IsOk());
}

TEST(ParserOptionsTest, RejectsEachBadFieldByName) {
  struct Case {
    std::function<void(ParserOptions&)> change;
    std::string field;
  };
  const Case cases[] = {
      {[](ParserOptions& o) { o.max_event_bytes = 10; }, "max_event_bytes"},
      {[](ParserOptions& o) { o.max_batch_bytes = o.max_event_bytes - 1; }, "max_batch_bytes"},
      {[](ParserOptions& o) { o.max_batch_bytes = size_t{2} << 30; }, "max_batch_bytes"},
      {[](ParserOptions& o) { o.max_message_id_chars = 0; }, "max_message_id_chars"},
      {[](ParserOptions& o) { o.max_nesting_depth = 2; }, "max_nesting_depth"},
      {[](ParserOptions& o) { o.max_nesting_depth = kMaxNestingDepthLimit + 1; },
       "max_nesting_depth"},
      {[](ParserOptions& o) {
         o.custom_identifier_paths = {{"CRM", "traits.crm"}};
       },
       "custom_identifier_paths[0].type"},
      {[](ParserOptions& o) {
         o.custom_identifier_paths = {{"email", "traits.mail"}};
       },
       "custom_identifier_paths[0].type"},
      {[](ParserOptions& o) {
         o.custom_identifier_paths = {{"crm_id", ""}};
       },
       "custom_identifier_paths[0].path"},
      {[](ParserOptions& o) {
         o.custom_identifier_paths = {{"crm_id", "traits..crm"}};
       },
       "custom_identifier_paths[0].path"},
      {[](ParserOptions& o) {
         o.custom_identifier_paths = {{"crm_id", "/traits/a~2"}};
       },
       "custom_identifier_paths[0].path"},
      {[](ParserOptions& o) {
         o.custom_identifier_paths = {{"crm_id", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q"}};
       },
       "custom_identifier_paths[0].path"},
      {[](ParserOptions& o) {
         o.custom_identifier_paths = {{"crm_id", "traits.crm"}, {"crm_id", "traits.crm"}};
       },
       "custom_identifier_paths[1]"},
  };
  for (const Case& c : cases) {
    ParserOptions options;
    c.change(options);
    EXPECT_THAT(options.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr(std::string("ParserOptions.") + c.field)))
        << c.field;
  }
}

}  // namespace
}  // namespace cdp::ingest
