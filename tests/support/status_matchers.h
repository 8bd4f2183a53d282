#pragma once
// GoogleTest matchers for absl::Status and absl::StatusOr (Abseil 20220623 ships none).
//
//   EXPECT_THAT(DoThing(), IsOk());
//   EXPECT_THAT(Compute(), IsOkAndHolds(42));
//   EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kNotFound, HasSubstr("key file")));
//   CDP_ASSERT_OK_AND_ASSIGN(auto store, Store::Open(options));

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cdp::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

MATCHER_P(IsOkAndHolds, matcher, "is OK and holds a value that matches") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + absl::StatusCodeToString(code) + " and a matching message") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

}  // namespace cdp::testing

#define CDP_TESTING_CONCAT_INNER_(a, b) a##b
#define CDP_TESTING_CONCAT_(a, b) CDP_TESTING_CONCAT_INNER_(a, b)

#define CDP_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  CDP_ASSERT_OK_AND_ASSIGN_IMPL_(CDP_TESTING_CONCAT_(cdp_test_statusor_, __LINE__), lhs, expr)

#define CDP_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  ASSERT_TRUE(statusor.ok()) << statusor.status();          \
  lhs = std::move(statusor).value()

#define CDP_ASSERT_OK(expr) ASSERT_THAT((expr), ::cdp::testing::IsOk())
#define CDP_EXPECT_OK(expr) EXPECT_THAT((expr), ::cdp::testing::IsOk())
