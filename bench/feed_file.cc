// Writes the ingest benchmark's feed (bench/feed_generator.h) as files, for measuring ingest the
// way a data team runs it: `cdp ingest` against a running `cdp serve` (scripts/bench_ingest_cli.sh).
//
//   feed_file DIR PEOPLE EVENTS
//
// writes DIR/preload.ndjson (every person's profiles as identify events, as ingest_bench preloads
// them), DIR/stream.ndjson (EVENTS events of the stream: shuffled, 5% late, 20% bridging channels)
// and DIR/cdp.conf (a server configuration with the feed's custom identifier type crm_id).
// Values are synthetic, never personal data.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/feed_generator.h"

namespace {

constexpr int64_t kBaseMicros = 1'795'000'000'000'000;  // as bench/ingest_bench.cc

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out.flush());
}

}  // namespace

int main(int argc, char** argv) {
  size_t people = 0, events = 0;
  if (argc != 4 || !absl::SimpleAtoi(argv[2], &people) || !absl::SimpleAtoi(argv[3], &events) ||
      people == 0) {
    std::fprintf(stderr, "usage: %s DIR PEOPLE EVENTS\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  cdp::bench::FeedGenerator feed(people, /*seed=*/42, kBaseMicros);
  std::string text;
  size_t preload = 0;
  for (size_t person = 0; person < people; ++person) {
    for (const std::string& line : feed.PreloadLines(person)) {
      absl::StrAppend(&text, line, "\n");
      ++preload;
    }
  }
  if (!WriteFile(dir + "/preload.ndjson", text)) {
    std::fprintf(stderr, "cannot write %s/preload.ndjson\n", dir.c_str());
    return 1;
  }
  text.clear();
  constexpr size_t kStep = 10000;
  for (size_t done = 0; done < events; done += kStep) {
    for (const cdp::bench::FeedEvent& event : feed.Events(std::min(kStep, events - done))) {
      absl::StrAppend(&text, feed.ToJson(event), "\n");
    }
  }
  if (!WriteFile(dir + "/stream.ndjson", text)) {
    std::fprintf(stderr, "cannot write %s/stream.ndjson\n", dir.c_str());
    return 1;
  }
  if (!WriteFile(dir + "/cdp.conf", absl::StrCat("identity { custom_types: \"",
                                                  cdp::bench::kCrmType, "\" }\n"))) {
    std::fprintf(stderr, "cannot write %s/cdp.conf\n", dir.c_str());
    return 1;
  }
  std::printf("%s: %zu preload events, %zu stream events (%zu bytes)\n", dir.c_str(), preload,
              events, text.size());
  return 0;
}
