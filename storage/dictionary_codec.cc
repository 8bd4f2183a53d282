#include "storage/dictionary_codec.h"

#include <zstd.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace cdp::storage {
namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One compression and one decompression context per thread, reused across calls and
// dictionaries (creating one costs more than compressing an event).
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(ZSTD_createCCtx());
  return cctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
  return dctx.get();
}

absl::Status Corrupt(uint32_t id, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("compressed value (dictionary ", id, "): ", why));
}

}  // namespace

struct DictionaryCodec::Dictionary {
  std::string content;
  ZSTD_CDict* cdict = nullptr;
  ZSTD_DDict* ddict = nullptr;
  ~Dictionary() {
    ZSTD_freeCDict(cdict);
    ZSTD_freeDDict(ddict);
  }
};

DictionaryCodec::DictionaryCodec(int level) : level_(level) {}

DictionaryCodec::~DictionaryCodec() {
  for (auto& slot : dictionaries_) delete slot.load(std::memory_order_relaxed);
}

absl::Status DictionaryCodec::Add(uint32_t id, std::string content) {
  absl::MutexLock lock(&add_mutex_);
  const uint32_t next = count_.load(std::memory_order_relaxed) + 1;
  if (id != next) {
    return absl::InvalidArgumentError(
        absl::StrCat("dictionary id ", id, " is not the next one (", next, ")"));
  }
  if (id > kMaxDictionaries) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxDictionaries, " dictionaries per store"));
  }
  if (content.empty() || content.size() > kMaxDictionaryBytes) {
    return absl::InvalidArgumentError(absl::StrCat("dictionary of ", content.size(),
                                                   " bytes (1 to ", kMaxDictionaryBytes, ")"));
  }
  auto dictionary = std::make_unique<Dictionary>();
  dictionary->content = std::move(content);
  const std::string& c = dictionary->content;
  dictionary->cdict = ZSTD_createCDict(c.data(), c.size(), level_);
  dictionary->ddict = ZSTD_createDDict(c.data(), c.size());
  if (dictionary->cdict == nullptr || dictionary->ddict == nullptr) {
    return absl::InvalidArgumentError("zstd cannot load the dictionary");
  }
  dictionaries_[id].store(dictionary.release(), std::memory_order_release);
  count_.store(id, std::memory_order_release);
  return absl::OkStatus();
}

absl::string_view DictionaryCodec::content(uint32_t id) const {
  if (id == kNone || id > current()) return {};
  return dictionaries_[id].load(std::memory_order_acquire)->content;
}

uint32_t DictionaryCodec::Compress(absl::string_view value, std::string* out) const {
  const uint32_t id = current();
  if (id == kNone) return kNone;
  const Dictionary* dictionary = dictionaries_[id].load(std::memory_order_acquire);
  out->resize(ZSTD_compressBound(value.size()));
  const size_t n = ZSTD_compress_usingCDict(ThreadCCtx(), out->data(), out->size(), value.data(),
                                            value.size(), dictionary->cdict);
  // Cannot fail: the output holds the bound and the dictionary loaded. Should it ever, the value
  // is stored as it is.
  if (ZSTD_isError(n)) {
    out->clear();
    return kNone;
  }
  out->resize(n);
  return id;
}

absl::Status DictionaryCodec::Decompress(uint32_t id, absl::string_view data,
                                         std::string* out) const {
  if (id == kNone || id > current()) return Corrupt(id, "no such dictionary");
  const unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return Corrupt(id, "not a zstd frame with its size");
  }
  if (size > kMaxValueBytes) return Corrupt(id, "declares a value that is too large");
  if (ZSTD_findFrameCompressedSize(data.data(), data.size()) != data.size()) {
    return Corrupt(id, "not exactly one frame");
  }
  const Dictionary* dictionary = dictionaries_[id].load(std::memory_order_acquire);
  out->resize(static_cast<size_t>(size));
  const size_t n = ZSTD_decompress_usingDDict(ThreadDCtx(), out->data(), out->size(), data.data(),
                                              data.size(), dictionary->ddict);
  if (ZSTD_isError(n) || n != size) {
    out->clear();
    return Corrupt(id, ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size differs from the header");
  }
  return absl::OkStatus();
}

}  // namespace cdp::storage
