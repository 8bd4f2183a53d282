// Value dictionaries: zstd with a store-trained dictionary, recorded sealed in the store.

#include "storage/dictionary_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/storage/store_fixture.h"

namespace cdp::storage {
namespace {

using ::cdp::testing::IsOk;
using ::cdp::testing::StatusIs;

// Raw-content dictionary: text the values share.
const char kDictionary[] =
    R"({"type":"track","event":"Order Completed","properties":{"currency":"EUR"},)"
    R"("context":{"library":{"name":"analytics.js","version":"4.1.0"},"locale":"en-US"}})";

std::string Value(int i) {
  return absl::StrCat(R"({"type":"track","event":"Order Completed","messageId":"m-)", i,
                      R"(","properties":{"currency":"EUR","total":)", i * 7,
                      R"(},"context":{"library":{"name":"analytics.js","version":"4.1.0"}}})");
}

TEST(DictionaryCodecTest, WithoutADictionaryNothingIsCompressed) {
  DictionaryCodec codec;
  std::string out = "untouched";
  EXPECT_EQ(codec.current(), DictionaryCodec::kNone);
  EXPECT_EQ(codec.Compress(Value(1), &out), DictionaryCodec::kNone);
  EXPECT_EQ(out, "untouched");
}

TEST(DictionaryCodecTest, RoundTripsAndShrinks) {
  DictionaryCodec codec;
  ASSERT_THAT(codec.Add(1, kDictionary), IsOk());
  for (int i = 0; i < 100; ++i) {
    std::string compressed, back;
    ASSERT_EQ(codec.Compress(Value(i), &compressed), 1u);
    EXPECT_LT(compressed.size() * 2, Value(i).size());
    ASSERT_THAT(codec.Decompress(1, compressed, &back), IsOk());
    EXPECT_EQ(back, Value(i));
  }
  std::string empty, back = "x";
  ASSERT_EQ(codec.Compress("", &empty), 1u);
  ASSERT_THAT(codec.Decompress(1, empty, &back), IsOk());
  EXPECT_EQ(back, "");
}

TEST(DictionaryCodecTest, TheNewestDictionaryCompressesAndOldOnesStillOpen) {
  DictionaryCodec codec;
  ASSERT_THAT(codec.Add(1, kDictionary), IsOk());
  std::string old;
  ASSERT_EQ(codec.Compress(Value(5), &old), 1u);
  ASSERT_THAT(codec.Add(2, std::string(kDictionary) + "more shared text"), IsOk());
  std::string fresh, back;
  EXPECT_EQ(codec.Compress(Value(5), &fresh), 2u);
  ASSERT_THAT(codec.Decompress(1, old, &back), IsOk());
  EXPECT_EQ(back, Value(5));
  ASSERT_THAT(codec.Decompress(2, fresh, &back), IsOk());
  EXPECT_EQ(back, Value(5));
  EXPECT_EQ(codec.content(1), kDictionary);
  EXPECT_EQ(codec.content(3), "");
}

TEST(DictionaryCodecTest, AddTakesOnlyTheNextIdAndUsableContent) {
  DictionaryCodec codec;
  EXPECT_THAT(codec.Add(2, kDictionary), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(codec.Add(0, kDictionary), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(codec.Add(1, ""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(codec.Add(1, std::string(DictionaryCodec::kMaxDictionaryBytes + 1, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(codec.current(), DictionaryCodec::kNone);
  for (uint32_t id = 1; id <= DictionaryCodec::kMaxDictionaries; ++id) {
    ASSERT_THAT(codec.Add(id, absl::StrCat(kDictionary, id)), IsOk());
  }
  EXPECT_THAT(codec.Add(DictionaryCodec::kMaxDictionaries + 1, kDictionary),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DictionaryCodecTest, BadInputIsDataLossNeverACrash) {
  DictionaryCodec codec;
  ASSERT_THAT(codec.Add(1, kDictionary), IsOk());
  std::string compressed, out;
  ASSERT_EQ(codec.Compress(Value(3), &compressed), 1u);
  EXPECT_THAT(codec.Decompress(2, compressed, &out), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(codec.Decompress(0, compressed, &out), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(codec.Decompress(1, "", &out), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(codec.Decompress(1, "not zstd at all", &out), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(codec.Decompress(1, compressed.substr(0, compressed.size() - 1), &out),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(codec.Decompress(1, compressed + compressed, &out),
              StatusIs(absl::StatusCode::kDataLoss));
  std::string flipped = compressed;
  flipped[flipped.size() / 2] ^= 0x5a;
  absl::Status status = codec.Decompress(1, flipped, &out);
  EXPECT_TRUE(!status.ok() || out != Value(3)) << "a flipped byte went unnoticed";
  // A frame header declaring 1 TiB of content: refused before anything is allocated.
  std::string huge = {'\x28', '\xb5', '\x2f', '\xfd', '\xe0'};
  for (int i = 0; i < 8; ++i) huge.push_back(i == 5 ? '\x01' : '\0');
  huge += std::string(8, '\0');
  EXPECT_THAT(codec.Decompress(1, huge, &out), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(DictionaryCodecTest, ReadersNeverWaitForAnAdd) {
  DictionaryCodec codec;
  ASSERT_THAT(codec.Add(1, kDictionary), IsOk());
  std::string compressed;
  ASSERT_EQ(codec.Compress(Value(9), &compressed), 1u);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread reader([&] {
    std::string out;
    while (!stop.load()) {
      if (!codec.Decompress(1, compressed, &out).ok() || out != Value(9)) ++failures;
      std::string again;
      const uint32_t id = codec.Compress(Value(9), &again);
      if (!codec.Decompress(id, again, &out).ok() || out != Value(9)) ++failures;
    }
  });
  for (uint32_t id = 2; id <= 20; ++id) {
    ASSERT_THAT(codec.Add(id, absl::StrCat(kDictionary, id)), IsOk());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
}

class StoreDictionaryTest : public testing::StoreTestBase {};

TEST_F(StoreDictionaryTest, DictionariesAreRecordedSealedAndLoadedAtOpen) {
  Open();
  EXPECT_EQ(store_->codec().current(), DictionaryCodec::kNone);
  const std::string marker = "dictionary-marker-7c1e";
  ASSERT_EQ(store_->AddDictionary(std::string(kDictionary) + marker).value(), 1u);
  ASSERT_EQ(store_->AddDictionary(std::string(kDictionary) + "second").value(), 2u);
  std::string compressed;
  ASSERT_EQ(store_->codec().Compress(Value(4), &compressed), 2u);
  ASSERT_THAT(store_->CompactAll(), IsOk());
  Close();
  // Sealed: the dictionary's text is in no file of the store.
  EXPECT_THAT(testing::FilesContaining(dir_.Sub("data"), marker), ::testing::IsEmpty());

  Open();
  EXPECT_EQ(store_->codec().current(), 2u);
  EXPECT_EQ(store_->codec().content(1), std::string(kDictionary) + marker);
  std::string back;
  ASSERT_THAT(store_->codec().Decompress(2, compressed, &back), IsOk());
  EXPECT_EQ(back, Value(4));
}

TEST_F(StoreDictionaryTest, AnUnusableDictionaryIsNeverRecorded) {
  Open();
  EXPECT_THAT(store_->AddDictionary(""), StatusIs(absl::StatusCode::kInvalidArgument));
  Close();
  Open();
  EXPECT_EQ(store_->codec().current(), DictionaryCodec::kNone);
}

TEST_F(StoreDictionaryTest, FirstRatiosAreRecordedPerDictionaryAndKeptAcrossAdds) {
  Open();
  EXPECT_THAT(store_->RecordDictionaryRatio(1, 3.0), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_EQ(store_->AddDictionary(std::string(kDictionary) + "first").value(), 1u);
  EXPECT_EQ(store_->DictionaryFirstRatio(1), 0);
  EXPECT_THAT(store_->RecordDictionaryRatio(1, 0), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(store_->RecordDictionaryRatio(1, 3.25), IsOk());
  ASSERT_EQ(store_->AddDictionary(std::string(kDictionary) + "second").value(), 2u);
  ASSERT_THAT(store_->RecordDictionaryRatio(2, 2.5), IsOk());
  EXPECT_EQ(store_->DictionaryFirstRatio(3), 0);
  Close();

  Open();
  EXPECT_EQ(store_->DictionaryFirstRatio(1), 3.25);
  EXPECT_EQ(store_->DictionaryFirstRatio(2), 2.5);
  EXPECT_EQ(store_->codec().content(1), std::string(kDictionary) + "first");
  EXPECT_EQ(store_->codec().content(2), std::string(kDictionary) + "second");
}

}  // namespace
}  // namespace cdp::storage
