// Context lookups over Thrift: a load generator for getContext and getContexts over N
// connections (one thread and one blocking client each), against a server started in this
// process on a cached store (the default) or against a running server (--host/--port/--token).
//
//   closed   getContext, closed loop over CDP_BENCH_CONNECTIONS connections: throughput
//   fixed    getContext at CDP_BENCH_RATE calls/s in all, latency from the scheduled send time
//            (coordinated omission counted; bench/load_generator.h)
//   batch    getContexts of CDP_BENCH_BATCH_PEOPLE people per call, closed loop over
//            CDP_BENCH_BATCH_CONNECTIONS connections
//   reader   (in process only; not in the default set) ContextReader::ByIdentifier called
//            directly on one thread for CDP_BENCH_SECONDS: the lookup's own CPU, without Thrift
//            (bench/reader_probe.h). Runs before the Thrift modes, after the warm-up.
//   reader_batch  (in process only) getContexts' lookups without Thrift: CDP_BENCH_BATCH_PEOPLE
//            lookups per batch, alternately on one thread and over the server's lookup pool.
//   floor    this machine's floor: the load of `fixed` (or of `closed` when CDP_BENCH_RATE is 0)
//            against an in-process TCP server that answers a request of getContext's size with
//            a response of getContext's average size and does nothing else (bench/echo_floor.h)
//
// Every call asks for purpose "support" with the default max_events (20), for a person picked
// uniformly at random by email. The cx token is used (identifiers come back masked).
// The store (bench/context_store.h) is built on first use and kept in CDP_BENCH_DIR.
//
// Usage: context_bench [--build-only] [--host H --port N (--token T | --token-file F)
//                      [--server-pid PID]]
//
// Environment (all optional):
//   CDP_BENCH_PEOPLE              people in the store; default 100000
//   CDP_BENCH_EVENTS_PER_PERSON   default 20
//   CDP_BENCH_DIR                 store cache directory; default /tmp/cdp-context-bench-<people>
//   CDP_BENCH_CALL_EVENTS         events per Pipeline::Apply call while loading; default 5000
//   CDP_BENCH_CONNECTIONS         default 8
//   CDP_BENCH_SECONDS             measured seconds per mode; default 10
//   CDP_BENCH_WARMUP_SECONDS      closed-loop warm-up before the modes; default 3
//   CDP_BENCH_RATE                fixed mode's total calls/s; default 20000
//   CDP_BENCH_BATCH_PEOPLE        people per getContexts call; default 100
//   CDP_BENCH_BATCH_CONNECTIONS   default 1
//   CDP_BENCH_MODES               comma-separated subset of closed,fixed,batch,floor,reader,
//                                 reader_batch; default closed,fixed,batch
//   CDP_BENCH_BLOCK_CACHE_MB      in-process server's RocksDB block cache; default the
//                                 configuration's (a quarter of RAM); for `cdp serve`, edit
//                                 DIR/cdp.conf
//   CDP_BENCH_EVENT_CACHE_PERCENT share of it for event blocks; default the configuration's (50);
//                                 used only when CDP_BENCH_MMAP is 0
//   CDP_BENCH_MMAP                0 reads every family through the block cache
//                                 (storage.mmap_reads); default the configuration's (on)
//   CDP_BENCH_RESIDENT            0 skips mapping and reading in the store's files before the
//                                 warm-up (in process only; on by default: the state of a
//                                 server that has run for a while, see ResidentFiles)
//
// Goals (issue 7, docs/performance.md "Context lookups over Thrift"): p50 < 150 µs and
// p99 < 1 ms at 20,000 lookups/s; getContexts of 100 people p99 < 5 ms.

#include <signal.h>
#include <sys/resource.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "api/auth.h"
#include "api/server.h"
#include "bench/bench_util.h"
#include "bench/context_client.h"
#include "bench/context_store.h"
#include "bench/echo_floor.h"
#include "bench/load_generator.h"
#include "bench/reader_probe.h"

namespace cdp::bench {
namespace {

// The Thrift binary encoding size of `value` (the response struct, without the message header).
template <typename T>
uint32_t EncodedBytes(const T& value) {
  auto buffer = std::make_shared<apache::thrift::transport::TMemoryBuffer>();
  apache::thrift::protocol::TBinaryProtocol protocol(buffer);
  return value.write(&protocol);
}

// utime + stime of process `pid` from /proc; -1 when unreadable.
double PidCpuSeconds(int pid) {
  std::FILE* f = std::fopen(absl::StrCat("/proc/", pid, "/stat").c_str(), "r");
  if (f == nullptr) return -1;
  char text[1024] = {};
  const size_t n = std::fread(text, 1, sizeof(text) - 1, f);
  std::fclose(f);
  const char* after_name = std::strrchr(text, ')');  // the command name may hold spaces
  if (n == 0 || after_name == nullptr) return -1;
  std::vector<std::string> fields = absl::StrSplit(after_name + 2, ' ');
  double utime = 0, stime = 0;  // fields 14 and 15 of stat; index 0 here is field 3
  if (fields.size() < 13 || !absl::SimpleAtod(fields[11], &utime) ||
      !absl::SimpleAtod(fields[12], &stime)) {
    return -1;
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Whether the comma-separated `modes` (may be null) name `mode`.
bool HasMode(const char* modes, absl::string_view mode) {
  if (modes == nullptr) return false;
  for (absl::string_view name : absl::StrSplit(modes, ',', absl::SkipEmpty())) {
    if (name == mode) return true;
  }
  return false;
}

struct Mode {
  std::string name;
  LoadOptions load;
  bool batch = false;
  bool floor = false;  // against EchoFloorServer instead of the CDP server
};

class Runner {
 public:
  Runner(Target target, size_t people, size_t batch_people, int server_pid)
      : target_(std::move(target)),
        people_(people),
        batch_people_(batch_people),
        server_pid_(server_pid) {}

  // Sequential lookups on one connection: the average response size, for the Redis comparison.
  void Sample(size_t calls) {
    auto lookups = NewLookups(target_, people_, batch_people_, 12345);
    uint64_t bytes = 0, events = 0, found = 0;
    double seconds = 0;  // in calls only, not in measuring the responses
    for (size_t i = 0; i < calls; ++i) {
      const auto start = std::chrono::steady_clock::now();
      const bool ok = lookups->GetContext();
      seconds += SecondsSince(start);
      if (!ok) continue;
      ++found;
      bytes += EncodedBytes(lookups->one_response);
      events += lookups->one_response.context.recent_events.size();
    }
    if (found == 0) CheckOk(absl::NotFoundError("no lookup succeeded"), "sample");
    std::printf(
        "sample: %zu sequential getContext calls on 1 connection: %llu found, %.1f µs mean "
        "round trip; response %.0f bytes on average (Thrift binary struct), %.1f events\n",
        calls, static_cast<unsigned long long>(found), seconds * 1e6 / static_cast<double>(calls),
        static_cast<double>(bytes) / static_cast<double>(found),
        static_cast<double>(events) / static_cast<double>(found));
    std::printf("RESPONSE_BYTES=%.0f\n", static_cast<double>(bytes) / static_cast<double>(found));
    response_bytes_ = static_cast<size_t>(bytes / found);
    // The frame: length (4), strict message header (version 4, name 4 + 10, seqid 4), the
    // arguments struct's field header (3) and stop (1) around the request.
    request_bytes_ = EncodedBytes(lookups->one) + 30;
    if (lookups->GetContexts()) {
      std::printf("sample: getContexts of %zu people: response %u bytes\n", batch_people_,
                  EncodedBytes(lookups->many_response));
    }
  }

  void Run(const Mode& mode) {
    const double process_cpu = ProcessCpuSeconds();
    const double server_cpu = server_pid_ > 0 ? PidCpuSeconds(server_pid_) : -1;
    const uint64_t faults = ProcessMajorFaults();
    const std::string load_before = LoadAverage();
    const uint64_t seed = mode.name.size() * 1000003;  // different people per mode
    std::unique_ptr<EchoFloorServer> echo;
    if (mode.floor) {
      auto started = EchoFloorServer::Start(request_bytes_, response_bytes_);
      CheckOk(started.status(), "floor server");
      echo = *std::move(started);
    }
    auto result = RunLoad(mode.load, [&](size_t index) -> absl::StatusOr<CallFunction> {
      if (echo) return echo->Connect();
      auto lookups = NewLookups(target_, people_, batch_people_, seed + index);
      auto opened = RpcClient::Open(target_);
      if (!opened.ok()) return opened.status();
      lookups->client = *std::move(opened);
      if (mode.batch) return CallFunction([lookups] { return lookups->GetContexts(); });
      return CallFunction([lookups] { return lookups->GetContext(); });
    });
    CheckOk(result.status(), mode.name.c_str());
    const double calls = static_cast<double>(result->ok + result->errors);
    // Server CPU: the server process's when known; in process, everything but the clients.
    double server_us = -1;
    if (echo) {
      server_us = (ProcessCpuSeconds() - process_cpu - result->client_cpu_seconds) * 1e6 / calls;
    } else if (server_pid_ > 0) {
      server_us = (PidCpuSeconds(server_pid_) - server_cpu) * 1e6 / calls;
    } else if (server_pid_ == 0) {
      server_us = (ProcessCpuSeconds() - process_cpu - result->client_cpu_seconds) * 1e6 / calls;
    }
    const std::string target =
        mode.load.rate_per_second > 0 ? absl::StrCat(mode.load.rate_per_second) : "-";
    rows_.push_back(absl::StrFormat(
        "| %s | %zu | %s | %llu | %llu | %llu | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %s | "
        "%s → %s |",
        mode.name, mode.load.connections, target, static_cast<unsigned long long>(result->ok),
        static_cast<unsigned long long>(result->errors),
        static_cast<unsigned long long>(result->missed), result->Throughput(),
        result->PercentileMicros(50), result->PercentileMicros(99), result->PercentileMicros(99.9),
        result->MaxMicros(), result->client_cpu_seconds * 1e6 / calls,
        server_us < 0 ? std::string("n/a") : absl::StrFormat("%.0f", server_us), load_before,
        LoadAverage()));
    // Disk reads the lookups waited for (in process only: an external server's are its own).
    const std::string major_faults =
        server_pid_ == 0 || echo
            ? absl::StrCat(" major_faults=", ProcessMajorFaults() - faults)
            : "";
    std::printf(
        "RESULT mode=%s connections=%zu rate=%s ok=%llu errors=%llu missed=%llu "
        "throughput=%.0f p50_us=%.0f p99_us=%.0f p999_us=%.0f%s\n",
        mode.name.c_str(), mode.load.connections, target.c_str(),
        static_cast<unsigned long long>(result->ok),
        static_cast<unsigned long long>(result->errors),
        static_cast<unsigned long long>(result->missed), result->Throughput(),
        result->PercentileMicros(50), result->PercentileMicros(99), result->PercentileMicros(99.9),
        major_faults.c_str());
    std::fflush(stdout);
  }

  void PrintTable() const {
    std::printf(
        "\n| mode | conns | target/s | ok | errors | missed | calls/s | p50 µs | p99 µs | "
        "p99.9 µs | max µs | client CPU µs/call | server CPU µs/call | load average |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const std::string& row : rows_) std::printf("%s\n", row.c_str());
  }

 private:
  Target target_;
  size_t people_, batch_people_;
  size_t request_bytes_ = 0, response_bytes_ = 0;  // getContext's, measured by Sample
  int server_pid_;  // > 0: external server's pid; 0: in process; < 0: unknown
  std::vector<std::string> rows_;
};

struct Flags {
  bool build_only = false;
  bool external = false;
  Target target;
  int server_pid = -1;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  std::string token_file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--build-only") {
      flags.build_only = true;
    } else if (arg == "--host" && has_value) {
      flags.target.host = argv[++i];
      flags.external = true;
    } else if (arg == "--port" && has_value && absl::SimpleAtoi(argv[++i], &flags.target.port)) {
      flags.external = true;
    } else if (arg == "--token" && has_value) {
      flags.target.token = argv[++i];
    } else if (arg == "--token-file" && has_value) {
      token_file = argv[++i];
    } else if (arg == "--server-pid" && has_value &&
               absl::SimpleAtoi(argv[++i], &flags.server_pid)) {
    } else {
      std::fprintf(stderr,
                   "usage: %s [--build-only] [--host H --port N (--token T | --token-file F) "
                   "[--server-pid PID]]\n(knobs: CDP_BENCH_* variables, see the source)\n",
                   argv[0]);
      std::exit(2);
    }
  }
  if (!token_file.empty()) {
    auto token = api::ReadTokenFile(token_file);
    CheckOk(token.status(), "--token-file");
    flags.target.token = *token;
  }
  if (flags.external && (flags.target.port <= 0 || flags.target.token.empty())) {
    CheckOk(absl::InvalidArgumentError("--port and a token are required with a server"), "flags");
  }
  return flags;
}

std::vector<Mode> ModesFromEnv() {
  const size_t connections = EnvSize("CDP_BENCH_CONNECTIONS", 8);
  const double seconds = static_cast<double>(EnvSize("CDP_BENCH_SECONDS", 10));
  const char* selected = std::getenv("CDP_BENCH_MODES");
  std::vector<Mode> modes;
  for (absl::string_view name :
       absl::StrSplit(selected ? selected : "closed,fixed,batch", ',', absl::SkipEmpty())) {
    if (name == "closed") {
      modes.push_back({"getContext closed", {connections, seconds, 0}});
    } else if (name == "fixed") {
      modes.push_back(
          {"getContext fixed",
           {connections, seconds, static_cast<double>(EnvSize("CDP_BENCH_RATE", 20000))}});
    } else if (name == "floor") {
      const double rate = static_cast<double>(EnvSize("CDP_BENCH_RATE", 20000));
      modes.push_back({rate > 0 ? "floor (echo) fixed" : "floor (echo) closed",
                       {connections, seconds, rate},
                       false,
                       true});
    } else if (name == "reader" || name == "reader_batch") {
      continue;  // main() runs them: they need the in-process server's stack
    } else if (name == "batch") {
      modes.push_back({absl::StrCat("getContexts x", EnvSize("CDP_BENCH_BATCH_PEOPLE", 100)),
                       {EnvSize("CDP_BENCH_BATCH_CONNECTIONS", 1), seconds, 0},
                       true});
    } else {
      CheckOk(absl::InvalidArgumentError(absl::StrCat("unknown mode ", name)), "CDP_BENCH_MODES");
    }
  }
  return modes;
}

}  // namespace
}  // namespace cdp::bench

int main(int argc, char** argv) {
  using namespace cdp::bench;  // NOLINT: the program's own namespace
  signal(SIGPIPE, SIG_IGN);
  const Flags flags = ParseFlags(argc, argv);
  const size_t people = EnvSize("CDP_BENCH_PEOPLE", 100000);
  ContextStoreOptions store{.people = people,
                            .events_per_person = EnvSize("CDP_BENCH_EVENTS_PER_PERSON", 20),
                            .call_events = EnvSize("CDP_BENCH_CALL_EVENTS", 5000)};
  const char* dir = std::getenv("CDP_BENCH_DIR");
  store.dir = dir ? dir : absl::StrCat("/tmp/cdp-context-bench-", people);
  std::printf("context_bench: nproc %u, load average %s; %zu people x %zu events\n",
              std::thread::hardware_concurrency(), LoadAverage().c_str(), people,
              store.events_per_person);

  Target target = flags.target;
  std::unique_ptr<cdp::api::Server> server;
  std::unique_ptr<ResidentFiles> resident;  // outlives the runs
  if (!flags.external) {
    auto files = PrepareContextStore(store);
    CheckOk(files.status(), "store directory");
    auto config = cdp::api::LoadServerConfig(files->config_path);
    CheckOk(config.status(), "configuration");
    config->data_dir = files->data_dir;
    config->listen.port = 0;
    config->block_cache_bytes = EnvSize("CDP_BENCH_BLOCK_CACHE_MB", config->block_cache_bytes >> 20)
                                << 20;
    config->event_cache_percent = static_cast<uint32_t>(
        EnvSize("CDP_BENCH_EVENT_CACHE_PERCENT", config->event_cache_percent));
    config->mmap_reads = EnvFlag("CDP_BENCH_MMAP", config->mmap_reads);
    auto started = cdp::api::Server::Start(*config);
    CheckOk(started.status(), "server");
    server = *std::move(started);
    if (!files->loaded) {
      std::printf("loading %zu people into %s ...\n", people, store.dir.c_str());
      std::fflush(stdout);
      auto report = LoadContextStore(server->stack(), store);
      CheckOk(report.status(), "load");
      std::printf(
          "load: %llu events in %llu Apply calls: %.1f s, %.0f events/s (%.0f people/s; "
          "Apply alone %.0f events/s); compaction %.1f s; load average %s\n",
          static_cast<unsigned long long>(report->events),
          static_cast<unsigned long long>(report->calls), report->load_seconds,
          static_cast<double>(report->events) / report->load_seconds,
          static_cast<double>(people) / report->load_seconds,
          static_cast<double>(report->events) / report->apply_seconds, report->compact_seconds,
          LoadAverage().c_str());
    } else {
      std::printf("store: cached in %s (loaded earlier)\n", store.dir.c_str());
    }
    auto stats = server->stack().store->Stats();
    CheckOk(stats.status(), "stats");
    std::printf("store: %s, %.0f MiB on disk, live SST %.0f MiB, block cache %zu MiB, %s\n",
                store.dir.c_str(), static_cast<double>(DirectoryBytes(files->data_dir)) / (1 << 20),
                static_cast<double>(stats->live_sst_bytes) / (1 << 20),
                config->block_cache_bytes >> 20,
                config->mmap_reads ? "sealed families mapped" : "every family through it");
    std::printf("config: %s (`cdp serve --config %s --data-dir %s` serves the same store)\n",
                files->config_path.c_str(), files->config_path.c_str(), files->data_dir.c_str());
    if (flags.build_only) return 0;
    if (EnvFlag("CDP_BENCH_RESIDENT", true)) {
      const auto start = std::chrono::steady_clock::now();
      resident = std::make_unique<ResidentFiles>(files->data_dir);
      std::printf("resident: %.0f MiB of store files mapped and read in %.1f s\n",
                  static_cast<double>(resident->bytes()) / (1 << 20), SecondsSince(start));
    }
    target.port = server->port();
    target.token = files->token;
    std::printf("server: in process on 127.0.0.1:%d, sharing the CPUs with the load generator\n",
                target.port);
  } else {
    std::printf("server: %s:%d (external%s)\n", target.host.c_str(), target.port,
                flags.server_pid > 0 ? absl::StrCat(", pid ", flags.server_pid).c_str() : "");
  }

  Runner runner(target, people, EnvSize("CDP_BENCH_BATCH_PEOPLE", 100),
                flags.external ? flags.server_pid : 0);
  runner.Sample(2000);
  const size_t warmup = EnvSize("CDP_BENCH_WARMUP_SECONDS", 3);
  const size_t connections = EnvSize("CDP_BENCH_CONNECTIONS", 8);
  auto warm = RunLoad({connections, static_cast<double>(warmup), 0}, [&](size_t index) {
    auto lookups = NewLookups(target, people, 1, 777 + index);
    return absl::StatusOr<CallFunction>(CallFunction([lookups] { return lookups->GetContext(); }));
  });
  CheckOk(warm.status(), "warm-up");
  std::printf("warm-up: %zu s closed loop, %.0f calls/s\n", warmup, warm->Throughput());
  const char* modes = std::getenv("CDP_BENCH_MODES");
  if (HasMode(modes, "reader")) {
    if (!server) CheckOk(absl::InvalidArgumentError("needs the in-process server"), "reader");
    const std::string load_before = LoadAverage();
    const uint64_t faults = cdp::ProcessMajorFaults();
    auto probe = ProbeReader(server->stack(), people,
                             static_cast<double>(EnvSize("CDP_BENCH_SECONDS", 10)));
    CheckOk(probe.status(), "reader");
    std::printf(
        "RESULT mode=reader calls=%zu found=%zu cpu_us_per_call=%.1f wall_us_per_call=%.1f "
        "p50_us=%.1f p99_us=%.1f major_faults=%llu load=%s->%s\n",
        probe->calls, probe->found, probe->cpu_us_per_call, probe->wall_us_per_call,
        probe->p50_us, probe->p99_us,
        static_cast<unsigned long long>(cdp::ProcessMajorFaults() - faults), load_before.c_str(),
        LoadAverage().c_str());
  }
  if (HasMode(modes, "reader_batch")) {
    if (!server) CheckOk(absl::InvalidArgumentError("needs the in-process server"), "reader_batch");
    const std::string load_before = LoadAverage();
    auto probe = ProbeReaderBatch(server->stack(), people, EnvSize("CDP_BENCH_BATCH_PEOPLE", 100),
                                  static_cast<double>(EnvSize("CDP_BENCH_SECONDS", 10)));
    CheckOk(probe.status(), "reader_batch");
    std::printf(
        "RESULT mode=reader_batch batches=%zu helpers=%d alone_p50_us=%.0f alone_p99_us=%.0f "
        "pool_p50_us=%.0f pool_p99_us=%.0f load=%s->%s\n",
        probe->batches, probe->helpers, probe->alone_p50_us, probe->alone_p99_us,
        probe->pool_p50_us, probe->pool_p99_us, load_before.c_str(), LoadAverage().c_str());
  }
  for (const Mode& mode : ModesFromEnv()) runner.Run(mode);
  runner.PrintTable();
  return 0;
}
