#include "bench/context_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "bench/feed_generator.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "ingest/segment_parser.h"

namespace cdp::bench {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kBaseMicros = 1'795'000'000'000'000;
constexpr int64_t kHourMicros = int64_t{3600} * 1'000'000;

std::string ReadSmallFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status WriteSmallFile(const fs::path& path, const std::string& text, mode_t mode) {
  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  }
  if (::chmod(temporary.c_str(), mode) != 0 || ::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot install ", path.string()));
  }
  return absl::OkStatus();
}

std::string ConfigText(const std::string& token) {
  const crypto::Digest digest = crypto::Sha256(token);
  return absl::StrCat(
      "# Written by bench/context_bench.cc (bench/context_store.h): the configuration the\n"
      "# context benchmark's store is served with.\n"
      "identity { custom_types: \"",
      kCrmType, "\" }\n", "tokens {\n  name: \"context-bench\"\n  sha256_hex: \"",
      absl::BytesToHexString(
          absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size())),
      "\"\n  role: \"cx\"\n}\n", "metrics { disabled: true }\n");
}

std::string LoadedMarker(const ContextStoreOptions& options) {
  return absl::StrCat(options.people, " ", options.events_per_person, "\n");
}

// The events of `person` after its preload lines (see the header), as NDJSON lines.
void AppendPersonEvents(const FeedGenerator& feed, size_t person, size_t count, uint32_t* sequence,
                        std::string* text) {
  const int64_t first_micros = kBaseMicros - 30 * 24 * kHourMicros + 1000 * int64_t(person % 3600);
  size_t k = 0;
  if (FeedGenerator::IsSplit(person)) {  // a web login links the web and app profiles
    FeedEvent login{.person = static_cast<uint32_t>(person),
                    .sequence = (*sequence)++,
                    .shape = FeedEvent::Shape::kBridgeSplit,
                    .type = FeedEvent::Type::kIdentify,
                    .variant = static_cast<uint8_t>(person),
                    .time_micros = first_micros + kHourMicros};
    absl::StrAppend(text, feed.ToJson(login), "\n");
    ++k;
  }
  for (; k < count; ++k) {
    FeedEvent event{.person = static_cast<uint32_t>(person),
                    .sequence = (*sequence)++,
                    .variant = static_cast<uint8_t>((person * 31 + k * 17) & 0xff),
                    .time_micros = first_micros + int64_t(k + 1) * kHourMicros};
    // 45% web, 35% app, 20% server, in a fixed rotation.
    FeedGenerator::SetOrdinaryShape(static_cast<double>(k % 20) / 20.0, &event);
    absl::StrAppend(text, feed.ToJson(event), "\n");
  }
}

}  // namespace

absl::StatusOr<ContextStoreFiles> PrepareContextStore(const ContextStoreOptions& options) {
  if (options.events_per_person < 3) {
    return absl::InvalidArgumentError("events_per_person: at least 3");
  }
  const fs::path dir = options.dir;
  const fs::path config = dir / "cdp.conf", token_file = dir / "cx.token", data = dir / "data",
                 marker = dir / "loaded";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const fs::path name = entry.path().filename();
    if (name != "cdp.conf" && name != "cx.token" && name != "data" && name != "loaded") {
      return absl::FailedPreconditionError(
          absl::StrCat(dir.string(), " holds ", name.string(),
                       ": not a context benchmark store; set CDP_BENCH_DIR to another directory"));
    }
  }
  ContextStoreFiles files{.config_path = config, .data_dir = data};
  files.token = ReadSmallFile(token_file);
  while (!files.token.empty() && files.token.back() == '\n') files.token.pop_back();
  if (files.token.empty() || !fs::exists(config)) {
    files.token = absl::BytesToHexString(crypto::RandomBytes(32));
    CDP_RETURN_IF_ERROR(WriteSmallFile(token_file, files.token + "\n", 0600));
    CDP_RETURN_IF_ERROR(WriteSmallFile(config, ConfigText(files.token), 0644));
  }
  files.loaded = fs::exists(marker) && ReadSmallFile(marker) == LoadedMarker(options);
  if (!files.loaded) {
    fs::remove(marker, ec);
    fs::remove_all(data, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot remove ", data.string()));
  }
  return files;
}

absl::StatusOr<LoadReport> LoadContextStore(api::Stack& stack, const ContextStoreOptions& options) {
  CDP_ASSIGN_OR_RETURN(std::unique_ptr<ingest::SegmentParser> parser,
                       ingest::SegmentParser::Create(ingest::ParserOptions{}));
  const FeedGenerator feed(options.people, 42, kBaseMicros);
  LoadReport report;
  const auto start = std::chrono::steady_clock::now();
  std::string text;
  size_t in_call = 0;
  uint32_t sequence = 0;
  uint64_t next_progress = 200'000;
  for (size_t person = 0; person < options.people; ++person) {
    size_t events = 0;
    for (const std::string& line : feed.PreloadLines(person)) {
      absl::StrAppend(&text, line, "\n");
      ++events;
    }
    AppendPersonEvents(feed, person, options.events_per_person - events, &sequence, &text);
    in_call += options.events_per_person;
    if (in_call < options.call_events && person + 1 < options.people) continue;
    ingest::ParseOutput parsed = parser->ParseNdjson(text, "context-bench", 1);
    const auto apply_start = std::chrono::steady_clock::now();
    CDP_ASSIGN_OR_RETURN(ingest::IngestSummary summary, stack.pipeline->Apply(std::move(parsed)));
    report.apply_seconds += SecondsSince(apply_start);
    if (summary.accepted != in_call) {
      std::string reason;
      for (const ingest::RecordResult& r : summary.records) {
        if (r.outcome != ingest::Outcome::kAccepted) {
          reason =
              absl::StrCat(ingest::OutcomeName(r.outcome), " at line ", r.position, ": ", r.reason);
          break;
        }
      }
      return absl::InternalError(
          absl::StrCat("accepted ", summary.accepted, " of ", in_call, "; first: ", reason));
    }
    report.events += in_call;
    ++report.calls;
    text.clear();
    in_call = 0;
    if (report.events >= next_progress) {
      next_progress += 200'000;
      std::fprintf(stderr, "context bench load: %zu people, %.0f events/s, load average %s\n",
                   person + 1, static_cast<double>(report.events) / SecondsSince(start),
                   LoadAverage().c_str());
    }
  }
  report.load_seconds = SecondsSince(start);
  const auto compact_start = std::chrono::steady_clock::now();
  CDP_RETURN_IF_ERROR(stack.store->CompactAll());
  report.compact_seconds = SecondsSince(compact_start);
  ::sync();
  CDP_RETURN_IF_ERROR(
      WriteSmallFile(fs::path(options.dir) / "loaded", LoadedMarker(options), 0644));
  return report;
}

uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) bytes += it->file_size(ec);
  }
  return bytes;
}

ResidentFiles::ResidentFiles(const std::string& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const size_t size = it->file_size(ec);
    if (ec || size == 0) continue;
    const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    ::close(fd);
    if (mapped == MAP_FAILED) continue;
    mappings_.emplace_back(mapped, size);
    bytes_ += size;
  }
}

ResidentFiles::~ResidentFiles() {
  for (const auto& [address, size] : mappings_) ::munmap(address, size);
}

}  // namespace cdp::bench
