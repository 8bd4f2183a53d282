// Store::AddDictionary and the loading of dictionaries at open: the value dictionaries of
// DictionaryCodec, kept in one sealed meta record.

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "storage/storage.pb.h"
#include "storage/store.h"

namespace cdp::storage {
namespace {

constexpr absl::string_view kDictionariesRecord = "value_dictionaries";
// Purpose of the derived sealing key, and the associated data of the seal.
constexpr absl::string_view kDictionariesPurpose = "value-dictionaries.v1";

}  // namespace

absl::Status Store::LoadDictionaries() {
  CDP_ASSIGN_OR_RETURN(std::optional<std::string> sealed, GetMeta(kDictionariesRecord));
  if (!sealed) return absl::OkStatus();
  std::string plain;
  CDP_RETURN_IF_ERROR(
      crypto::AesGcmOpen(DeriveKey(kDictionariesPurpose), kDictionariesRecord, *sealed, &plain));
  pb::ValueDictionaries recorded;
  if (!recorded.ParseFromString(plain)) {
    return absl::DataLossError("the value dictionaries record is corrupt");
  }
  for (int i = 0; i < recorded.dictionaries_size(); ++i) {
    std::string* content = recorded.mutable_dictionaries(i)->mutable_content();
    absl::Status added = codec_.Add(static_cast<uint32_t>(i + 1), std::move(*content));
    if (!added.ok()) {
      return absl::DataLossError(absl::StrCat("recorded value dictionary ", i + 1,
                                              " cannot be loaded: ", added.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Store::AddDictionary(std::string content) {
  absl::MutexLock lock(&dictionaries_mu_);
  const uint32_t id = codec_.current() + 1;
  if (id > DictionaryCodec::kMaxDictionaries) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", DictionaryCodec::kMaxDictionaries, " dictionaries per store"));
  }
  pb::ValueDictionaries recorded;
  for (uint32_t i = 1; i < id; ++i) {
    recorded.add_dictionaries()->set_content(std::string(codec_.content(i)));
  }
  // Checked by the codec before anything is written: a dictionary zstd cannot load must never
  // be recorded, or the store would not open again.
  DictionaryCodec probe;
  CDP_RETURN_IF_ERROR(probe.Add(1, content));
  pb::ValueDictionaries::Dictionary* added = recorded.add_dictionaries();
  added->set_content(content);
  added->set_created_micros(clock_->NowMicros());
  std::string sealed;
  CDP_RETURN_IF_ERROR(crypto::AesGcmSeal(DeriveKey(kDictionariesPurpose), kDictionariesRecord,
                                         recorded.SerializeAsString(), &sealed));
  WriteBatch batch = NewBatch();
  batch.PutMeta(kDictionariesRecord, sealed);
  CDP_RETURN_IF_ERROR(Write(batch));
  CDP_RETURN_IF_ERROR(codec_.Add(id, std::move(content)));
  LogInfo("storage", absl::StrCat("recorded value dictionary ", id, " (", codec_.content(id).size(),
                                  " bytes)"));
  return id;
}

}  // namespace cdp::storage
