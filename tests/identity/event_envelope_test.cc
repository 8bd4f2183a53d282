#include "identity/event_envelope.h"

#include <gtest/gtest.h>

#include <string>

namespace cdp::identity {
namespace {

EventIdentity SampleEvent() {
  EventIdentity event;
  event.message_id = "msg-1";
  event.time_micros = 1'700'000'000'000'000;
  event.identifiers = {Identifier{"email", "ann@example.com"}, Identifier{"user_id", "u-1"}};
  return event;
}

TEST(EventEnvelopeTest, ViewSeesWhatDecodeSees) {
  const std::string body = std::string("{\"type\":\"track\"}") + std::string(3, '\0') + "tail";
  const std::string bytes = EncodeEvent(SampleEvent(), body);
  absl::StatusOr<StoredEvent> decoded = DecodeEvent(bytes);
  absl::StatusOr<StoredEventView> view = DecodeEventView(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(decoded->message_id, "msg-1");
  EXPECT_EQ(view->message_id, "msg-1");
  EXPECT_EQ(decoded->body, body);
  EXPECT_EQ(view->body, body);
  EXPECT_EQ(decoded->identifiers.size(), 2u);
}

TEST(EventEnvelopeTest, ViewOfEmptyFields) {
  EventIdentity event;
  absl::StatusOr<StoredEventView> view = DecodeEventView(EncodeEvent(event, ""));
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_TRUE(view->message_id.empty());
  EXPECT_TRUE(view->body.empty());
  ASSERT_TRUE(DecodeEventView("").ok());
}

TEST(EventEnvelopeTest, ViewRejectsEveryTruncationAndGarbage) {
  const std::string bytes = EncodeEvent(SampleEvent(), "{\"event\":\"Signed Up\"}");
  size_t rejected = 0;
  for (size_t size = 1; size < bytes.size(); ++size) {
    const absl::string_view prefix(bytes.data(), size);
    // A prefix that ends exactly between two fields is a valid (shorter) envelope for both.
    EXPECT_EQ(DecodeEventView(prefix).ok(), DecodeEvent(prefix).ok()) << "prefix " << size;
    rejected += DecodeEventView(prefix).ok() ? 0 : 1;
  }
  EXPECT_GT(rejected, bytes.size() / 2);
  EXPECT_FALSE(DecodeEventView("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff").ok());
  EXPECT_FALSE(DecodeEventView(std::string("\x1a\x7f", 2) + "short").ok());  // body past the end
}

}  // namespace
}  // namespace cdp::identity
