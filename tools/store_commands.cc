#include "tools/store_commands.h"

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "storage/key_codec.h"
#include "storage/store.h"

namespace cdp::tools {
namespace {

using storage::Family;

constexpr char kDemoProfileHex[] = "00000000000000000000000000000d30";

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

int RunDemo(const std::string& data_dir) {
  auto store = OpenStore(data_dir, /*create=*/true);
  if (!store.ok()) return Fail(store.status());
  const ProfileId demo = ProfileId::FromHex(kDemoProfileHex).value();
  const std::string profile_key = storage::ProfileKey(demo);

  auto existing = (*store)->Get(Family::kProfiles, profile_key);
  if (!existing.ok()) return Fail(existing.status());
  const int64_t now = (*store)->clock().NowMicros();
  storage::WriteBatch batch = (*store)->NewBatch();
  if (!existing->has_value()) {
    if (auto s = batch.CreateDataKey(demo); !s.ok()) return Fail(s);
    if (auto s = batch.Put(Family::kProfiles, profile_key, {.time_micros = now},
                           R"({"name":"Ada Demo","plan":"gold"})");
        !s.ok()) {
      return Fail(s);
    }
  }
  const std::string event = absl::StrCat(R"({"event":"Demo Run","at":)", now, "}");
  if (auto s = batch.Put(Family::kEvents, storage::ProfileRecordKey(demo, now, /*seq=*/0),
                         {.time_micros = now}, event);
      !s.ok()) {
    return Fail(s);
  }
  if (auto s = (*store)->Write(batch); !s.ok()) return Fail(s);

  auto profile = (*store)->Get(Family::kProfiles, profile_key);
  if (!profile.ok()) return Fail(profile.status());
  std::printf("Store at %s (records sealed with AES-256-GCM, one data key per profile)\n",
              data_dir.c_str());
  std::printf("Sample profile %s: %s\n", demo.ToHex().c_str(), (*profile)->value.c_str());
  std::printf("Last events, newest first:\n");
  absl::Status scan = (*store)->Scan(
      Family::kEvents, profile_key, {.reverse = true, .limit = 5},
      [](absl::string_view, storage::Record record) {
        std::printf("  %s\n", record.value.c_str());
        return true;
      });
  if (!scan.ok()) return Fail(scan);
  std::printf(
      "\nRun `make run` again to append another event. The Thrift server (`cdp serve`) and the\n"
      "client subcommands arrive with the API; see README.md.\n");
  return 0;
}

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

int RunRotateKeys(const std::string& data_dir) {
  auto store = OpenStore(data_dir, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto report = (*store)->RotateKeys();
  if (!report.ok()) return Fail(report.status());
  std::printf("Key-encryption key version %u is now active; %llu data keys rewrapped\n",
              report->new_version, static_cast<unsigned long long>(report->rewrapped));
  return 0;
}

}  // namespace cdp::tools
