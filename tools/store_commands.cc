#include "tools/store_commands.h"

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "storage/key_codec.h"
#include "storage/store.h"

namespace cdp::tools {
namespace {

using storage::Family;

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "cdp: %s\n", status.ToString().c_str());
  return 1;
}

absl::StatusOr<std::unique_ptr<storage::Store>> OpenStore(const std::string& data_dir,
                                                          bool create) {
  storage::StoreOptions options;
  options.data_dir = data_dir;
  options.create_if_missing = create;
  options.block_cache_bytes = 64 << 20;
  return storage::Store::Open(options);
}

}  // namespace

int RunStats(const std::string& data_dir) {
  auto store = OpenStore(data_dir, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto stats = (*store)->Stats();
  if (!stats.ok()) return Fail(stats.status());
  std::printf("%-16s %s\n", "family", "estimated records");
  for (Family family : storage::kAllFamilies) {
    std::printf("%-16.*s %llu\n", static_cast<int>(storage::FamilyName(family).size()),
                storage::FamilyName(family).data(),
                static_cast<unsigned long long>(
                    stats->estimated_keys[static_cast<size_t>(family)]));
  }
  std::printf("live SST bytes   %llu\nmemtable bytes   %llu\n",
              static_cast<unsigned long long>(stats->live_sst_bytes),
              static_cast<unsigned long long>(stats->memtable_bytes));
  return 0;
}

int RunBackup(const std::string& data_dir, const std::string& backup_dir) {
  auto store = OpenStore(data_dir, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  if (auto s = (*store)->Checkpoint(backup_dir); !s.ok()) return Fail(s);
  std::printf("Checkpoint written to %s (record database only: keep the key vault and key file\n"
              "of the live store to restore it)\n",
              backup_dir.c_str());
  return 0;
}

}  // namespace cdp::tools
