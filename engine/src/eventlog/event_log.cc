// EventLog: .keep first, then JSON lines (appended locally, re-uploaded on object stores).
#include "featureforge/eventlog/event_log.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "featureforge/objectstore/local_store.h"

namespace featureforge {
namespace {

Status ValidateRunId(const std::string& run_id) {
  if (run_id.empty()) return Status::InvalidArgument("event log run_id is empty");
  if (run_id == "." || run_id == ".." || run_id == ".keep") {
    return Status::InvalidArgument("event log run_id '" + run_id + "' is reserved");
  }
  for (char c : run_id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("event log run_id '" + run_id +
                                     "' may only use letters, digits, '.', '_' and '-'");
    }
  }
  return Status::OK();
}

}  // namespace

std::string_view RunEventKindName(RunEventKind kind) {
  switch (kind) {
    case RunEventKind::kStart:
      return "start";
    case RunEventKind::kEnd:
      return "end";
    case RunEventKind::kError:
      return "error";
  }
  return "unknown";
}

std::string EventLog::FormatEvent(const RunEvent& event, TimestampMicros ts,
                                  std::string_view run_id) {
  nlohmann::ordered_json line;
  line["ts"] = FormatTimestamp(ts);
  line["run_id"] = run_id;
  line["stage"] = event.stage;
  line["event"] = RunEventKindName(event.kind);
  line["rows"] = event.rows ? nlohmann::ordered_json(*event.rows) : nullptr;
  line["bytes"] = event.bytes ? nlohmann::ordered_json(*event.bytes) : nullptr;
  if (event.seconds && std::isfinite(*event.seconds)) {
    line["seconds"] = *event.seconds;
  } else {
    line["seconds"] = nullptr;
  }
  line["message"] = event.message;
  if (!event.counts.empty()) {
    nlohmann::ordered_json counts = nlohmann::ordered_json::object();
    for (const auto& [name, value] : event.counts) counts[name] = value;
    line["counts"] = std::move(counts);
  }
  // Invalid UTF-8 in a message must not lose the event: replace, never throw.
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Result<std::unique_ptr<EventLog>> EventLog::Open(const std::string& prefix_uri,
                                                 const std::string& run_id,
                                                 EventLogOptions options) {
  if (prefix_uri.empty()) return Status::InvalidArgument("event log prefix is empty");
  FF_RETURN_IF_ERROR(ValidateRunId(run_id));
  std::unique_ptr<EventLog> log(new EventLog());
  log->run_id_ = run_id;
  log->keep_uri_ = JoinObjectUri(prefix_uri, ".keep");
  log->log_uri_ = JoinObjectUri(prefix_uri, run_id + ".jsonl");
  log->clock_ = options.clock != nullptr ? options.clock : &SystemClock();
  if (!options.store) {
    FF_ASSIGN_OR_RETURN(options.store, OpenObjectStore(prefix_uri));
  }
  log->options_ = std::move(options);
  ObjectStore& store = *log->options_.store;

  // The placeholder comes before anything else touches the prefix.
  Status keep = store.Put(log->keep_uri_, "");
  if (!keep.ok()) return keep.WithContext("writing event log placeholder " + log->keep_uri_);

  if (IsLocalObjectUri(prefix_uri) && dynamic_cast<LocalObjectStore*>(&store) != nullptr) {
    FF_ASSIGN_OR_RETURN(std::string path, LocalPathFromUri(log->log_uri_));
    log->local_file_ = std::fopen(path.c_str(), "ae");
    if (log->local_file_ == nullptr) {
      return Status::IOError("opening event log " + path + ": " + std::strerror(errno));
    }
  } else {
    auto existing = store.Get(log->log_uri_);
    if (existing.ok()) {
      log->buffer_ = std::move(existing).value();
      if (!log->buffer_.empty() && log->buffer_.back() != '\n') log->buffer_.push_back('\n');
    } else if (existing.status().code() != StatusCode::kNotFound) {
      return existing.status().WithContext("reading existing event log " + log->log_uri_);
    }
    log->last_upload_ = log->clock_->Now();
  }
  return log;
}

EventLog::~EventLog() { (void)Close(); }

Status EventLog::Append(const RunEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  return AppendLocked(event);
}

Status EventLog::Start(std::string_view stage, std::string_view message) {
  std::lock_guard<std::mutex> lock(mu_);
  RunEvent event;
  event.stage = std::string(stage);
  event.kind = RunEventKind::kStart;
  event.message = std::string(message);
  stage_started_[event.stage] = clock_->Now();
  return AppendLocked(event);
}

Status EventLog::End(std::string_view stage, std::optional<int64_t> rows,
                     std::optional<int64_t> bytes, std::string_view message) {
  std::lock_guard<std::mutex> lock(mu_);
  RunEvent event;
  event.stage = std::string(stage);
  event.kind = RunEventKind::kEnd;
  event.rows = rows;
  event.bytes = bytes;
  event.message = std::string(message);
  auto started = stage_started_.find(stage);
  if (started != stage_started_.end()) {
    event.seconds = static_cast<double>(clock_->Now() - started->second) / kMicrosPerSecond;
    stage_started_.erase(started);
  }
  return AppendLocked(event);
}

Status EventLog::Error(std::string_view stage, std::string_view message) {
  std::lock_guard<std::mutex> lock(mu_);
  RunEvent event;
  event.stage = std::string(stage);
  event.kind = RunEventKind::kError;
  event.message = std::string(message);
  auto started = stage_started_.find(stage);
  if (started != stage_started_.end()) {
    event.seconds = static_cast<double>(clock_->Now() - started->second) / kMicrosPerSecond;
    stage_started_.erase(started);
  }
  return AppendLocked(event);
}

Status EventLog::Finish(RunEvent event) {
  std::lock_guard<std::mutex> lock(mu_);
  auto started = stage_started_.find(event.stage);
  if (started != stage_started_.end()) {
    if (!event.seconds) {
      event.seconds = static_cast<double>(clock_->Now() - started->second) / kMicrosPerSecond;
    }
    stage_started_.erase(started);
  }
  return AppendLocked(event);
}

Status EventLog::AppendLocked(const RunEvent& event) {
  if (closed_) {
    return Status::FailedPrecondition("event log " + log_uri_ + " is closed");
  }
  TimestampMicros now = clock_->Now();
  std::string line = FormatEvent(event, now, run_id_) + "\n";
  if (local_file_ != nullptr) {
    if (std::fwrite(line.data(), 1, line.size(), local_file_) != line.size() ||
        std::fflush(local_file_) != 0) {
      return Status::IOError("appending to event log " + log_uri_ + ": " + std::strerror(errno));
    }
    return Status::OK();
  }
  buffer_ += line;
  dirty_ = true;
  if (now - last_upload_ >= options_.upload_interval) return UploadLocked();
  return Status::OK();
}

Status EventLog::UploadLocked() {
  if (!dirty_) return Status::OK();
  Status status = options_.store->Put(log_uri_, buffer_);
  if (!status.ok()) return status.WithContext("uploading event log " + log_uri_);
  dirty_ = false;
  last_upload_ = clock_->Now();
  return Status::OK();
}

Status EventLog::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  if (local_file_ != nullptr) return Status::OK();  // flushed on every append
  return UploadLocked();
}

Status EventLog::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return Status::OK();
  Status status;
  if (local_file_ != nullptr) {
    if (std::fclose(local_file_) != 0) {
      status = Status::IOError("closing event log " + log_uri_ + ": " + std::strerror(errno));
    }
    local_file_ = nullptr;
  } else {
    status = UploadLocked();
  }
  // A failed final upload leaves the log open so the caller can retry Close().
  if (status.ok()) closed_ = true;
  return status;
}

}  // namespace featureforge
