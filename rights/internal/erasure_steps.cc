#include "rights/internal/erasure_steps.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/key_codec.h"

namespace cdp::rights::internal {

using storage::Family;

namespace {

// Step 3 of an erasure (see the header): one batch deletes the records, suppresses the
// identifiers, marks the erasure done and audits it.
absl::Status DeleteRecords(storage::Store* store, consent::AuditLog* audit,
                           pb::ErasureRecord record, const ProfileId& profile) {
  storage::WriteBatch batch = store->NewBatch();
  for (Family family : kProfileFamilies) {
    CDP_RETURN_IF_ERROR(batch.DeletePrefix(family, storage::ProfileKey(profile)));
  }
  pb::SuppressionEntry suppressed;
  suppressed.set_erase_id(record.erase_id());
  const int64_t now = store->clock().NowMicros();
  for (const std::string& hash : record.identifier_hashes()) {
    batch.Delete(Family::kIdentifiers, hash);
    CDP_RETURN_IF_ERROR(batch.Put(Family::kSuppression, hash, {.time_micros = now},
                                  suppressed.SerializeAsString()));
  }
  for (const std::string& merged : record.merged_from()) {
    batch.Delete(Family::kRedirects, merged);
  }
  for (const std::string& key : record.dedup_keys()) batch.Delete(Family::kDedup, key);
  record.set_done(true);
  record.set_completed_micros(now);
  // Once done, only the counts are kept: the hashes have served their purpose.
  record.clear_dedup_keys();
  pb::SuppressionEntry marker;
  marker.set_erase_id(record.erase_id());
  *marker.mutable_erasure() = record;
  CDP_RETURN_IF_ERROR(batch.Put(Family::kSuppression, ErasureKey(store, profile),
                                {.time_micros = now}, marker.SerializeAsString()));
  CDP_RETURN_IF_ERROR(audit
                          ->Append(batch, {.actor = record.actor(),
                                           .act = "erase",
                                           .target = profile.ToHex(),
                                           .reason = record.reason(),
                                           .outcome = "ok",
                                           .detail = absl::StrCat(
                                               "erase_id=", record.erase_id(),
                                               " identifiers=", record.identifier_hashes_size(),
                                               " events=", record.events())})
                          .status());
  absl::Status written = store->Write(batch);
  if (!written.ok()) audit->Reload().IgnoreError();
  return written;
}

}  // namespace

std::string Bytes(const ProfileId& id) { return std::string(id.bytes().data(), ProfileId::kSize); }

// Where the erasure record of a profile lives in the suppression family.
std::string ErasureKey(storage::Store* store, const ProfileId& profile) {
  return storage::DigestKey(store->blind_index().Hash("profile_id", profile.ToHex()));
}

std::string IdentifierKey(storage::Store* store, const identity::Identifier& id) {
  return storage::DigestKey(store->blind_index().Hash(id.type, id.value));
}

absl::StatusOr<std::optional<pb::SuppressionEntry>> ReadSuppression(storage::Store* store,
                                                                     const std::string& key) {
  CDP_ASSIGN_OR_RETURN(std::optional<storage::Record> record,
                       store->Get(Family::kSuppression, key));
  if (!record) return std::nullopt;
  pb::SuppressionEntry entry;
  if (!entry.ParseFromString(record->value)) {
    return absl::DataLossError("suppression entry is not a valid record");
  }
  return entry;
}

// Adds to `record` the dedup keys of the profile's events and returns how many events it holds
// (expired ones not yet compacted away included: they are deleted too). Reads keys only, opening
// no event: each event key ends with the first 8 bytes of its message id's blind-index hash, and
// the event's dedup key is that whole hash. The dedup entries starting with those bytes are the
// profile's; another message id sharing the first 64 bits (about one chance in 2^64 per pair)
// would lose its dedup entry too, so a replay of it would be stored once more.
absl::StatusOr<uint64_t> CollectDedupKeys(storage::Store* store, const ProfileId& profile,
                                          pb::ErasureRecord* record) {
  std::vector<std::string> hash_prefixes;
  absl::Status key_status;
  CDP_RETURN_IF_ERROR(store->ScanKeysWithPrefixes(
      Family::kEvents, {storage::ProfileKey(profile)}, nullptr, [&](absl::string_view key) {
        absl::StatusOr<absl::string_view> prefix =
            identity::IdentityGraph::MessageIdHashPrefix(key);
        if (!prefix.ok()) {
          key_status = absl::DataLossError(
              absl::StrCat("events of profile ", profile.ToHex(), " hold a malformed key"));
          return false;
        }
        hash_prefixes.emplace_back(*prefix);
        return true;
      }));
  CDP_RETURN_IF_ERROR(key_status);
  const uint64_t events = hash_prefixes.size();
  std::sort(hash_prefixes.begin(), hash_prefixes.end());
  hash_prefixes.erase(std::unique(hash_prefixes.begin(), hash_prefixes.end()),
                      hash_prefixes.end());
  CDP_RETURN_IF_ERROR(store->ScanKeysWithPrefixes(
      Family::kDedup, hash_prefixes, nullptr, [&](absl::string_view key) {
        record->add_dedup_keys(std::string(key));
        return true;
      }));
  return events;
}

// Steps 2 and 3 of an erasure (see the header); idempotent, so recovery can repeat them.
absl::Status Complete(storage::Store* store, consent::AuditLog* audit, pb::ErasureRecord record) {
  CDP_ASSIGN_OR_RETURN(ProfileId profile, ProfileId::FromBytes(record.profile()));
  // Step 2, crypto-shredding, durable before any record is touched: a crash in between leaves
  // records nobody can read, never a readable person.
  CDP_RETURN_IF_ERROR(store->key_vault().DestroyKeys({profile}));
  // The wrapped key leaves the vault's files (a flush and a compaction of its range: mostly
  // synced I/O of another database) on a second thread while step 3 deletes the records.
  absl::Status purged;
  std::thread purge([&] { purged = store->key_vault().PurgeKeys({profile}); });
  absl::Status deleted = DeleteRecords(store, audit, std::move(record), profile);
  purge.join();
  CDP_RETURN_IF_ERROR(deleted);
  return purged;
}

// The second layer: the person's deleted (sealed) records leave the record database's files.
absl::Status CompactProfile(storage::Store* store, const ProfileId& profile) {
  const std::string begin = storage::ProfileKey(profile);
  return store->CompactRanges(kProfileFamilies, begin, storage::PrefixSuccessor(begin));
}

// Erasure records written (step 1) but not completed.
absl::StatusOr<std::vector<pb::ErasureRecord>> PendingErasures(storage::Store* store) {
  std::vector<pb::ErasureRecord> pending;
  absl::Status decode_status;
  CDP_RETURN_IF_ERROR(store->Scan(Family::kSuppression, "", {},
                                  [&](absl::string_view, storage::Record stored) {
                                    pb::SuppressionEntry entry;
                                    if (!entry.ParseFromString(stored.value)) {
                                      decode_status = absl::DataLossError(
                                          "suppression entry is not a valid record");
                                      return false;
                                    }
                                    if (entry.has_erasure() && !entry.erasure().done()) {
                                      pending.push_back(entry.erasure());
                                    }
                                    return true;
                                  }));
  CDP_RETURN_IF_ERROR(decode_status);
  return pending;
}

ErasureReceipt Receipt(const pb::ErasureRecord& record, const ProfileId& profile,
                       int64_t completed_micros) {
  return ErasureReceipt{.erase_id = record.erase_id(),
                        .profile = profile,
                        .completed_micros = completed_micros,
                        .identifiers = static_cast<uint64_t>(record.identifier_hashes_size()),
                        .events = record.events(),
                        .consent_entries = record.consent_entries(),
                        .merge_entries = record.merge_entries(),
                        .conversations = record.conversations(),
                        .merged_profiles = static_cast<uint64_t>(record.merged_from_size())};
}

}  // namespace cdp::rights::internal
