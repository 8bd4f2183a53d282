#pragma once
// The feed of the end-to-end scenario: three people in Segment-spec NDJSON.
//
// Ada is seen on three channels under four identifiers and becomes one person only through the
// identifiers her events share: a web visit (anonymous id, consent to advertising), a phone
// identify (user id, phone), an email open (another anonymous id, email), then a web identify
// that carries the first anonymous id, the user id and the email and so merges all three. She
// then views enough products that her export needs several 64 KiB pages. Grace (web) and Linus
// (email) are one event each.

#include <set>
#include <string>
#include <vector>

namespace cdp::testing {

struct ScenarioFeed {
  // Ada's identifiers as sent and as the server normalizes them.
  static constexpr char kAdaEmail[] = "Ada.E2E@Example.com";
  static constexpr char kAdaEmailNormalized[] = "ada.e2e@example.com";
  static constexpr char kAdaPhone[] = "+1 (650) 253-0000";
  static constexpr char kAdaPhoneNormalized[] = "+16502530000";
  static constexpr char kAdaUserId[] = "ada-42";
  static constexpr char kAdaWebAnonymousId[] = "ada-anon-web";
  static constexpr char kGraceEmail[] = "grace.e2e@example.com";
  static constexpr char kLinusEmail[] = "linus.e2e@example.com";

  std::string ndjson;                  // one event per line
  std::set<std::string> ada_messages;  // messageIds of Ada's events
  std::set<std::string> other_messages;
  std::set<std::string> ada_channels;  // web, email, phone
};

// `product_views`: how many padded "Product Viewed" events Ada has after the merge.
ScenarioFeed MakeScenarioFeed(int product_views = 200);

}  // namespace cdp::testing
