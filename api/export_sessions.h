#pragma once
// ExportSessions: subject exports served in pages. Starting a session runs the export (a
// producer writing the JSON document into a sink) on a thread of its own; its output passes
// through a buffer bounded to about two pages, so the producer waits while the client is not
// asking, and a person with a million events never needs a million events in memory. Each Next
// hands out the next bytes of the document.
//
// A session not asked for its next page within the idle timeout is cancelled (its producer
// stops at its next chunk). At most kMaxExportSessions run at once.
//
// Thread safety: safe for concurrent use. Cursors are 128-bit random values: a client cannot
// guess another's.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cdp::api {

inline constexpr size_t kMaxExportSessions = 4;

class ExportSessions {
 public:
  using Sink = std::function<absl::Status(absl::string_view chunk)>;
  using Producer = std::function<absl::Status(const Sink& sink)>;

  explicit ExportSessions(absl::Duration idle_timeout = absl::Seconds(60))
      : idle_timeout_(idle_timeout) {}
  ~ExportSessions();  // cancels every session and waits for its producer

  // Starts `producer`; returns the cursor for Next. kResourceExhausted (a ShedError) when too
  // many run.
  absl::StatusOr<std::string> Start(Producer producer);

  struct Page {
    std::string chunk;
    bool done = false;  // the document is complete; the cursor is no longer valid
  };
  // Up to `max_bytes` of the document (less only on the last page). The producer's error, if it
  // failed, ends the session and is returned. kFailedPrecondition for an unknown or expired
  // cursor.
  absl::StatusOr<Page> Next(const std::string& cursor, size_t max_bytes);

  size_t active() const;

 private:
  struct Session;
  void ReapIdle();

  const absl::Duration idle_timeout_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
};

}  // namespace cdp::api
