#pragma once
// RocksDB compaction filter that drops records the retention policy says have expired.
// Internal to storage/: Store installs one per column family when a policy is configured.

#include <memory>

#include "common/clock.h"
#include "rocksdb/compaction_filter.h"
#include "storage/family.h"
#include "storage/retention_hook.h"

namespace cdp::storage {

class RetentionFilter final : public rocksdb::CompactionFilter {
 public:
  RetentionFilter(Family family, std::shared_ptr<const RetentionPolicy> policy, Clock* clock)
      : family_(family), policy_(std::move(policy)), clock_(clock) {}

  // Keeps anything it cannot parse: a compaction filter must never be the one to lose data that
  // a reader would report as corrupt.
  bool Filter(int level, const rocksdb::Slice& key, const rocksdb::Slice& existing_value,
              std::string* new_value, bool* value_changed) const override;

  const char* Name() const override { return "cdp.RetentionFilter"; }

 private:
  Family family_;
  std::shared_ptr<const RetentionPolicy> policy_;
  Clock* clock_;
};

}  // namespace cdp::storage
