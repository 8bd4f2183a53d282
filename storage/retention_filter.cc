#include "storage/retention_filter.h"

#include "storage/record.h"
#include "storage/rocksdb_util.h"

namespace cdp::storage {

bool RetentionFilter::Filter(int /*level*/, const rocksdb::Slice& /*key*/,
                             const rocksdb::Slice& existing_value, std::string* /*new_value*/,
                             bool* /*value_changed*/) const {
  absl::StatusOr<envelope::Parsed> parsed = envelope::Parse(ToView(existing_value));
  if (!parsed.ok()) return false;
  return policy_->IsExpired(family_, parsed->meta, clock_->NowMicros());
}

}  // namespace cdp::storage
