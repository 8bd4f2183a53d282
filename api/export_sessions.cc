#include "api/export_sessions.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "api/shed_status.h"
#include "common/crypto.h"

namespace cdp::api {

struct ExportSessions::Session {
  std::mutex mu;
  std::condition_variable changed;
  std::string buffer;        // produced, not yet handed out
  size_t buffer_limit = 0;   // the producer waits while the buffer holds this much
  bool finished = false;     // the producer returned
  bool cancelled = false;
  absl::Status status;       // the producer's result, once finished
  absl::Time last_access;
  std::thread thread;

  void Cancel() {
    {
      std::lock_guard<std::mutex> lock(mu);
      cancelled = true;
    }
    changed.notify_all();
  }
  void Join() {
    if (thread.joinable()) thread.join();
  }
};

ExportSessions::~ExportSessions() {
  std::map<std::string, std::shared_ptr<Session>> sessions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sessions.swap(sessions_);
  }
  for (auto& [cursor, session] : sessions) session->Cancel();
  for (auto& [cursor, session] : sessions) session->Join();
}

size_t ExportSessions::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

void ExportSessions::ReapIdle() {
  std::vector<std::shared_ptr<Session>> idle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = absl::Now();
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      bool expired;
      {
        std::lock_guard<std::mutex> session_lock(it->second->mu);
        expired = now - it->second->last_access > idle_timeout_;
      }
      if (expired) {
        idle.push_back(it->second);
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& session : idle) session->Cancel();
  for (auto& session : idle) session->Join();
}

absl::StatusOr<std::string> ExportSessions::Start(Producer producer) {
  ReapIdle();
  auto session = std::make_shared<Session>();
  session->last_access = absl::Now();
  session->buffer_limit = size_t{8} << 20;
  const std::string cursor = absl::BytesToHexString(crypto::RandomBytes(16));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sessions_.size() >= kMaxExportSessions) {
      return ShedError("too many exports in progress; retry later");
    }
    sessions_.emplace(cursor, session);
  }
  Session* s = session.get();
  session->thread = std::thread([s, producer = std::move(producer)] {
    Sink sink = [s](absl::string_view chunk) -> absl::Status {
      std::unique_lock<std::mutex> lock(s->mu);
      s->changed.wait(lock, [s] { return s->cancelled || s->buffer.size() < s->buffer_limit; });
      if (s->cancelled) return absl::CancelledError("export cancelled");
      s->buffer.append(chunk.data(), chunk.size());
      s->changed.notify_all();
      return absl::OkStatus();
    };
    absl::Status status = producer(sink);
    {
      std::lock_guard<std::mutex> lock(s->mu);
      s->finished = true;
      s->status = std::move(status);
    }
    s->changed.notify_all();
  });
  return cursor;
}

absl::StatusOr<ExportSessions::Page> ExportSessions::Next(const std::string& cursor,
                                                          size_t max_bytes) {
  std::shared_ptr<Session> session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(cursor);
    if (it == sessions_.end()) {
      return absl::FailedPreconditionError("unknown or expired export cursor");
    }
    session = it->second;
  }
  Page page;
  bool end = false;
  absl::Status failure;
  {
    std::unique_lock<std::mutex> lock(session->mu);
    session->buffer_limit = std::max(session->buffer_limit, 2 * max_bytes);
    session->changed.wait(lock, [&] {
      return session->finished || session->cancelled || session->buffer.size() >= max_bytes;
    });
    if (session->finished && !session->status.ok()) {
      failure = session->status;
      end = true;
    } else {
      const size_t take = std::min(max_bytes, session->buffer.size());
      page.chunk = session->buffer.substr(0, take);
      session->buffer.erase(0, take);
      page.done = session->finished && session->buffer.empty();
      end = page.done || session->cancelled;
      if (session->cancelled && !page.done) failure = absl::CancelledError("export cancelled");
    }
    session->last_access = absl::Now();
  }
  session->changed.notify_all();
  if (end) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      sessions_.erase(cursor);
    }
    session->Cancel();
    session->Join();
  }
  if (!failure.ok()) return failure;
  return page;
}

}  // namespace cdp::api
