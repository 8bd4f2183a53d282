#include "common/crypto.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "tests/support/status_matchers.h"

namespace cdp::crypto {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;

TEST(AesGcmTest, SealThenOpenRoundTrips) {
  SecureBytes key = RandomKey();
  std::string sealed;
  ASSERT_THAT(AesGcmSeal(key, "aad", "hello world", &sealed), IsOk());
  EXPECT_EQ(sealed.size(), 11 + kGcmOverhead);
  EXPECT_EQ(sealed.find("hello"), std::string::npos);
  std::string plain;
  ASSERT_THAT(AesGcmOpen(key, "aad", sealed, &plain), IsOk());
  EXPECT_EQ(plain, "hello world");
}

TEST(AesGcmTest, NoncesAreFreshPerSeal) {
  SecureBytes key = RandomKey();
  std::string a, b;
  ASSERT_THAT(AesGcmSeal(key, "", "same", &a), IsOk());
  ASSERT_THAT(AesGcmSeal(key, "", "same", &b), IsOk());
  EXPECT_NE(a.substr(0, kGcmNonceSize), b.substr(0, kGcmNonceSize));
  EXPECT_NE(a, b);
}

TEST(AesGcmTest, NoncesNeverRepeatAcrossBufferRefillsAndThreads) {
  SecureBytes key = RandomKey();
  std::vector<std::string> nonces;
  std::mutex mu;
  auto seal_many = [&] {
    std::vector<std::string> local;
    for (int i = 0; i < 2000; ++i) {  // several refills of the per-thread nonce buffer
      std::string sealed;
      EXPECT_THAT(AesGcmSeal(key, "", "x", &sealed), IsOk());
      local.push_back(sealed.substr(0, kGcmNonceSize));
    }
    std::lock_guard<std::mutex> lock(mu);
    nonces.insert(nonces.end(), local.begin(), local.end());
  };
  std::thread a(seal_many), b(seal_many);
  a.join();
  b.join();
  std::sort(nonces.begin(), nonces.end());
  EXPECT_EQ(std::adjacent_find(nonces.begin(), nonces.end()), nonces.end());
  EXPECT_EQ(nonces.size(), 4000u);
}

TEST(AesGcmTest, ChildProcessDoesNotReuseTheParentsNonces) {
  SecureBytes key = RandomKey();
  std::string first;
  ASSERT_THAT(AesGcmSeal(key, "", "x", &first), IsOk());  // fills this thread's buffer
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  if (child == 0) {
    std::string sealed;
    if (!AesGcmSeal(key, "", "x", &sealed).ok()) _exit(2);
    _exit(write(fds[1], sealed.data(), kGcmNonceSize) == kGcmNonceSize ? 0 : 3);
  }
  std::string parent;
  ASSERT_THAT(AesGcmSeal(key, "", "x", &parent), IsOk());
  char child_nonce[kGcmNonceSize];
  ASSERT_EQ(read(fds[0], child_nonce, kGcmNonceSize), static_cast<ssize_t>(kGcmNonceSize));
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(std::string(child_nonce, kGcmNonceSize), parent.substr(0, kGcmNonceSize));
  close(fds[0]);
  close(fds[1]);
}

TEST(AesGcmTest, EveryFlippedByteIsDetected) {
  SecureBytes key = RandomKey();
  std::string sealed;
  ASSERT_THAT(AesGcmSeal(key, "aad", "payload", &sealed), IsOk());
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string tampered = sealed;
    tampered[i] ^= 0x01;
    std::string plain;
    EXPECT_THAT(AesGcmOpen(key, "aad", tampered, &plain), StatusIs(absl::StatusCode::kDataLoss))
        << "byte " << i;
    EXPECT_TRUE(plain.empty());
  }
}

TEST(AesGcmTest, WrongAssociatedDataOrKeyIsDetected) {
  SecureBytes key = RandomKey();
  std::string sealed, plain;
  ASSERT_THAT(AesGcmSeal(key, "key-1", "payload", &sealed), IsOk());
  EXPECT_THAT(AesGcmOpen(key, "key-2", sealed, &plain), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(AesGcmOpen(RandomKey(), "key-1", sealed, &plain),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(AesGcmOpen(key, "key-1", sealed.substr(0, 20), &plain),
              StatusIs(absl::StatusCode::kDataLoss));
}

// GCM specification (McGrew & Viega), test case 16: AES-256, 96-bit IV, with associated data.
std::string Case16Sealed() {
  return absl::HexStringToBytes(
      "cafebabefacedbaddecaf888"
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b");
}

SecureBytes Case16Key() {
  const std::string hex = absl::HexStringToBytes(
      "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  return SecureBytes(hex);
}

// Each thread keeps its last key's schedule between calls: switching keys, failures and seals in
// between must never leak one call's key or state into the next.
TEST(AesGcmTest, KnownAnswerHoldsAcrossKeySwitchesAndFailures) {
  const std::string aad = absl::HexStringToBytes("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const std::string expected = absl::HexStringToBytes(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
      "49a6b525b16aedf5aa0de657ba637b39");
  const SecureBytes key = Case16Key();
  const SecureBytes other = RandomKey();
  for (int round = 0; round < 3; ++round) {
    std::string plain;
    ASSERT_THAT(AesGcmOpen(key, aad, Case16Sealed(), &plain), IsOk()) << round;
    EXPECT_EQ(plain, expected);
    // The same key again (only the nonce is set), then a failure under it.
    plain.clear();
    ASSERT_THAT(AesGcmOpen(key, aad, Case16Sealed(), &plain), IsOk());
    EXPECT_EQ(plain, expected);
    EXPECT_THAT(AesGcmOpen(key, "other aad", Case16Sealed(), &plain),
                StatusIs(absl::StatusCode::kDataLoss));
    // Another key, sealing and opening, and the known ciphertext under the wrong key.
    std::string sealed, reopened;
    ASSERT_THAT(AesGcmSeal(other, "x", "under the other key", &sealed), IsOk());
    EXPECT_THAT(AesGcmOpen(key, "x", sealed, &reopened), StatusIs(absl::StatusCode::kDataLoss));
    ASSERT_THAT(AesGcmOpen(other, "x", sealed, &reopened), IsOk());
    EXPECT_EQ(reopened, "under the other key");
    EXPECT_THAT(AesGcmOpen(other, aad, Case16Sealed(), &plain),
                StatusIs(absl::StatusCode::kDataLoss));
  }
}

TEST(HmacSha256Test, MatchesRfc4231TestCase2) {
  HmacSha256 mac(SecureBytes(absl::string_view("Jefe")));
  Digest digest = mac.Mac({"what do ya want ", "for nothing?"});
  EXPECT_EQ(absl::BytesToHexString(AsStringView(digest)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256Test, InstancesWithDifferentKeysDifferOnOneThread) {
  HmacSha256 a(SecureBytes(absl::string_view("key-a")));
  HmacSha256 b(SecureBytes(absl::string_view("key-b")));
  Digest a1 = a.Mac({"x"});
  Digest b1 = b.Mac({"x"});
  Digest a2 = a.Mac({"x"});
  EXPECT_NE(a1, b1);
  EXPECT_EQ(a1, a2);
}

TEST(ConstantTimeEqualsTest, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace cdp::crypto
