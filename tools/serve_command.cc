#include "tools/serve_command.h"

#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/auth.h"
#include "api/server.h"
#include "api/server_config.h"
#include "ingest/segment_parser.h"
#include "tools/sample_feed.h"

namespace cdp::tools {
namespace {

void LoadSample(api::Stack& stack, const api::ServerConfig& config) {
  auto parser = ingest::SegmentParser::Create(config.parser);
  if (!parser.ok()) return;
  auto summary =
      stack.pipeline->Apply((*parser)->ParseNdjson(kSampleFeed, "sample feed"));
  if (!summary.ok()) {
    std::fprintf(stderr, "cdp serve: sample feed not loaded: %s\n",
                 summary.status().ToString().c_str());
    return;
  }
  std::printf("Loaded the bundled sample feed: %llu accepted, %llu rejected (on purpose: bad "
              "records are reported, never dropped silently)\n",
              static_cast<unsigned long long>(summary->accepted),
              static_cast<unsigned long long>(summary->rejected));
}

}  // namespace

int RunServe(const ServeFlags& flags) {
  absl::StatusOr<api::ServerConfig> config = flags.config_path.empty()
                                                 ? api::DefaultServerConfig()
                                                 : api::LoadServerConfig(flags.config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "cdp serve: invalid configuration: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  if (!flags.data_dir.empty()) config->data_dir = flags.data_dir;
  if (flags.port >= 0) config->listen.port = flags.port;
  if (flags.metrics_port >= 0) config->metrics.port = flags.metrics_port;
  const bool first_start = !std::filesystem::exists(std::filesystem::path(config->data_dir) / "db");

  // Signals are taken by a thread of our own (sigwait): block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = api::Server::Start(*config);
  if (!server.ok()) {
    std::fprintf(stderr, "cdp serve: %s\n", server.status().ToString().c_str());
    return 1;
  }
  if (flags.demo && first_start) LoadSample((*server)->stack(), *config);
  const std::string& host = config->listen.host;
  std::printf("cdp: serving on %s:%d%s; data in %s\n", host.c_str(), (*server)->port(),
              config->tls.enabled() ? " (TLS)" : "", config->data_dir.c_str());
  std::printf("cdp: admin token in %s (the cdp command reads it)\n",
              api::AdminTokenPath(config->data_dir).c_str());
  if ((*server)->metrics_port() > 0) {
    std::printf("cdp: metrics on http://%s:%d/metrics\n", config->metrics.host.c_str(),
                (*server)->metrics_port());
  }
  if (flags.demo) {
    std::printf(
        "\nTry, in another terminal:\n"
        "  build/bin/cdp lookup email=ada.lovelace@example.com --purpose support\n"
        "  build/bin/cdp lookup email=grace@example.com --purpose marketing   # consent denied\n"
        "  build/bin/cdp ingest my-feed.ndjson\n"
        "  build/bin/cdp stats\n"
        "Stop with Ctrl-C.\n");
  }
  std::fflush(stdout);

  std::thread waiter([&signals, s = server->get()] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::printf("cdp: %s received, finishing in-flight calls\n",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
    std::fflush(stdout);
    s->Stop();
  });
  (*server)->Wait();
  waiter.join();
  server->reset();
  std::printf("cdp: stopped\n");
  return 0;
}

}  // namespace cdp::tools
