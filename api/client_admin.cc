// Client subcommands for operations: audit list|verify, keys rotate, backup, stats, health.

#include "api/client_internal.h"

namespace cdp::api {

int RunAuditList(const ClientOptions& options, const std::string& who, int64_t from_micros,
                 int64_t to_micros, int limit) {
  t::AuditLogRequest request;
  if (!who.empty()) {
    auto person = ParsePerson(who);
    if (!person.ok()) return PrintError(person.status());
    request.__set_subject(*person);
  }
  if (from_micros > 0) request.__set_from_micros(from_micros);
  if (to_micros > 0) request.__set_to_micros(to_micros);
  request.__set_limit(limit);
  return WithServer(options, [&](Connection& c) {
    request.token = c.token();
    t::AuditLogResponse response;
    c.rpc().auditLog(response, request);
    if (options.json) {
      PrintJson(response);
      return 0;
    }
    std::printf("%-6s %-23s %-14s %-16s %-12s %s\n", "seq", "time", "actor", "act", "outcome",
                "target");
    for (const auto& e : response.entries) {
      std::printf("%-6lld %-23s %-14s %-16s %-12s %s%s%s\n", static_cast<long long>(e.seq),
                  FormatTime(e.time_micros).c_str(), e.actor.c_str(), e.act.c_str(),
                  e.outcome.c_str(), e.target.c_str(), e.reason.empty() ? "" : "  reason: ",
                  e.reason.c_str());
    }
    return 0;
  });
}

int RunAuditVerify(const ClientOptions& options) {
  return WithServer(options, [&](Connection& c) {
    t::VerifyAuditRequest request;
    request.token = c.token();
    t::VerifyAuditResponse response;
    c.rpc().verifyAudit(response, request);
    if (options.json) {
      PrintJson(response);
    } else {
      if (response.ok) {
        std::printf("Audit chain verified: %lld entries, no broken link\n",
                    static_cast<long long>(response.entries));
      } else {
        std::printf("Audit chain BROKEN at entry %lld: %s\n",
                    static_cast<long long>(response.first_broken_seq), response.problem.c_str());
      }
      if (response.__isset.head_seq) {
        std::printf("Signed head: entry %lld, hash %s\n",
                    static_cast<long long>(response.head_seq), response.head_hash.c_str());
      } else {
        std::printf("Signed head: none that authenticates\n");
      }
      for (const std::string& note : response.notes) std::printf("  note: %s\n", note.c_str());
    }
    return response.ok ? 0 : 4;
  });
}

int RunRotateKeys(const ClientOptions& options, const std::string& reason) {
  return WithServer(options, [&](Connection& c) {
    t::RotateKeysRequest request;
    request.token = c.token();
    request.reason = reason;
    t::RotateKeysResponse response;
    c.rpc().rotateKeys(response, request);
    if (options.json) {
      PrintJson(response);
    } else {
      std::printf("Key-encryption key version %d is now active; %lld data keys rewrapped\n",
                  response.kek_version, static_cast<long long>(response.keys_rewrapped));
    }
    return 0;
  });
}

int RunBackup(const ClientOptions& options, const std::string& directory) {
  return WithServer(options, [&](Connection& c) {
    t::BackupRequest request;
    request.token = c.token();
    request.directory = directory;
    t::BackupResponse response;
    c.rpc().backup(response, request);
    if (options.json) {
      PrintJson(response);
    } else {
      std::printf("Checkpoint written to %s on the server's host (record database only: keep "
                  "the key vault and key file of the live store to restore it)\n",
                  response.directory.c_str());
    }
    return 0;
  });
}

int RunStats(const ClientOptions& options) {
  return WithServer(options, [&](Connection& c) {
    t::StatsRequest request;
    request.token = c.token();
    t::StatsResponse response;
    c.rpc().stats(response, request);
    if (options.json) {
      PrintJson(response);
      return 0;
    }
    std::printf("%-18s %10s %8s %8s %10s %10s %10s\n", "call", "count", "errors", "shed",
                "p50 us", "p99 us", "p99.9 us");
    for (const auto& s : response.calls) {
      if (s.count == 0) continue;
      std::printf("%-18s %10lld %8lld %8lld %10.0f %10.0f %10.0f\n", s.call.c_str(),
                  static_cast<long long>(s.count), static_cast<long long>(s.errors),
                  static_cast<long long>(s.shed), s.p50_us, s.p99_us, s.p999_us);
    }
    std::printf("\n");
    for (const auto& [name, value] : response.counters) {
      std::printf("%-40s %lld\n", name.c_str(), static_cast<long long>(value));
    }
    return 0;
  });
}

int RunHealth(const ClientOptions& options) {
  ClientOptions anonymous = options;
  if (anonymous.token.empty()) anonymous.token = "-";  // health checks no token
  return WithServer(anonymous, [&](Connection& c) {
    t::HealthRequest request;
    t::HealthResponse response;
    c.rpc().health(response, request);
    if (options.json) {
      PrintJson(response);
    } else {
      std::printf("%s (version %s, up %lld s)\n", response.status.c_str(),
                  response.version.c_str(), static_cast<long long>(response.uptime_seconds));
    }
    return response.status == "serving" ? 0 : 1;
  });
}

}  // namespace cdp::api
