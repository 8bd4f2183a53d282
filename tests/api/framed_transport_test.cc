// GuardedFramedTransport reads a frame's header with the bytes behind it: frames that arrive
// together, apart or in pieces must each come out whole, in order, and the limits still hold.

#include <arpa/inet.h>
#include <sys/socket.h>
#include <thrift/transport/TSocket.h>
#include <thrift/transport/TTransportException.h>
#include <unistd.h>

#include <chrono>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "api/transport.h"
#include "gtest/gtest.h"

namespace cdp::api {
namespace {

using apache::thrift::transport::TSocket;
using apache::thrift::transport::TTransportException;

std::string Frame(const std::string& body) {
  const uint32_t size = htonl(static_cast<uint32_t>(body.size()));
  return std::string(reinterpret_cast<const char*>(&size), sizeof(size)) + body;
}

class FramedTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    peer_ = fds[1];
    ServerLimits limits;
    transport_ = std::make_shared<GuardedFramedTransport>(
        std::make_shared<TSocket>(fds[0]), MakeThriftConfiguration(limits),
        /*max_frame_bytes=*/1 << 20, absl::Seconds(5), /*idle_timeout_ms=*/5000);
  }
  void TearDown() override {
    if (peer_ >= 0) close(peer_);
    transport_->close();
  }

  void Send(const std::string& bytes) {
    ASSERT_EQ(::send(peer_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  }
  // Reads one frame of `size` bytes through the transport, as the protocol does.
  // The type of the error a one-byte read throws; nullopt when the read succeeds.
  std::optional<TTransportException::TTransportExceptionType> ReadError() {
    uint8_t byte;
    try {
      transport_->read(&byte, 1);
    } catch (const TTransportException& e) {
      return e.getType();
    }
    return std::nullopt;
  }

  std::string Receive(size_t size) {
    std::string out(size, '\0');
    transport_->readAll(reinterpret_cast<uint8_t*>(out.data()), static_cast<uint32_t>(size));
    transport_->readEnd();
    return out;
  }

  int peer_ = -1;
  std::shared_ptr<GuardedFramedTransport> transport_;
};

TEST_F(FramedTransportTest, FramesSentTogetherComeOutWholeAndInOrder) {
  const std::string big(20000, 'b');  // longer than the read-ahead: its rest comes from the socket
  Send(Frame("first") + Frame("second!") + Frame(big) + Frame("last"));
  EXPECT_EQ(Receive(5), "first");
  EXPECT_TRUE(transport_->peek());  // the next frames wait in the transport
  EXPECT_EQ(Receive(7), "second!");
  EXPECT_EQ(Receive(big.size()), big);
  EXPECT_EQ(Receive(4), "last");
}

TEST_F(FramedTransportTest, FrameArrivingInPiecesComesOutWhole) {
  const std::string frame = Frame("split across five writes");
  std::thread writer([&] {
    const size_t cuts[] = {0, 2, 5, 9, 17, frame.size()};  // the header itself is split
    for (size_t i = 0; i + 1 < std::size(cuts); ++i) {
      Send(frame.substr(cuts[i], cuts[i + 1] - cuts[i]));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  EXPECT_EQ(Receive(frame.size() - 4), "split across five writes");
  writer.join();
}

TEST_F(FramedTransportTest, OversizedFrameIsRefusedBeforeItsBody) {
  const uint32_t size = htonl(2u << 20);
  Send(std::string(reinterpret_cast<const char*>(&size), sizeof(size)) + "xx");
  EXPECT_EQ(ReadError(), TTransportException::CORRUPTED_DATA)
      << "a 2 MiB frame must not be accepted under a 1 MiB limit";
}

TEST_F(FramedTransportTest, CloseInsideAHeaderIsAnErrorAndBetweenFramesIsNot) {
  Send(Frame("ok") + std::string("\0\0", 2));
  EXPECT_EQ(Receive(2), "ok");
  close(peer_);
  peer_ = -1;
  EXPECT_EQ(ReadError(), TTransportException::END_OF_FILE)
      << "half a header must not be taken for a frame";
}

// Thrift counts the bytes a protocol takes by borrow/consume (how TBinaryProtocol reads strings)
// against TConfiguration's maximum message size; the count must start over with each frame, or a
// long-lived connection is dropped once its messages add up to the limit (16 MiB by default: ~16
// ingest calls of 1 MiB, or ~100,000 lookups).
TEST_F(FramedTransportTest, MessagesAddingUpPastTheMessageSizeLimitAreAllRead) {
  constexpr size_t kFrames = 24;  // 24 MiB in all, against the default 16 MiB limit
  const std::string body(1'000'000, 'x');
  std::thread writer([&] {
    const std::string frame = Frame(body);
    for (size_t i = 0; i < kFrames; ++i) {
      for (size_t sent = 0; sent < frame.size();) {
        const ssize_t n = ::send(peer_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;  // the reader gave up and closed its end
        sent += static_cast<size_t>(n);
      }
    }
  });
  size_t read = 0;
  try {
    for (; read < kFrames; ++read) {
      uint8_t head[4];
      transport_->readAll(head, sizeof(head));  // reads the frame, as readMessageBegin does
      uint32_t len = static_cast<uint32_t>(body.size() - sizeof(head));
      const uint8_t* rest = transport_->borrow(nullptr, &len);
      ASSERT_NE(rest, nullptr);
      ASSERT_EQ(len, body.size() - sizeof(head));
      transport_->consume(len);  // as readString does
      transport_->readEnd();
    }
  } catch (const TTransportException& e) {
    ADD_FAILURE() << "frame " << read << ": " << e.what();
    transport_->close();  // a blocked writer gets EPIPE
  }
  writer.join();
  EXPECT_EQ(read, kFrames);
}

TEST_F(FramedTransportTest, CloseBetweenFramesEndsTheStream) {
  Send(Frame("ok"));
  EXPECT_EQ(Receive(2), "ok");
  close(peer_);
  peer_ = -1;
  uint8_t byte;
  EXPECT_EQ(transport_->read(&byte, 1), 0u);
}

}  // namespace
}  // namespace cdp::api
