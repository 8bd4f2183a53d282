#pragma once
// Orders a write batch's operations by column family and key before it reaches the memtables,
// and gives each memtable an insert hint. Internal to storage/ (used by Store::Write and the
// column family options).
//
// A memtable is a skip list: inserting a key at a random place costs a descent from the top,
// a CPU cache miss per level (~4 µs per insert on this VM, ~22% of ingest's time). A batch of
// ingest writes ~3 records per event, each family's keys scattered. Sorted, consecutive inserts
// into one family land near each other, and with a per-memtable insert hint
// (memtable_insert_with_hint_prefix_extractor, see FamilyOptions) the skip list repairs the
// previous insert's position from the bottom up instead of descending from the top.
//
// The order changes nothing a reader can see: the batch is still applied atomically, and
// operations on the same key keep their relative order (a stable sort), so the last one wins as
// before. A range deletion's effect depends on its place among the puts, so a batch holding one
// (or any operation other than put and delete) is not reordered.

#include <memory>
#include <optional>

#include "common/profile_id.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/write_batch.h"
#include "storage/reopenable_db.h"

namespace cdp::storage {

// Batches with fewer operations are written as they are: sorting them saves nothing.
inline constexpr uint32_t kMinOperationsToOrder = 64;

// `batch` reordered by (column family id, key), or nullopt when it is not to be reordered (too
// small, or holding an operation other than put and delete). `db` supplies the column family
// handles (a batch names families by id, which every instance of the database shares).
std::optional<rocksdb::WriteBatch> OrderedByKey(const rocksdb::WriteBatch& batch,
                                                const DbInstance& db);

// Range deletions start at keys at most this long (WriteBatch::DeletePrefix enforces it).
inline constexpr size_t kMaxRangeDeletionStart = ProfileId::kSize;

// The memtable_insert_with_hint_prefix_extractor of every family: one hint (the same empty
// prefix) for every key longer than kMaxRangeDeletionStart, none for shorter keys. RocksDB 7.8
// keeps one map of hints per memtable for both its point keys and its range deletions (fixed
// upstream in facebook/rocksdb#12558): a range deletion inserted with a point key's hint walks
// the wrong skip list (Debian's build asserts; a build without assertions corrupts it). Range
// deletions start at short keys, so they never take a hint. Point keys of a profile id's length
// or less (redirects) simply go without one.
std::shared_ptr<const rocksdb::SliceTransform> InsertHintExtractor();

}  // namespace cdp::storage
