#include "tests/api/scenario_feed.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cdp::testing {

namespace {

// Event times: 2026-11-20 from 09:00:00 on, one second apart, in feed order.
std::string Timestamp(int second) {
  return absl::StrFormat("2026-11-20T%02d:%02d:%02dZ", 9 + second / 3600, (second / 60) % 60,
                         second % 60);
}

}  // namespace

ScenarioFeed MakeScenarioFeed(int product_views) {
  using F = ScenarioFeed;
  ScenarioFeed feed;
  int second = 0;
  auto add = [&](bool ada, const std::string& id, const std::string& channel,
                 const std::string& body) {
    absl::StrAppend(&feed.ndjson, "{\"messageId\":\"", id, "\",", body, ",\"timestamp\":\"",
                    Timestamp(second++), "\"}\n");
    (ada ? feed.ada_messages : feed.other_messages).insert(id);
    if (ada) feed.ada_channels.insert(channel);
  };

  add(true, "ada-01", "web",
      absl::StrCat(R"("type":"page","name":"Pricing","anonymousId":")", F::kAdaWebAnonymousId,
                   R"(","context":{"channel":"web","consent":{"categoryPreferences":)",
                   R"({"advertising":true,"functional":true}}})"));
  add(true, "ada-02", "phone",
      absl::StrCat(R"("type":"identify","userId":")", F::kAdaUserId, R"(","traits":{"phone":")",
                   F::kAdaPhone, R"(","plan":"gold"},"context":{"channel":"phone"})"));
  add(true, "ada-03", "email",
      absl::StrCat(R"("type":"track","event":"Email Opened","anonymousId":"ada-anon-mail",)",
                   R"("properties":{"campaign":"winter"},"context":{"channel":"email",)",
                   R"("traits":{"email":")", F::kAdaEmail, R"("}})"));
  add(true, "ada-04", "web",
      absl::StrCat(R"("type":"identify","anonymousId":")", F::kAdaWebAnonymousId, R"(","userId":")",
                   F::kAdaUserId, R"(","traits":{"email":")", F::kAdaEmail,
                   R"(","name":"Ada"},"context":{"channel":"web"})"));
  add(true, "ada-05", "phone",
      absl::StrCat(R"("type":"track","event":"Call Started","userId":")", F::kAdaUserId,
                   R"(","properties":{"queue":"billing"},"context":{"channel":"phone"})"));
  add(false, "grace-01", "web",
      absl::StrCat(R"("type":"identify","anonymousId":"grace-anon","traits":{"email":")",
                   F::kGraceEmail, R"("},"context":{"channel":"web"})"));
  add(false, "linus-01", "email",
      absl::StrCat(R"("type":"track","event":"Email Opened","anonymousId":"linus-anon",)",
                   R"("context":{"channel":"email","traits":{"email":")", F::kLinusEmail,
                   R"("}})"));
  const std::string padding(400, 'x');
  for (int i = 0; i < product_views; ++i) {
    add(true, absl::StrCat("ada-view-", i), "web",
        absl::StrCat(R"("type":"track","event":"Product Viewed","userId":")", F::kAdaUserId,
                     R"(","properties":{"sku":"SKU-)", i, R"(","note":")", padding,
                     R"("},"context":{"channel":"web"})"));
  }
  return feed;
}

}  // namespace cdp::testing
