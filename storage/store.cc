#include "storage/store.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "rocksdb/utilities/checkpoint.h"
#include "storage/errors.h"
#include "storage/key_codec.h"
#include "storage/rocksdb_util.h"
#include "storage/store_impl.h"

namespace cdp::storage {
namespace {

// Longer than any suffix after a profile id, so "prefix + padding" sorts after all its keys.
constexpr size_t kReverseSeekPadding = 64;

}  // namespace

std::string SealAad(Family family, absl::string_view key, absl::string_view header) {
  std::string aad;
  aad.reserve(1 + key.size() + header.size());
  aad.push_back(static_cast<char>(family));
  aad.append(key.data(), key.size());
  aad.append(header.data(), header.size());
  return aad;
}

Store::Store(StoreOptions options, std::unique_ptr<Impl> impl)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &SystemClock::Default()),
      impl_(std::move(impl)) {}

Store::~Store() {
  vault_.reset();
  impl_.reset();
}

absl::Status Store::Write(WriteBatch& batch) {
  if (batch.store_ != this) return absl::InvalidArgumentError("batch belongs to another store");
  if (!batch.destroyed_keys_.empty()) {
    CDP_RETURN_IF_ERROR(vault_->DestroyKeys(batch.destroyed_keys_));
  }
  if (!batch.new_keys_.empty()) {
    std::vector<std::pair<ProfileId, DataKey>> keys(batch.new_keys_.begin(),
                                                    batch.new_keys_.end());
    CDP_RETURN_IF_ERROR(vault_->PutKeys(keys));
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  CDP_RETURN_IF_ERROR(impl_->db->Write(write_options, batch.batch_.get(), "write failed"));
  if (!batch.retired_keys_.empty()) {
    // The records are durable: failing here leaves unused keys, not a failed write.
    if (absl::Status s = vault_->DestroyKeys(batch.retired_keys_); !s.ok()) {
      LogWarning("storage", absl::StrCat("retired data keys not destroyed: ", s.ToString()));
    }
  }
  return absl::OkStatus();
}

Snapshot::Snapshot(std::shared_ptr<const DbInstance> db)
    : db_(std::move(db)), snapshot_(db_->db()->GetSnapshot()) {}

Snapshot::~Snapshot() { db_->db()->ReleaseSnapshot(snapshot_); }

std::unique_ptr<Snapshot> Store::GetSnapshot() {
  return std::unique_ptr<Snapshot>(new Snapshot(impl_->db->Current()));
}

std::shared_ptr<const DbInstance> Store::ReadInstance(const Snapshot* snapshot) const {
  return snapshot ? snapshot->db_ : impl_->db->Current();
}

absl::StatusOr<std::optional<Record>> Store::OpenValue(Family family, absl::string_view key,
                                                       absl::string_view value,
                                                       DataKey* cached_key,
                                                       ProfileId* cached_profile) {
  CDP_ASSIGN_OR_RETURN(envelope::Parsed parsed, envelope::Parse(value));
  const bool sealed = parsed.format == envelope::Format::kSealed;
  if (sealed != IsSealed(family)) {
    return absl::DataLossError(absl::StrCat("record in ", FamilyName(family), " is ",
                                            sealed ? "sealed" : "not sealed", " unexpectedly"));
  }
  if (options_.retention &&
      options_.retention->IsExpired(family, parsed.meta, clock_->NowMicros())) {
    return std::nullopt;
  }
  Record record{.meta = parsed.meta, .value = {}};
  if (!sealed) {
    record.value.assign(parsed.body.data(), parsed.body.size());
    return record;
  }
  CDP_ASSIGN_OR_RETURN(ProfileId profile, ParseProfilePrefix(key));
  if (!*cached_key || *cached_profile != profile) {
    CDP_ASSIGN_OR_RETURN(*cached_key, vault_->GetKey(profile));
    *cached_profile = profile;
  }
  absl::Status s =
      crypto::AesGcmOpen(**cached_key, SealAad(family, key, parsed.header), parsed.body,
                         &record.value);
  if (absl::IsDataLoss(s)) {
    return absl::DataLossError(absl::StrCat(
        "record in ", FamilyName(family), " of profile ", profile.ToHex(),
        " does not authenticate under its data key: tampered with or moved from another key"));
  }
  CDP_RETURN_IF_ERROR(s);
  return record;
}

absl::StatusOr<std::optional<Record>> Store::Get(Family family, absl::string_view key,
                                                 const Snapshot* snapshot) {
  const std::shared_ptr<const DbInstance> db = ReadInstance(snapshot);
  rocksdb::ReadOptions read_options;
  if (snapshot) read_options.snapshot = snapshot->snapshot_;
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db->db()->Get(read_options, FamilyHandle(*db, family), ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  CDP_RETURN_IF_ERROR(ToAbsl(s, absl::StrCat("read from ", FamilyName(family), " failed")));
  DataKey data_key;
  ProfileId profile;
  return OpenValue(family, key, ToView(value), &data_key, &profile);
}

namespace {

// Sets up an iterator over the keys of `family` that start with `prefix`, positioned on the first
// (or last, for reverse) of them; it owns the bounds the read options point at.
struct PrefixIterator {
  std::string lower, upper;
  rocksdb::Slice lower_slice, upper_slice;
  std::unique_ptr<rocksdb::Iterator> it;
};

void StartPrefixIterator(const DbInstance& db, Family family, absl::string_view prefix,
                         const ScanOptions& options, const rocksdb::Snapshot* snapshot,
                         PrefixIterator* p) {
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  p->lower.assign(prefix.data(), prefix.size());
  p->upper = PrefixSuccessor(prefix);
  p->lower_slice = rocksdb::Slice(p->lower);
  p->upper_slice = rocksdb::Slice(p->upper);
  read_options.iterate_lower_bound = &p->lower_slice;
  if (!p->upper.empty()) read_options.iterate_upper_bound = &p->upper_slice;
  // The prefix bloom filter serves seeks (Seek, and SeekForPrev to a target with the same
  // prefix) on a whole profile id; anything else must see the whole key space.
  const bool prefix_mode = IsProfilePrefixed(family) && prefix.size() >= ProfileId::kSize;
  read_options.total_order_seek = !prefix_mode;
  read_options.prefix_same_as_start = prefix_mode;
  p->it.reset(db.db()->NewIterator(read_options, FamilyHandle(db, family)));
  if (options.reverse) {
    if (p->upper.empty()) {
      p->it->SeekToLast();
    } else {
      std::string target = p->lower;
      target.append(kReverseSeekPadding, '\xff');
      p->it->SeekForPrev(target);
    }
  } else {
    p->it->Seek(p->lower);
  }
}

}  // namespace

absl::Status Store::Scan(Family family, absl::string_view prefix, const ScanOptions& options,
                         absl::FunctionRef<bool(absl::string_view key, Record record)> visit) {
  const std::shared_ptr<const DbInstance> db = ReadInstance(options.snapshot);
  PrefixIterator p;
  StartPrefixIterator(*db, family, prefix, options,
                      options.snapshot ? options.snapshot->snapshot_ : nullptr, &p);
  rocksdb::Iterator* it = p.it.get();
  DataKey data_key;
  ProfileId profile;
  size_t delivered = 0;
  for (; it->Valid() && delivered < options.limit; options.reverse ? it->Prev() : it->Next()) {
    absl::string_view key = ToView(it->key());
    if (!absl::StartsWith(key, prefix)) break;
    CDP_ASSIGN_OR_RETURN(std::optional<Record> record,
                         OpenValue(family, key, ToView(it->value()), &data_key, &profile));
    if (!record) continue;
    ++delivered;
    if (!visit(key, *std::move(record))) break;
  }
  return ToAbsl(it->status(), absl::StrCat("scan of ", FamilyName(family), " failed"));
}

absl::Status Store::ScanMeta(
    Family family, absl::string_view prefix, const ScanOptions& options,
    absl::FunctionRef<bool(absl::string_view key, const RecordMeta& meta)> visit) {
  const std::shared_ptr<const DbInstance> db = ReadInstance(options.snapshot);
  PrefixIterator p;
  StartPrefixIterator(*db, family, prefix, options,
                      options.snapshot ? options.snapshot->snapshot_ : nullptr, &p);
  rocksdb::Iterator* it = p.it.get();
  const int64_t now = clock_->NowMicros();
  size_t delivered = 0;
  for (; it->Valid() && delivered < options.limit; options.reverse ? it->Prev() : it->Next()) {
    absl::string_view key = ToView(it->key());
    if (!absl::StartsWith(key, prefix)) break;
    CDP_ASSIGN_OR_RETURN(envelope::Parsed parsed, envelope::Parse(ToView(it->value())));
    if (options_.retention && options_.retention->IsExpired(family, parsed.meta, now)) continue;
    ++delivered;
    if (!visit(key, parsed.meta)) break;
  }
  return ToAbsl(it->status(), absl::StrCat("scan of ", FamilyName(family), " failed"));
}

absl::Status Store::Checkpoint(const std::string& dir) {
  CDP_ASSIGN_OR_RETURN(std::shared_ptr<const DbInstance> db, impl_->db->Writable());
  rocksdb::Checkpoint* raw = nullptr;
  CDP_RETURN_IF_ERROR(
      ToAbsl(rocksdb::Checkpoint::Create(db->db(), &raw), "cannot start checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return ToAbsl(checkpoint->CreateCheckpoint(dir), absl::StrCat("checkpoint to ", dir, " failed"));
}

absl::Status Store::CompactRange(Family family, absl::string_view begin, absl::string_view end) {
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  rocksdb::Slice begin_slice = ToSlice(begin), end_slice = ToSlice(end);
  // CompactRange flushes the memtable first when it overlaps the range.
  CDP_ASSIGN_OR_RETURN(std::shared_ptr<const DbInstance> db, impl_->db->Writable());
  rocksdb::Status s = db->db()->CompactRange(compact, FamilyHandle(*db, family),
                                             begin.empty() ? nullptr : &begin_slice,
                                             end.empty() ? nullptr : &end_slice);
  impl_->db->ReportError(*db, s);
  return ToAbsl(s, absl::StrCat("compaction of ", FamilyName(family), " failed"));
}

absl::Status Store::CompactRanges(absl::Span<const Family> families, absl::string_view begin,
                                  absl::string_view end) {
  {
    CDP_ASSIGN_OR_RETURN(std::shared_ptr<const DbInstance> db, impl_->db->Writable());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    for (Family family : families) handles.push_back(FamilyHandle(*db, family));
    rocksdb::Status s = db->db()->Flush(rocksdb::FlushOptions(), handles);
    impl_->db->ReportError(*db, s);
    CDP_RETURN_IF_ERROR(ToAbsl(s, "flush failed"));
  }
  for (Family family : families) CDP_RETURN_IF_ERROR(CompactRange(family, begin, end));
  return absl::OkStatus();
}

absl::Status Store::CompactAll() {
  for (Family family : kAllFamilies) CDP_RETURN_IF_ERROR(CompactRange(family));
  // The default family holds only store meta, but its WAL share must go too.
  CDP_ASSIGN_OR_RETURN(std::shared_ptr<const DbInstance> db, impl_->db->Writable());
  rocksdb::Status s = db->db()->Flush(rocksdb::FlushOptions(), MetaHandle(*db));
  impl_->db->ReportError(*db, s);
  CDP_RETURN_IF_ERROR(ToAbsl(s, "flush failed"));
  return vault_->Purge();
}

absl::StatusOr<RotationReport> Store::RotateKeys() { return vault_->RotateKek(impl_->key_file); }

absl::StatusOr<StoreStats> Store::Stats() {
  StoreStats stats;
  const std::shared_ptr<const DbInstance> db = impl_->db->Current();
  for (Family family : kAllFamilies) {
    db->db()->GetIntProperty(FamilyHandle(*db, family), "rocksdb.estimate-num-keys",
                             &stats.estimated_keys[static_cast<size_t>(family)]);
  }
  db->db()->GetAggregatedIntProperty("rocksdb.live-sst-files-size", &stats.live_sst_bytes);
  db->db()->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &stats.memtable_bytes);
  stats.recovering = impl_->db->recovering() || vault_->recovering();
  stats.reopens = impl_->db->reopens() + vault_->reopens();
  stats.block_cache_usage_bytes = impl_->block_cache->GetUsage();
  return stats;
}

}  // namespace cdp::storage
