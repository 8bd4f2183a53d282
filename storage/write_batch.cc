#include "storage/store.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "rocksdb/write_batch.h"
#include "storage/key_codec.h"
#include "storage/rocksdb_util.h"
#include "storage/store_impl.h"
#include "storage/write_order.h"

namespace cdp::storage {

// A rocksdb::WriteBatch records column family ids only, which every instance of the database
// shares: the handles of whichever instance is current when an operation is added will do.

bool WriteBatch::IsResident(Family family) const {
  return family == Family::kIdentifiers && store_->impl_->resident_identifiers != nullptr;
}

WriteBatch::WriteBatch(Store* store)
    : store_(store), batch_(std::make_unique<rocksdb::WriteBatch>()) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

absl::Status WriteBatch::Put(Family family, absl::string_view key, const RecordMeta& meta,
                             absl::string_view value) {
  std::string stored;
  if (IsSealed(family)) {
    CDP_ASSIGN_OR_RETURN(ProfileId profile, ParseProfilePrefix(key));
    DataKey data_key;
    if (auto it = new_keys_.find(profile); it != new_keys_.end()) {
      data_key = it->second;
    } else if (auto used = used_keys_.find(profile); used != used_keys_.end()) {
      data_key = used->second;
    } else {
      CDP_ASSIGN_OR_RETURN(data_key, store_->vault_->GetKey(profile));
      used_keys_.emplace(profile, data_key);
    }
    stored.reserve(envelope::kHeaderSize + value.size() + crypto::kGcmOverhead);
    envelope::AppendHeader(envelope::Format::kSealed, meta, &stored);
    const std::string aad = SealAad(family, key, stored);
    CDP_RETURN_IF_ERROR(crypto::AesGcmSeal(*data_key, aad, value, &stored));
  } else {
    stored.reserve(envelope::kHeaderSize + value.size());
    envelope::AppendHeader(envelope::Format::kPlain, meta, &stored);
    absl::StrAppend(&stored, value);
  }
  const std::shared_ptr<const DbInstance> db = store_->impl_->db->Current();
  batch_->Put(FamilyHandle(*db, family), ToSlice(key), stored).PermitUncheckedError();
  if (IsResident(family)) {
    resident_changes_.push_back(
        {ResidentFamily::Change::Kind::kPut, std::string(key), std::move(stored)});
  }
  return absl::OkStatus();
}

void WriteBatch::Delete(Family family, absl::string_view key) {
  const std::shared_ptr<const DbInstance> db = store_->impl_->db->Current();
  batch_->Delete(FamilyHandle(*db, family), ToSlice(key)).PermitUncheckedError();
  if (IsResident(family)) {
    resident_changes_.push_back({ResidentFamily::Change::Kind::kDelete, std::string(key), {}});
  }
}

absl::Status WriteBatch::MoveToProfile(Family family, absl::string_view key,
                                       const Record& record, const ProfileId& to) {
  if (key.size() < ProfileId::kSize) {
    return absl::InvalidArgumentError("MoveToProfile: key is shorter than a profile id");
  }
  CDP_RETURN_IF_ERROR(Put(family, ProfileChildKey(to, key.substr(ProfileId::kSize)), record.meta,
                          record.value));
  Delete(family, key);
  return absl::OkStatus();
}

absl::Status WriteBatch::DeletePrefix(Family family, absl::string_view prefix) {
  if (prefix.empty() || prefix.size() > kMaxRangeDeletionStart) {
    return absl::InvalidArgumentError(
        absl::StrCat("DeletePrefix: a prefix of ", prefix.size(), " bytes; 1 to ",
                     kMaxRangeDeletionStart, " allowed"));
  }
  std::string end = PrefixSuccessor(prefix);
  if (end.empty()) end.assign(prefix.size() + 1, '\xff');
  const std::shared_ptr<const DbInstance> db = store_->impl_->db->Current();
  batch_->DeleteRange(FamilyHandle(*db, family), ToSlice(prefix), end).PermitUncheckedError();
  if (IsResident(family)) {
    resident_changes_.push_back(
        {ResidentFamily::Change::Kind::kDeletePrefix, std::string(prefix), {}});
  }
  return absl::OkStatus();
}

void WriteBatch::PutMeta(absl::string_view name, absl::string_view value) {
  const std::shared_ptr<const DbInstance> db = store_->impl_->db->Current();
  batch_->Put(MetaHandle(*db), MetaRecordKey(name), ToSlice(value)).PermitUncheckedError();
}

void WriteBatch::DeleteMeta(absl::string_view name) {
  const std::shared_ptr<const DbInstance> db = store_->impl_->db->Current();
  batch_->Delete(MetaHandle(*db), MetaRecordKey(name)).PermitUncheckedError();
}

absl::Status WriteBatch::CreateDataKey(const ProfileId& profile) {
  auto [it, inserted] = new_keys_.try_emplace(profile, nullptr);
  if (!inserted) {
    return absl::AlreadyExistsError(
        absl::StrCat("batch already created a data key for profile ", profile.ToHex()));
  }
  it->second = KeyVault::NewKey();
  return absl::OkStatus();
}

void WriteBatch::DestroyDataKey(const ProfileId& profile) { destroyed_keys_.push_back(profile); }

void WriteBatch::RetireDataKey(const ProfileId& profile) { retired_keys_.push_back(profile); }

size_t WriteBatch::count() const { return batch_->Count(); }
size_t WriteBatch::byte_size() const { return batch_->GetDataSize(); }

}  // namespace cdp::storage
