#pragma once
// Conversions between RocksDB and absl types: the one place where rocksdb::Status becomes an
// absl::Status, and Slice <-> absl::string_view (Debian's Abseil has its own string_view type);
// and the table options the record database and the key vault share. Internal to storage/.

#include "absl/strings/string_view.h"

#include <memory>

#include "absl/status/status.h"
#include "rocksdb/slice.h"
#include "rocksdb/status.h"
#include "rocksdb/table.h"

namespace cdp::storage {

// Corruption -> kDataLoss, Busy -> kAborted, TryAgain/TimedOut -> kUnavailable,
// NoSpace -> kResourceExhausted, NotFound -> kNotFound, InvalidArgument -> kInvalidArgument,
// IOError -> kUnavailable (kResourceExhausted when the disk is full), others -> kInternal.
inline rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
inline absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

absl::Status ToAbsl(const rocksdb::Status& status, absl::string_view context);

// Block-based table options for data read mostly by point lookups: a whole-key bloom filter, and
// a hash index inside each data block that finds a key without the binary search and the linear
// walk of its restart interval. `cache` null: blocks bypass the block cache (mapped reads of
// uncompressed files use them in place).
rocksdb::BlockBasedTableOptions PointReadTableOptions(std::shared_ptr<rocksdb::Cache> cache);

}  // namespace cdp::storage
