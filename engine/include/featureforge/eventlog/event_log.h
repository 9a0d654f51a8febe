// EventLog: what a run did, as JSON lines next to its outputs.
//
// Open() first writes the zero-byte `<prefix>/.keep` placeholder, before any work, so a fresh
// prefix exists from the start and tools that list it never fail a job. Events then go to
// `<prefix>/<run_id>.jsonl`, one JSON object per line, keys in this order:
//   {"ts":"2024-01-31T12:00:00.5Z","run_id":"r1","stage":"materialize","event":"end",
//    "rows":1000,"bytes":52311,"seconds":1.25,"message":""}
// (`rows`, `bytes`, `seconds` are null when unknown). An event with named counts ends with
// `"counts":{"rows_read":10,...}` after "message".
//
// Durability: for local prefixes (paths, file://) every event is appended and flushed to the
// file at once. For object stores (s3://, mem://) objects cannot be appended to, so the log is
// kept in memory and the whole object is re-uploaded on Flush(), on Close(), and while
// appending at most once every `upload_interval` (default 10 s). Reopening the same run on an
// object store continues the existing log. All methods are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/objectstore/object_store.h"

namespace featureforge {

enum class RunEventKind { kStart, kEnd, kError };
// "start", "end", "error"
std::string_view RunEventKindName(RunEventKind kind);

struct RunEvent {
  std::string stage;
  RunEventKind kind = RunEventKind::kStart;
  std::optional<int64_t> rows;
  std::optional<int64_t> bytes;
  std::optional<double> seconds;
  std::string message;
  std::vector<std::pair<std::string, int64_t>> counts;  // rendered as "counts" when not empty
};

struct EventLogOptions {
  // Object-store logs: the longest an appended event waits before being uploaded (checked on
  // each append). Flush() and Close() always upload.
  DurationMicros upload_interval = 10 * kMicrosPerSecond;
  const Clock* clock = nullptr;        // SystemClock() when null
  std::shared_ptr<ObjectStore> store;  // OpenObjectStore(prefix) when null
};

class EventLog {
 public:
  // `run_id`: letters, digits, '.', '_', '-' (it becomes a file name).
  static Result<std::unique_ptr<EventLog>> Open(const std::string& prefix_uri,
                                                const std::string& run_id,
                                                EventLogOptions options = {});
  ~EventLog();  // Close(), errors ignored: call Close() to see them

  Status Append(const RunEvent& event);
  Status Start(std::string_view stage, std::string_view message = "");
  // `seconds` is measured from this log's Start() of the same stage (null without one).
  Status End(std::string_view stage, std::optional<int64_t> rows = std::nullopt,
             std::optional<int64_t> bytes = std::nullopt, std::string_view message = "");
  Status Error(std::string_view stage, std::string_view message);
  // Appends an end or error `event`; its `seconds`, when unset, is measured from this log's
  // Start() of the same stage.
  Status Finish(RunEvent event);

  // Makes every appended event durable (object stores: uploads the log if it changed).
  Status Flush();
  // Flushes; later appends fail with FailedPrecondition. Idempotent.
  Status Close();

  const std::string& run_id() const { return run_id_; }
  const std::string& keep_uri() const { return keep_uri_; }
  const std::string& log_uri() const { return log_uri_; }

  // One JSON line (without the trailing newline), as written to the log.
  static std::string FormatEvent(const RunEvent& event, TimestampMicros ts,
                                 std::string_view run_id);

 private:
  EventLog() = default;
  Status AppendLocked(const RunEvent& event);
  Status UploadLocked();

  std::mutex mu_;
  std::string run_id_;
  std::string keep_uri_;
  std::string log_uri_;
  EventLogOptions options_;
  const Clock* clock_ = nullptr;
  bool closed_ = false;
  std::map<std::string, TimestampMicros, std::less<>> stage_started_;

  // Local logs: an append-mode file.
  std::FILE* local_file_ = nullptr;
  // Object-store logs: the whole log, re-uploaded when dirty.
  std::string buffer_;
  bool dirty_ = false;
  TimestampMicros last_upload_ = 0;
};

}  // namespace featureforge
