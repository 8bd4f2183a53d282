// Store::AddDictionary, the dictionaries' first ratios and the loading of dictionaries at open:
// the value dictionaries of DictionaryCodec, kept in one sealed meta record.

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
  absl::MutexLock lock(&dictionaries_mu_);
  for (int i = 0; i < recorded.dictionaries_size(); ++i) {
    pb::ValueDictionaries::Dictionary* dictionary = recorded.mutable_dictionaries(i);
    absl::Status added =
        codec_.Add(static_cast<uint32_t>(i + 1), std::move(*dictionary->mutable_content()));
    if (!added.ok()) {
      return absl::DataLossError(absl::StrCat("recorded value dictionary ", i + 1,
                                              " cannot be loaded: ", added.message()));
    }
    dictionary_info_.push_back(
        {.created_micros = dictionary->created_micros(), .first_ratio = dictionary->first_ratio()});
  }
  return absl::OkStatus();
}

absl::Status Store::WriteDictionaries(const std::vector<DictionaryInfo>& info,
                                      absl::string_view added) {
  pb::ValueDictionaries recorded;
  for (uint32_t id = 1; id <= info.size(); ++id) {
    pb::ValueDictionaries::Dictionary* dictionary = recorded.add_dictionaries();
    dictionary->set_content(std::string(id <= codec_.current() ? codec_.content(id) : added));
    dictionary->set_created_micros(info[id - 1].created_micros);
    dictionary->set_first_ratio(info[id - 1].first_ratio);
  }
  std::string sealed;
  CDP_RETURN_IF_ERROR(crypto::AesGcmSeal(DeriveKey(kDictionariesPurpose), kDictionariesRecord,
                                         recorded.SerializeAsString(), &sealed));
  WriteBatch batch = NewBatch();
  batch.PutMeta(kDictionariesRecord, sealed);
  return Write(batch);
}

absl::StatusOr<uint32_t> Store::AddDictionary(std::string content) {
  absl::MutexLock lock(&dictionaries_mu_);
  const uint32_t id = codec_.current() + 1;
  if (id > DictionaryCodec::kMaxDictionaries) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", DictionaryCodec::kMaxDictionaries, " dictionaries per store"));
  }
  // Checked by the codec before anything is written: a dictionary zstd cannot load must never
  // be recorded, or the store would not open again.
  DictionaryCodec probe;
  CDP_RETURN_IF_ERROR(probe.Add(1, content));
  std::vector<DictionaryInfo> info = dictionary_info_;
  info.push_back({.created_micros = clock_->NowMicros()});
  CDP_RETURN_IF_ERROR(WriteDictionaries(info, content));
  CDP_RETURN_IF_ERROR(codec_.Add(id, std::move(content)));
  dictionary_info_ = std::move(info);
  LogInfo("storage", absl::StrCat("recorded value dictionary ", id, " (", codec_.content(id).size(),
                                  " bytes)"));
  return id;
}

double Store::DictionaryFirstRatio(uint32_t id) const {
  absl::MutexLock lock(&dictionaries_mu_);
  return id >= 1 && id <= dictionary_info_.size() ? dictionary_info_[id - 1].first_ratio : 0;
}

absl::Status Store::RecordDictionaryRatio(uint32_t id, double ratio) {
  absl::MutexLock lock(&dictionaries_mu_);
  if (id < 1 || id > dictionary_info_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("no value dictionary ", id));
  }
  if (!(ratio > 0)) return absl::InvalidArgumentError("a compression ratio must be positive");
  std::vector<DictionaryInfo> info = dictionary_info_;
  info[id - 1].first_ratio = ratio;
  CDP_RETURN_IF_ERROR(WriteDictionaries(info, {}));
  dictionary_info_ = std::move(info);
  return absl::OkStatus();
}

}  // namespace cdp::storage
