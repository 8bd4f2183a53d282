// Store reads: opening stored values, point reads (one key or many), prefix scans (full,
// envelope-only and keys-only) and the meta records of the default column family.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "storage/errors.h"
#include "storage/key_codec.h"
#include "storage/rocksdb_util.h"
#include "storage/store.h"
#include "storage/store_impl.h"

namespace cdp::storage {
namespace {

// Longer than any suffix after a profile id, so "prefix + padding" sorts after all its keys.
constexpr size_t kReverseSeekPadding = 64;
// ScanKeysWithPrefixes steps forward this many keys to reach the next prefix before it seeks.
constexpr int kMaxStepsBeforeSeek = 16;

}  // namespace

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

const ResidentFamily* Store::ResidentFor(Family family, const Snapshot* snapshot) const {
  if (snapshot || family != Family::kIdentifiers) return nullptr;
  const ResidentFamily* resident = impl_->resident_identifiers.get();
  return resident && resident->enabled() ? resident : nullptr;
}

absl::StatusOr<std::optional<Record>> Store::Get(Family family, absl::string_view key,
                                                 const Snapshot* snapshot) {
  DataKey data_key;
  ProfileId profile;
  if (const ResidentFamily* resident = ResidentFor(family, snapshot)) {
    std::string stored;
    switch (resident->Get(key, &stored)) {
      case ResidentFamily::Lookup::kFound:
        return OpenValue(family, key, stored, &data_key, &profile);
      case ResidentFamily::Lookup::kAbsent:
        return std::nullopt;
      case ResidentFamily::Lookup::kDisabled:
        break;  // read the database
    }
  }
  const std::shared_ptr<const DbInstance> db = ReadInstance(snapshot);
  rocksdb::ReadOptions read_options;
  if (snapshot) read_options.snapshot = snapshot->snapshot_;
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db->db()->Get(read_options, FamilyHandle(*db, family), ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  CDP_RETURN_IF_ERROR(ToAbsl(s, absl::StrCat("read from ", FamilyName(family), " failed")));
  return OpenValue(family, key, ToView(value), &data_key, &profile);
}

absl::StatusOr<std::vector<std::optional<Record>>> Store::MultiGet(
    Family family, absl::Span<const std::string> keys, const Snapshot* snapshot) {
  std::vector<std::optional<Record>> results(keys.size());
  if (keys.empty()) return results;
  DataKey data_key;
  ProfileId profile;
  if (const ResidentFamily* resident = ResidentFor(family, snapshot)) {
    std::string stored;
    size_t i = 0;
    for (; i < keys.size(); ++i) {
      const ResidentFamily::Lookup found = resident->Get(keys[i], &stored);
      if (found == ResidentFamily::Lookup::kDisabled) break;
      if (found == ResidentFamily::Lookup::kAbsent) continue;
      CDP_ASSIGN_OR_RETURN(results[i], OpenValue(family, keys[i], stored, &data_key, &profile));
    }
    if (i == keys.size()) return results;
    results.assign(keys.size(), std::nullopt);  // read them all from the database
  }
  const std::shared_ptr<const DbInstance> db = ReadInstance(snapshot);
  rocksdb::ReadOptions read_options;
  if (snapshot) read_options.snapshot = snapshot->snapshot_;
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (const std::string& key : keys) slices.push_back(ToSlice(key));
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db->db()->MultiGet(read_options, FamilyHandle(*db, family), keys.size(), slices.data(),
                     values.data(), statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    CDP_RETURN_IF_ERROR(
        ToAbsl(statuses[i], absl::StrCat("read from ", FamilyName(family), " failed")));
    CDP_ASSIGN_OR_RETURN(results[i], OpenValue(family, keys[i], ToView(values[i]), &data_key,
                                               &profile));
  }
  return results;
}

namespace {

// Sets up an iterator over the keys of `family` that start with `prefix`, positioned on the first
// (or last, for reverse) of them; it owns the bounds the read options point at.
struct PrefixIterator {
  std::string lower, upper;
  rocksdb::Slice lower_slice, upper_slice;
  std::unique_ptr<rocksdb::Iterator> it;
};

// Positions `p` on the last key of its prefix.
void SeekToLastOfPrefix(PrefixIterator* p) {
  if (p->upper.empty()) {
    p->it->SeekToLast();
  } else {
    std::string target = p->lower;
    target.append(kReverseSeekPadding, '\xff');
    p->it->SeekForPrev(target);
  }
}

void StartPrefixIterator(const DbInstance& db, Family family, absl::string_view prefix,
                         bool reverse, const rocksdb::Snapshot* snapshot, PrefixIterator* p) {
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
  if (reverse) {
    SeekToLastOfPrefix(p);
  } else {
    p->it->Seek(p->lower);
  }
}

// The records of a prefix read forward, kept in memory to be delivered newest first.
class ForwardBuffer {
 public:
  // Reads the records under the prefix from `it` (positioned on the first) up to `max`. True
  // when they were all read; false when there are more (the iterator is then left on the one
  // after `max`) or on an iterator error, which the caller checks.
  bool Fill(rocksdb::Iterator* it, absl::string_view prefix, size_t max) {
    for (; it->Valid(); it->Next()) {
      const absl::string_view key = ToView(it->key());
      if (!absl::StartsWith(key, prefix)) return true;
      if (ends_.size() == max) return false;
      const absl::string_view value = ToView(it->value());
      bytes_.append(key.data(), key.size()).append(value.data(), value.size());
      ends_.push_back({bytes_.size() - value.size(), bytes_.size()});
    }
    return it->status().ok();
  }
  size_t size() const { return ends_.size(); }
  // Record i in key order.
  absl::string_view key(size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1].value;
    return absl::string_view(bytes_).substr(begin, ends_[i].key - begin);
  }
  absl::string_view value(size_t i) const {
    return absl::string_view(bytes_).substr(ends_[i].key, ends_[i].value - ends_[i].key);
  }

 private:
  struct Ends {
    size_t key, value;  // where the record's key and value end in bytes_
  };
  std::string bytes_;  // every key and value, one after the other
  std::vector<Ends> ends_;
};

}  // namespace

absl::Status Store::Scan(Family family, absl::string_view prefix, const ScanOptions& options,
                         absl::FunctionRef<bool(absl::string_view key, Record record)> visit) {
  const std::shared_ptr<const DbInstance> db = ReadInstance(options.snapshot);
  const bool forward_first = options.reverse && options.expected_records > 0 &&
                             options.expected_records <= ScanOptions::kMaxBufferedRecords;
  PrefixIterator p;
  StartPrefixIterator(*db, family, prefix, options.reverse && !forward_first,
                      options.snapshot ? options.snapshot->snapshot_ : nullptr, &p);
  rocksdb::Iterator* it = p.it.get();
  DataKey data_key;
  ProfileId profile;
  size_t delivered = 0;
  // Opens and delivers one record; false once the scan is to stop.
  const auto deliver = [&](absl::string_view key,
                           absl::string_view value) -> absl::StatusOr<bool> {
    CDP_ASSIGN_OR_RETURN(std::optional<Record> record,
                         OpenValue(family, key, value, &data_key, &profile));
    if (!record) return true;
    ++delivered;
    return visit(key, *std::move(record));
  };
  const auto failed = [&] {
    return ToAbsl(it->status(), absl::StrCat("scan of ", FamilyName(family), " failed"));
  };
  if (forward_first) {
    ForwardBuffer buffer;
    if (buffer.Fill(it, prefix, ScanOptions::kMaxBufferedRecords)) {
      for (size_t i = buffer.size(); i-- > 0 && delivered < options.limit;) {
        CDP_ASSIGN_OR_RETURN(bool more, deliver(buffer.key(i), buffer.value(i)));
        if (!more) break;
      }
      return failed();
    }
    CDP_RETURN_IF_ERROR(failed());
    SeekToLastOfPrefix(&p);  // more than the estimate: newest first by reverse iteration
  }
  for (; it->Valid() && delivered < options.limit; options.reverse ? it->Prev() : it->Next()) {
    absl::string_view key = ToView(it->key());
    if (!absl::StartsWith(key, prefix)) break;
    CDP_ASSIGN_OR_RETURN(bool more, deliver(key, ToView(it->value())));
    if (!more) break;
  }
  return failed();
}

absl::Status Store::ScanMeta(
    Family family, absl::string_view prefix, const ScanOptions& options,
    absl::FunctionRef<bool(absl::string_view key, const RecordMeta& meta)> visit) {
  const std::shared_ptr<const DbInstance> db = ReadInstance(options.snapshot);
  PrefixIterator p;
  StartPrefixIterator(*db, family, prefix, options.reverse,
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

absl::Status Store::ScanKeysWithPrefixes(Family family, absl::Span<const std::string> prefixes,
                                         const Snapshot* snapshot,
                                         absl::FunctionRef<bool(absl::string_view key)> visit) {
  return VisitWithPrefixes(family, prefixes, snapshot,
                           [&](size_t, absl::string_view key, absl::string_view) {
                             return visit(key) ? KeyVisit::kNext : KeyVisit::kStop;
                           });
}

absl::Status Store::ScanWithPrefixes(
    Family family, absl::Span<const std::string> prefixes, const Snapshot* snapshot,
    absl::FunctionRef<bool(size_t prefix_index, absl::string_view key,
                           std::optional<Record> record)>
        visit) {
  DataKey data_key;
  ProfileId profile;
  absl::Status status;
  CDP_RETURN_IF_ERROR(VisitWithPrefixes(
      family, prefixes, snapshot, [&](size_t i, absl::string_view key, absl::string_view value) {
        absl::StatusOr<std::optional<Record>> record =
            OpenValue(family, key, value, &data_key, &profile);
        if (!record.ok()) {
          status = record.status();
          return KeyVisit::kStop;
        }
        return visit(i, key, *std::move(record)) ? KeyVisit::kNext : KeyVisit::kStop;
      }));
  return status;
}

absl::StatusOr<std::vector<uint64_t>> Store::CountKeysWithPrefixes(
    Family family, absl::Span<const std::string> prefixes, uint64_t limit,
    const Snapshot* snapshot) {
  std::vector<uint64_t> counts(prefixes.size(), 0);
  if (limit == 0) return counts;
  CDP_RETURN_IF_ERROR(
      VisitWithPrefixes(family, prefixes, snapshot,
                        [&](size_t i, absl::string_view, absl::string_view) {
                          return ++counts[i] < limit ? KeyVisit::kNext : KeyVisit::kNextPrefix;
                        }));
  return counts;
}

absl::Status Store::VisitWithPrefixes(
    Family family, absl::Span<const std::string> prefixes, const Snapshot* snapshot,
    absl::FunctionRef<KeyVisit(size_t prefix_index, absl::string_view key,
                               absl::string_view value)>
        visit) {
  if (prefixes.empty()) return absl::OkStatus();
  if (!std::is_sorted(prefixes.begin(), prefixes.end())) {
    return absl::InvalidArgumentError("scan of many prefixes: prefixes are not sorted");
  }
  const std::shared_ptr<const DbInstance> db = ReadInstance(snapshot);
  rocksdb::ReadOptions read_options;
  if (snapshot) read_options.snapshot = snapshot->snapshot_;
  // Bounds around all prefixes, so the iterator never walks (deleted) keys past the last one.
  const std::string upper = PrefixSuccessor(prefixes.back());
  const rocksdb::Slice lower_slice = ToSlice(prefixes.front()), upper_slice = ToSlice(upper);
  read_options.iterate_lower_bound = &lower_slice;
  if (!upper.empty()) read_options.iterate_upper_bound = &upper_slice;
  // When every prefix holds a whole profile id, each Seek consults the prefix bloom filters,
  // which skip the files without the profile: merges and erasures look for profiles with few
  // records or none, and a total-order seek would position in every level for each of them. The
  // iterator then stops at the end of each profile, so the next profile needs a Seek.
  const bool prefix_mode =
      IsProfilePrefixed(family) &&
      std::all_of(prefixes.begin(), prefixes.end(),
                  [](const std::string& prefix) { return prefix.size() >= ProfileId::kSize; });
  read_options.total_order_seek = !prefix_mode;
  read_options.prefix_same_as_start = prefix_mode;
  std::unique_ptr<rocksdb::Iterator> it(db->db()->NewIterator(read_options, FamilyHandle(*db, family)));
  bool positioned = false;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const std::string& prefix = prefixes[i];
    if (prefix_mode && i > 0 &&
        absl::string_view(prefix).substr(0, ProfileId::kSize) !=
            absl::string_view(prefixes[i - 1]).substr(0, ProfileId::kSize)) {
      positioned = false;
    }
    // Dense prefixes (a person's share of a small family) are reached by a few Next() calls,
    // cheaper than a Seek each; sparse ones by a Seek.
    for (int step = 0; positioned && it->Valid() && ToView(it->key()) < prefix; ++step) {
      if (step == kMaxStepsBeforeSeek) {
        positioned = false;
        break;
      }
      it->Next();
    }
    if (!positioned) {
      it->Seek(ToSlice(prefix));
      positioned = true;
    }
    for (; it->Valid(); it->Next()) {
      absl::string_view key = ToView(it->key());
      if (!absl::StartsWith(key, prefix)) break;
      const KeyVisit next = visit(i, key, ToView(it->value()));
      if (next == KeyVisit::kStop) return ToAbsl(it->status(), "scan of many prefixes failed");
      if (next == KeyVisit::kNextPrefix) {
        positioned = false;  // the rest of this prefix may be long: seek past it
        break;
      }
    }
    if (!it->Valid() && !it->status().ok()) break;  // failed
    // Past the last key: in total order nothing follows; by profile, the next profile may.
    if (!prefix_mode && positioned && !it->Valid()) break;
  }
  return ToAbsl(it->status(), absl::StrCat("scan of ", FamilyName(family), " failed"));
}

absl::StatusOr<std::optional<std::string>> Store::GetMeta(absl::string_view name,
                                                          const Snapshot* snapshot) {
  const std::shared_ptr<const DbInstance> db = ReadInstance(snapshot);
  rocksdb::ReadOptions read_options;
  if (snapshot) read_options.snapshot = snapshot->snapshot_;
  std::string value;
  rocksdb::Status s = db->db()->Get(read_options, MetaHandle(*db), MetaRecordKey(name), &value);
  if (s.IsNotFound()) return std::nullopt;
  CDP_RETURN_IF_ERROR(ToAbsl(s, "read of a meta record failed"));
  return value;
}

}  // namespace cdp::storage
