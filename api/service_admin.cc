// Operations calls: rotateKeys, backup, stats, health.

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "api/service_internal.h"

namespace cdp::api {

void ConnectionHandler::rotateKeys(t::RotateKeysResponse& out,
                                   const t::RotateKeysRequest& request) {
  Run(CallId::kRotateKeys, request.token, kAdminOnly, Admission::Kind::kWrite,
      [&](const Caller& caller) -> absl::Status {
        auto report =
            core_->stack().rights->RotateKeys({.actor = caller.name, .reason = request.reason});
        if (!report.ok()) return report.status();
        out.kek_version = static_cast<int32_t>(report->new_version);
        out.keys_rewrapped = static_cast<int64_t>(report->rewrapped);
        return absl::OkStatus();
      });
}

void ConnectionHandler::backup(t::BackupResponse& out, const t::BackupRequest& request) {
  Run(CallId::kBackup, request.token, kAdminOnly, Admission::Kind::kWrite,
      [&](const Caller& caller) -> absl::Status {
        if (request.directory.empty()) return absl::InvalidArgumentError("directory: required");
        const std::filesystem::path dir(request.directory);
        if (!dir.is_absolute()) {
          return absl::InvalidArgumentError(
              "directory: must be an absolute path on the server's host");
        }
        absl::Status status = core_->stack().store->Checkpoint(dir.string());
        auto entry = core_->stack().audit->Append(
            {.actor = caller.name,
             .act = "backup",
             .outcome = status.ok() ? "ok" : absl::StatusCodeToString(status.code()),
             .detail = dir.string()});
        if (!status.ok()) return status;
        if (!entry.ok()) return entry.status();
        out.directory = dir.string();
        return absl::OkStatus();
      });
}

void ConnectionHandler::stats(t::StatsResponse& out, const t::StatsRequest& request) {
  Run(CallId::kStats, request.token, kAdminOnly, Admission::Kind::kAlways,
      [&](const Caller& caller) -> absl::Status {
        for (const auto& snapshot : core_->metrics().Snapshot()) {
          t::CallStats& s = out.calls.emplace_back();
          s.call = snapshot.call;
          s.count = static_cast<int64_t>(snapshot.count);
          s.errors = static_cast<int64_t>(snapshot.errors);
          s.shed = static_cast<int64_t>(snapshot.shed);
          s.p50_us = snapshot.p50_us;
          s.p99_us = snapshot.p99_us;
          s.p999_us = snapshot.p999_us;
        }
        for (auto& [name, value] : core_->Gauges()) out.counters[name] = value;
        return absl::OkStatus();
      });
}

void ConnectionHandler::health(t::HealthResponse& out, const t::HealthRequest& request) {
  // Anyone who can connect may ask; no token is checked and nothing personal is returned.
  const absl::Time start = absl::Now();
  out.status = core_->shutting_down.load() ? "shutting_down" : "serving";
  out.version = CDP_VERSION;
  out.uptime_seconds = absl::ToInt64Seconds(absl::Now() - core_->started());
  core_->metrics().Record(static_cast<size_t>(CallId::kHealth),
                          absl::ToInt64Microseconds(absl::Now() - start), CallResult::kOk);
}

}  // namespace cdp::api
