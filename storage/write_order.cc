#include "storage/write_order.h"

#include <algorithm>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace cdp::storage {
namespace {

struct Operation {
  uint32_t family;
  rocksdb::Slice key;
  rocksdb::Slice value;
  bool is_delete;
};

// Collects puts and deletes; refuses (ending the iteration) anything else.
class Collector : public rocksdb::WriteBatch::Handler {
 public:
  explicit Collector(std::vector<Operation>* out) : out_(out) {}
  rocksdb::Status PutCF(uint32_t family, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    out_->push_back({family, key, value, false});
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t family, const rocksdb::Slice& key) override {
    out_->push_back({family, key, {}, true});
    return rocksdb::Status::OK();
  }
  // Everything else keeps the handler's default, which fails the iteration.

 private:
  std::vector<Operation>* out_;
};

class LongKeysShareOneHint : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "cdp.LongKeysShareOneHint"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), 0);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() > kMaxRangeDeletionStart;
  }
};

}  // namespace

std::shared_ptr<const rocksdb::SliceTransform> InsertHintExtractor() {
  static const std::shared_ptr<const rocksdb::SliceTransform> extractor =
      std::make_shared<LongKeysShareOneHint>();
  return extractor;
}

std::optional<rocksdb::WriteBatch> OrderedByKey(const rocksdb::WriteBatch& batch,
                                                const DbInstance& db) {
  if (batch.Count() < kMinOperationsToOrder) return std::nullopt;
  std::vector<Operation> operations;
  operations.reserve(batch.Count());
  Collector collector(&operations);
  if (!batch.Iterate(&collector).ok() || operations.size() != batch.Count()) return std::nullopt;
  absl::flat_hash_map<uint32_t, rocksdb::ColumnFamilyHandle*> handles;
  for (size_t i = 0; i < db.handle_count(); ++i) handles[db.handle(i)->GetID()] = db.handle(i);
  std::stable_sort(operations.begin(), operations.end(),
                   [](const Operation& a, const Operation& b) {
                     if (a.family != b.family) return a.family < b.family;
                     return a.key.compare(b.key) < 0;
                   });
  rocksdb::WriteBatch ordered(batch.GetDataSize());
  for (const Operation& op : operations) {
    auto it = handles.find(op.family);
    if (it == handles.end()) return std::nullopt;
    rocksdb::Status s = op.is_delete ? ordered.Delete(it->second, op.key)
                                     : ordered.Put(it->second, op.key, op.value);
    if (!s.ok()) return std::nullopt;
  }
  return ordered;
}

}  // namespace cdp::storage
