// `cdp ingest` against a real `cdp serve`: a file of many requests' worth, with bad records in
// different requests, comes out with exact counts and a dead-letter file holding exactly the bad
// records in input order with their lines; a second run finds everything duplicate.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/api/server_process.h"
#include "tests/support/status_matchers.h"

namespace cdp::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct CliRun {
  int exit_code = -1;
  std::string out;
};

CliRun RunCli(const std::string& args) {
  CliRun run;
  FILE* pipe = popen(absl::StrCat(CDP_BINARY, " ", args, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) run.out.append(buffer, n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(E2eCliIngestTest, ALargeFileIsSentInRequestsAndEveryBadRecordIsReportedInOrder) {
  CDP_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start());
  // ~3.5 MiB: several requests of ~1 MiB, two of them on their way at once.
  constexpr int kLines = 7000;
  const std::vector<int> bad_lines = {10, 2500, 6999};
  std::string feed;
  for (int line = 1; line <= kLines; ++line) {
    if (line == 10) {
      feed += "{not json\n";
    } else if (line == 2500) {
      feed += R"({"type":"track","messageId":"cli-bad-2500","userId":42,"event":"x"})" "\n";
    } else if (line == 6999) {
      feed += R"({"type":"track","messageId":"cli-bad-6999","userId":"u","event":"x",)"
              R"("timestamp":"yesterday"})" "\n";
    } else {
      absl::StrAppend(&feed, R"({"type":"track","messageId":"cli-)", line,
                      R"(","userId":"cli-user-)", line % 500, R"(","event":"Viewed",)",
                      R"("properties":{"pad":")", std::string(480, 'p'), R"("},)",
                      R"("timestamp":"2026-11-20T09:00:00Z"})", "\n");
    }
  }
  const std::string path = server->ScratchPath("feed.ndjson");
  {
    std::ofstream out(path, std::ios::binary);
    out << feed;
  }
  ASSERT_GT(feed.size(), size_t{3} << 20);
  const std::string args =
      absl::StrCat("ingest --json --port ", server->port(), " --token ",
                   ServerProcess::TokenFor(TestRole::kIngest), " ", path);

  const CliRun first = RunCli(args);
  EXPECT_EQ(first.exit_code, 2) << "rejected records exit 2: " << first.out;
  EXPECT_THAT(first.out, HasSubstr(absl::StrCat("\"accepted\":", kLines - 3, ",\"duplicate\":0,"
                                                "\"rejected\":3,")));
  const std::string dead = ReadFile(path + ".rejected.ndjson");
  const std::vector<std::string> records = absl::StrSplit(dead, '\n', absl::SkipEmpty());
  ASSERT_EQ(records.size(), bad_lines.size()) << dead;
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_THAT(records[i], HasSubstr(absl::StrCat("\"position\":", bad_lines[i], ",")));
  }
  EXPECT_THAT(records[0], HasSubstr(R"("raw":"{not json")"));
  EXPECT_THAT(records[1], HasSubstr("cli-bad-2500"));
  EXPECT_THAT(records[2], HasSubstr("cli-bad-6999"));

  const CliRun again = RunCli(args + " --in-flight 1");  // one request at a time
  EXPECT_EQ(again.exit_code, 2) << again.out;
  EXPECT_THAT(again.out, HasSubstr(absl::StrCat("\"accepted\":0,\"duplicate\":", kLines - 3,
                                                ",\"rejected\":3,")));

  // The bad lines fixed (dropped): a run without rejections removes the earlier dead letters,
  // which hold rejected records that no longer describe the file.
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << R"({"type":"track","messageId":"cli-1","userId":"cli-user-1","event":"Viewed"})"
        << "\n";
  }
  const CliRun fixed = RunCli(args);
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out;
  EXPECT_FALSE(std::ifstream(path + ".rejected.ndjson").good()) << "stale dead letters kept";
  EXPECT_THAT(server->Stop(), IsOk());
}

TEST(E2eCliIngestTest, StdinIsIngestedAndAnUnreadableFileIsAnError) {
  CDP_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start());
  const std::string path = server->ScratchPath("two.ndjson");
  {
    std::ofstream out(path, std::ios::binary);
    out << R"({"type":"identify","messageId":"cli-s1","userId":"cli-s","traits":{"plan":"pro"}})"
        << "\n"
        << R"({"type":"track","messageId":"cli-s2","userId":"cli-s","event":"Paid"})";
  }
  const std::string client = absl::StrCat("--json --port ", server->port(), " --token ",
                                          ServerProcess::TokenFor(TestRole::kIngest));
  const CliRun piped = RunCli(absl::StrCat("ingest ", client, " - < ", path));
  EXPECT_EQ(piped.exit_code, 0) << piped.out;
  EXPECT_THAT(piped.out, HasSubstr(R"("source":"stdin","accepted":2,)"));
  EXPECT_THAT(piped.out, HasSubstr(R"("not_kept":{})")) << "nothing was left out";

  const CliRun missing = RunCli(absl::StrCat("ingest ", client, " ", path, ".absent"));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.out, HasSubstr("cannot read"));
  EXPECT_THAT(server->Stop(), IsOk());
}

// An accepted event can still carry parts that are not kept: an identifier value that is not
// one, a consent category no purpose maps. The caller is told how many of each, never the values.
TEST(E2eCliIngestTest, PartsOfAcceptedRecordsThatWereNotKeptAreCounted) {
  CDP_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start());
  const std::string path = server->ScratchPath("partly.ndjson");
  std::ofstream(path, std::ios::binary)
      << R"({"type":"identify","messageId":"cli-p1","userId":"cli-p","traits":{"email":"not-an-email"}})"
      << "\n"
      << R"({"type":"identify","messageId":"cli-p2","userId":"cli-p","traits":{"email":"also wrong"}})"
      << "\n"
      << R"({"type":"track","messageId":"cli-p3","userId":"cli-p","event":"E",)"
      << R"("context":{"consent":{"categoryPreferences":{"astrology":true}}}})" << "\n";
  const std::string args = absl::StrCat("--port ", server->port(), " --token ",
                                        ServerProcess::TokenFor(TestRole::kIngest), " ", path);
  const CliRun json = RunCli("ingest --json " + args);
  EXPECT_EQ(json.exit_code, 0) << json.out;
  EXPECT_THAT(json.out, HasSubstr(R"("accepted":3,)"));
  EXPECT_THAT(json.out, HasSubstr(R"("not_kept":{"consent_category:astrology":1,)"
                                  R"("identifier:email/invalid":2})"));
  EXPECT_THAT(json.out, Not(HasSubstr("not-an-email")));
  EXPECT_THAT(server->Stop(), IsOk());
}

// A pretty-printed {"batch": [...]} file was cut into lines, every one of them rejected.
TEST(E2eCliIngestTest, APrettyPrintedBatchFileIsOneBatch) {
  CDP_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start());
  const std::string path = server->ScratchPath("batch.json");
  std::ofstream(path, std::ios::binary) << R"({
  "sentAt": "2026-11-20T09:00:05Z",
  "batch": [
    {"type": "identify", "messageId": "cli-b1", "userId": "cli-b", "traits": {"plan": "pro"}},
    {"type": "track", "messageId": "cli-b2", "userId": "cli-b", "event": "Paid"},
    {"type": "track", "messageId": "cli-b3", "event": "No identifier"}
  ]
}
)";
  const CliRun run = RunCli(absl::StrCat("ingest --port ", server->port(), " --token ",
                                         ServerProcess::TokenFor(TestRole::kIngest), " ", path));
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_THAT(run.out, HasSubstr("2 accepted, 0 duplicate, 1 rejected"));
  EXPECT_THAT(run.out, HasSubstr("rejected at index 2: ")) << "positions are batch indexes";
  EXPECT_THAT(server->Stop(), IsOk());
}

TEST(E2eCliIngestTest, GzipInputsAreGunzippedAndATruncatedOneIsAnError) {
  CDP_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start());
  const std::string path = server->ScratchPath("events.ndjson");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 3000; ++i) {
      out << R"({"type":"track","messageId":"cli-gz-)" << i << R"(","userId":"cli-gz-)" << i % 50
          << R"(","event":"Opened","properties":{"n":)" << i << "}}\n";
    }
  }
  ASSERT_EQ(std::system(absl::StrCat("gzip -k -f ", path).c_str()), 0);
  const std::string client = absl::StrCat("--json --port ", server->port(), " --token ",
                                          ServerProcess::TokenFor(TestRole::kIngest));
  const CliRun gz = RunCli(absl::StrCat("ingest ", client, " ", path, ".gz"));
  EXPECT_EQ(gz.exit_code, 0) << gz.out;
  EXPECT_THAT(gz.out, HasSubstr(R"("accepted":3000,"duplicate":0,"rejected":0,)"));
  const CliRun piped = RunCli(absl::StrCat("ingest ", client, " - < ", path, ".gz"));
  EXPECT_THAT(piped.out, HasSubstr(R"("accepted":0,"duplicate":3000,"rejected":0,)"));

  // The first half of the compressed bytes: what they hold is sent, then the error is reported.
  const std::string gzipped = ReadFile(path + ".gz");
  const std::string cut = server->ScratchPath("cut.ndjson.gz");
  std::ofstream(cut, std::ios::binary) << gzipped.substr(0, gzipped.size() / 2);
  const CliRun truncated = RunCli(absl::StrCat("ingest ", client, " ", cut));
  EXPECT_EQ(truncated.exit_code, 1) << truncated.out;
  EXPECT_THAT(truncated.out, HasSubstr("ends early or is not valid gzip"));
  EXPECT_THAT(truncated.out, HasSubstr(R"("accepted":0,"duplicate":)"))
      << "the records before the cut were sent (all seen already)";
  EXPECT_THAT(server->Stop(), IsOk());
}

}  // namespace
}  // namespace cdp::testing
