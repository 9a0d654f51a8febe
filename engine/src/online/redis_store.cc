#include "featureforge/online/redis_store.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <mutex>
#include <numeric>

#include "featureforge/online/serialization.h"
#include "redis_dump.h"
#include "store_util.h"

namespace featureforge::online {
namespace {

// Writes a batch of rows of one view, each only when it is newer than the stored row.
// KEYS[i]: hash key of row i. ARGV[1] "_ts:<view>"; ARGV[2] "_ff_order:<view>"; ARGV[3] key TTL
// seconds (0 = none); ARGV[4] F = number of features; ARGV[5 .. 4+F] feature field names; then per
// row 3+F values: order string (see OrderKey), event ts micros, Timestamp proto bytes, F Value
// bytes. Returns how many rows were written. Many rows per call amortize the script call cost;
// comparing the fixed-width order strings avoids decoding protobuf in Lua. Rows that only have
// Feast's `_ts` field are compared by decoding it (micros as doubles: exact up to year 2255).
constexpr std::string_view kWriteScript = R"lua(
local function varint(s, i)
  local result, mult = 0, 1
  while true do
    local b = string.byte(s, i)
    if b == nil then return nil, i end
    i = i + 1
    if b < 128 then return result + b * mult, i end
    result = result + (b - 128) * mult
    mult = mult * 128
  end
end
local function ts_micros(s)
  local seconds, nanos, i = 0, 0, 1
  while i <= #s do
    local tag, v
    tag, i = varint(s, i)
    if tag == nil then break end
    v, i = varint(s, i)
    if v == nil then break end
    if tag == 8 then seconds = v elseif tag == 16 then nanos = v end
  end
  return seconds * 1000000 + math.floor(nanos / 1000)
end
local ts_field, order_field = ARGV[1], ARGV[2]
local ttl, nf = tonumber(ARGV[3]), tonumber(ARGV[4])
local stride = 3 + nf
local written = 0
local args = {}
for f = 1, nf do args[3 + 2 * f] = ARGV[4 + f] end
args[1], args[3] = ts_field, order_field
for i = 1, #KEYS do
  local o = 5 + nf + (i - 1) * stride
  local order = ARGV[o]
  local newer = true
  local stored_order = redis.call('HGET', KEYS[i], order_field)
  if stored_order then
    newer = order > stored_order
  else
    local stored_ts = redis.call('HGET', KEYS[i], ts_field)
    if stored_ts then
      -- A row written without our order field (e.g. by Feast): event ts only, created ts 0.
      local old, new = ts_micros(stored_ts), tonumber(ARGV[o + 1])
      newer = new > old or (new == old and string.sub(order, 17) > '8000000000000000')
    end
  end
  if newer then
    args[2], args[4] = ARGV[o + 2], order
    for f = 1, nf do args[4 + 2 * f] = ARGV[o + 2 + f] end
    redis.call('HSET', KEYS[i], unpack(args, 1, 4 + 2 * nf))
    if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
    written = written + 1
  end
end
return written
)lua";

// Rows per EVALSHA call: large enough to amortize the call, small enough that one script does
// not hold the server for long (~1 ms).
constexpr size_t kRowsPerScriptCall = 128;

// Removes one view's row from a key: the whole key when no other view's `_ts:` field is in it,
// else the view's timestamp fields (its rows then read as not found).
constexpr std::string_view kDeleteScript = R"lua(
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local others = 0
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 4) == '_ts:' and f ~= ARGV[1] then others = others + 1 end
end
if others == 0 then redis.call('DEL', KEYS[1]) else redis.call('HDEL', KEYS[1], ARGV[1], ARGV[2]) end
return 1
)lua";

std::string OrderField(const std::string& view) { return "_ff_order:" + view; }

// (event ts, created ts) as 32 hex digits whose byte order is their numeric order: each value is
// offset by 2^63 so negative timestamps sort first.
std::string OrderKey(TimestampMicros event_ts, TimestampMicros created_ts) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  uint64_t parts[2] = {static_cast<uint64_t>(event_ts) ^ (uint64_t{1} << 63),
                       static_cast<uint64_t>(created_ts) ^ (uint64_t{1} << 63)};
  for (int p = 0; p < 2; ++p) {
    for (int i = 0; i < 16; ++i) out[p * 16 + i] = kHex[(parts[p] >> (60 - 4 * i)) & 15];
  }
  return out;
}

// hiredis writes with write(2): a server that goes away mid-write would raise SIGPIPE and kill
// the process. Block it on this thread while we talk to Redis and discard any it raised
// (the failed write already reports EPIPE), without touching the process-wide disposition.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_);
  }
  ~SigpipeGuard() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&old_, SIGPIPE)) {
      timespec zero{0, 0};
      sigtimedwait(&pipe_set, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t old_;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// Builds one command's argv as views into owned strings.
class Command {
 public:
  void Add(std::string_view arg) {
    argv_.push_back(arg.data());
    lens_.push_back(arg.size());
  }
  int argc() const { return static_cast<int>(argv_.size()); }
  const char** argv() { return argv_.data(); }
  const size_t* lens() const { return lens_.data(); }
  void Clear() {
    argv_.clear();
    lens_.clear();
  }

 private:
  std::vector<const char*> argv_;
  std::vector<size_t> lens_;
};

class RedisOnlineStore final : public OnlineStore {
 public:
  explicit RedisOnlineStore(RedisStoreOptions options) : options_(std::move(options)) {
    describe_ = "redis:" + options_.host + ":" + std::to_string(options_.port);
    if (options_.db != 0) describe_ += "/" + std::to_string(options_.db);
  }

  Status Connect() {
    std::lock_guard lock(mu_);
    SigpipeGuard guard;
    return EnsureConnected();
  }

  Result<WriteStats> Write(const ViewSpec& view, std::span<const WriteRow> rows) override;
  Result<std::vector<ReadRow>> Read(const ViewSpec& view, std::span<const EntityKey> keys) override;
  Result<std::vector<std::vector<ReadRow>>> ReadMany(
      std::span<const ReadRequest> requests) override;
  Status DeleteView(const std::string& project, const std::string& view) override;
  std::string Describe() const override { return describe_; }

 private:
  Status EnsureConnected();
  // The error of a failed round trip; drops the connection so the next call reconnects.
  Status ConnectionError(const std::string& during);
  Result<Reply> Call(Command& cmd, const std::string& during);
  // Compare-and-set through the write script for rows[indices[i]].
  Result<WriteStats> WriteOnce(const ViewSpec& view, std::span<const WriteRow> rows,
                               std::span<const size_t> indices, bool* noscript);
  // The fast path for keys that do not exist yet: RESTORE without REPLACE (see redis_dump.h).
  // Counts created keys in `stats`; rows whose key exists (BUSYKEY) go to `remaining`.
  Status RestoreNewKeys(const ViewSpec& view, std::span<const WriteRow> rows, WriteStats* stats,
                        std::vector<size_t>* remaining);

  RedisStoreOptions options_;
  std::string describe_;
  std::mutex mu_;
  Context ctx_;
  std::string write_sha_;
  // False once the server refused a RESTORE payload (Redis < 7.0, RESTORE not allowed): every
  // row then goes through the script.
  bool restore_supported_ = true;
  // Write calls left that skip the RESTORE attempt: set when most keys of a call existed
  // already (re-materializing), so their payloads are not built for nothing.
  int restore_skip_calls_ = 0;
};

// RESTOREs per write(2) while building a call's pipeline: the server starts on the first
// rows while the rest are still being encoded.
constexpr size_t kRestoreRowsPerFlush = 512;
// After a call where more than half the keys existed, this many calls go straight to the script.
constexpr int kRestoreSkipCalls = 16;

// True when a view's field names are distinct (a RESTORE payload must not repeat a field;
// HSET would simply overwrite, so the script path is used otherwise).
bool FieldsAreDistinct(const std::vector<std::string>& fields, const std::string& ts_field,
                       const std::string& order_field) {
  std::vector<std::string_view> all(fields.begin(), fields.end());
  all.push_back(ts_field);
  all.push_back(order_field);
  std::sort(all.begin(), all.end());
  return std::adjacent_find(all.begin(), all.end()) == all.end();
}

Status RedisOnlineStore::ConnectionError(const std::string& during) {
  std::string detail = ctx_ && ctx_->errstr[0] ? ctx_->errstr : "connection lost";
  bool timed_out = ctx_ && ctx_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
  ctx_.reset();
  std::string message = "redis server " + options_.host + ":" + std::to_string(options_.port) +
                        " " + during + ": " + detail;
  return timed_out ? Status::Timeout(message + " (command timeout)") : Status::Unavailable(message);
}

Status RedisOnlineStore::EnsureConnected() {
  if (ctx_) return Status::OK();
  redisContext* raw = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                              ToTimeval(options_.connect_timeout));
  if (raw == nullptr) {
    return Status::Unavailable("redis server " + options_.host + ":" +
                               std::to_string(options_.port) + ": cannot allocate a connection");
  }
  ctx_.reset(raw);
  if (ctx_->err) return ConnectionError("connect");
  redisSetTimeout(ctx_.get(), ToTimeval(options_.command_timeout));
  redisEnableKeepAlive(ctx_.get());
  Command cmd;
  if (!options_.password.empty()) {
    cmd.Add("AUTH");
    cmd.Add(options_.password);
    FF_ASSIGN_OR_RETURN(Reply r, Call(cmd, "AUTH"));
    (void)r;
  }
  if (options_.db != 0) {
    std::string db = std::to_string(options_.db);
    cmd.Clear();
    cmd.Add("SELECT");
    cmd.Add(db);
    FF_ASSIGN_OR_RETURN(Reply r, Call(cmd, "SELECT " + db));
    (void)r;
  }
  cmd.Clear();
  cmd.Add("SCRIPT");
  cmd.Add("LOAD");
  cmd.Add(kWriteScript);
  FF_ASSIGN_OR_RETURN(Reply sha, Call(cmd, "SCRIPT LOAD"));
  if (sha->type != REDIS_REPLY_STRING) return Status::Internal("SCRIPT LOAD returned no sha");
  write_sha_.assign(sha->str, sha->len);
  return Status::OK();
}

Result<Reply> RedisOnlineStore::Call(Command& cmd, const std::string& during) {
  if (!ctx_) FF_RETURN_IF_ERROR(EnsureConnected());
  auto* raw =
      static_cast<redisReply*>(redisCommandArgv(ctx_.get(), cmd.argc(), cmd.argv(), cmd.lens()));
  if (raw == nullptr) return ConnectionError(during);
  Reply reply(raw);
  if (reply->type == REDIS_REPLY_ERROR) {
    Status s = Status::FailedPrecondition("redis server " + options_.host + ":" +
                                          std::to_string(options_.port) + " " + during + ": " +
                                          std::string(reply->str, reply->len));
    // A failed AUTH/SELECT leaves a connection we must not reuse.
    if (during == "AUTH" || during.starts_with("SELECT")) ctx_.reset();
    return s;
  }
  return reply;
}

Result<WriteStats> RedisOnlineStore::WriteOnce(const ViewSpec& view, std::span<const WriteRow> rows,
                                               std::span<const size_t> indices, bool* noscript) {
  *noscript = false;
  FF_RETURN_IF_ERROR(EnsureConnected());
  const std::vector<std::string> fields = FeatureFields(view);
  const size_t nf = fields.size();
  const std::string ts_field = RedisTimestampField(view.view);
  const std::string order_field = OrderField(view.view);
  const std::string ttl = std::to_string(options_.key_ttl_seconds);
  const std::string num_features = std::to_string(nf);
  const std::string during = "write of view " + view.view;

  // Argument strings of one call live here until hiredis has formatted (copied) them.
  std::vector<std::string> keys(kRowsPerScriptCall);
  std::vector<std::string> row_args(kRowsPerScriptCall * (3 + nf));
  std::vector<std::pair<size_t, size_t>> calls;  // [begin, end) rows per pipelined call
  Command cmd;
  for (size_t begin = 0; begin < indices.size(); begin += kRowsPerScriptCall) {
    const size_t end = std::min(indices.size(), begin + kRowsPerScriptCall);
    const size_t n = end - begin;
    cmd.Clear();
    cmd.Add("EVALSHA");
    cmd.Add(write_sha_);
    std::string key_count = std::to_string(n);
    cmd.Add(key_count);
    for (size_t i = 0; i < n; ++i) {
      keys[i].clear();
      SerializeEntityKeyTo(rows[indices[begin + i]].entity_key, &keys[i]);
      keys[i].append(view.project);
      cmd.Add(keys[i]);
    }
    cmd.Add(ts_field);
    cmd.Add(order_field);
    cmd.Add(ttl);
    cmd.Add(num_features);
    for (const auto& f : fields) cmd.Add(f);
    for (size_t i = 0; i < n; ++i) {
      const WriteRow& row = rows[indices[begin + i]];
      std::string* a = &row_args[i * (3 + nf)];
      a[0] = OrderKey(row.event_ts, row.created_ts);
      a[1] = std::to_string(row.event_ts);
      a[2] = EncodeTimestampProto(row.event_ts);
      for (size_t f = 0; f < nf; ++f) {
        a[3 + f].clear();
        EncodeValueProtoTo(row.values[f], &a[3 + f]);
      }
      for (size_t k = 0; k < 3 + nf; ++k) cmd.Add(a[k]);
    }
    if (redisAppendCommandArgv(ctx_.get(), cmd.argc(), cmd.argv(), cmd.lens()) != REDIS_OK) {
      return ConnectionError(during);
    }
    calls.emplace_back(begin, end);
  }
  WriteStats stats;
  Status first_error;
  for (const auto& [begin, end] : calls) {
    void* raw = nullptr;
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
      return ConnectionError(during + " (" + std::to_string(begin) + " of " +
                             std::to_string(indices.size()) +
                             " compare-and-set rows acknowledged)");
    }
    Reply reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_INTEGER) {
      stats.rows_written += reply->integer;
      stats.rows_skipped_stale += static_cast<int64_t>(end - begin) - reply->integer;
    } else if (first_error.ok()) {
      std::string text = reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len)
                                                          : "unexpected reply";
      if (text.starts_with("NOSCRIPT")) *noscript = true;
      first_error = Status::FailedPrecondition(
          "redis server " + options_.host + ":" + std::to_string(options_.port) + " " + during +
          " (rows " + std::to_string(indices[begin]) + ".." + std::to_string(indices[end - 1]) +
          ", first key " + rows[indices[begin]].entity_key.ToString() + "): " + text);
    }
  }
  if (!first_error.ok()) return first_error;
  return stats;
}

Status RedisOnlineStore::RestoreNewKeys(const ViewSpec& view, std::span<const WriteRow> rows,
                                        WriteStats* stats, std::vector<size_t>* remaining) {
  FF_RETURN_IF_ERROR(EnsureConnected());
  const std::vector<std::string> fields = FeatureFields(view);
  const size_t nf = fields.size();
  const std::string ts_field = RedisTimestampField(view.view);
  const std::string order_field = OrderField(view.view);
  const std::string ttl_ms = std::to_string(options_.key_ttl_seconds * 1000);
  const std::string during = "write of view " + view.view;

  std::string pipeline, key, payload, scratch, ts_bytes, order;
  std::vector<std::string> values(nf);
  std::vector<std::pair<std::string_view, std::string_view>> pairs(2 + nf);
  for (size_t f = 0; f < nf; ++f) pairs[2 + f].first = fields[f];
  pairs[0].first = ts_field;
  pairs[1].first = order_field;
  pipeline.reserve(std::min(rows.size(), kRestoreRowsPerFlush) * 256);
  for (size_t i = 0; i < rows.size(); ++i) {
    const WriteRow& row = rows[i];
    key.clear();
    SerializeEntityKeyTo(row.entity_key, &key);
    key.append(view.project);
    ts_bytes = EncodeTimestampProto(row.event_ts);
    order = OrderKey(row.event_ts, row.created_ts);
    pairs[0].second = ts_bytes;
    pairs[1].second = order;
    for (size_t f = 0; f < nf; ++f) {
      values[f].clear();
      EncodeValueProtoTo(row.values[f], &values[f]);
      pairs[2 + f].second = values[f];
    }
    payload.clear();
    AppendHashDumpPayload(pairs, &payload, &scratch);
    AppendRespCommand({"RESTORE", key, ttl_ms, payload}, &pipeline);
    if ((i + 1) % kRestoreRowsPerFlush == 0 || i + 1 == rows.size()) {
      if (redisAppendFormattedCommand(ctx_.get(), pipeline.data(), pipeline.size()) != REDIS_OK) {
        return ConnectionError(during);
      }
      pipeline.clear();
      int done = 0;
      while (!done) {
        if (redisBufferWrite(ctx_.get(), &done) != REDIS_OK) {
          return ConnectionError(during + " (sending row " + std::to_string(i) + ")");
        }
      }
    }
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
      return ConnectionError(during + " (" + std::to_string(i) + " of " +
                             std::to_string(rows.size()) + " new-key rows acknowledged)");
    }
    Reply reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_STATUS) {
      stats->rows_written++;
      continue;
    }
    // BUSYKEY: the key exists (another view of the entity, an earlier run, a concurrent
    // writer): compare-and-set it. Any other refusal (an old server, RESTORE not allowed)
    // turns the fast path off for this store; the row still gets written by the script.
    remaining->push_back(i);
    std::string_view text = reply->type == REDIS_REPLY_ERROR
                                ? std::string_view(reply->str, reply->len)
                                : std::string_view("unexpected reply");
    if (!text.starts_with("BUSYKEY")) restore_supported_ = false;
  }
  return Status::OK();
}

Result<WriteStats> RedisOnlineStore::Write(const ViewSpec& view, std::span<const WriteRow> rows) {
  FF_RETURN_IF_ERROR(ValidateWriteRows(view, rows));
  if (rows.empty()) return WriteStats{};
  std::lock_guard lock(mu_);
  SigpipeGuard guard;
  WriteStats stats;
  std::vector<size_t> remaining;
  const bool try_restore =
      restore_supported_ && restore_skip_calls_ == 0 &&
      FieldsAreDistinct(FeatureFields(view), RedisTimestampField(view.view), OrderField(view.view));
  if (try_restore) {
    FF_RETURN_IF_ERROR(RestoreNewKeys(view, rows, &stats, &remaining));
    if (remaining.size() * 2 > rows.size()) restore_skip_calls_ = kRestoreSkipCalls;
  } else {
    if (restore_skip_calls_ > 0) --restore_skip_calls_;
    remaining.resize(rows.size());
    std::iota(remaining.begin(), remaining.end(), size_t{0});
  }
  if (remaining.empty()) return stats;
  bool noscript = false;
  auto result = WriteOnce(view, rows, remaining, &noscript);
  if (!result.ok() && noscript) {
    // The server lost its script cache (restart, SCRIPT FLUSH): reload and redo these rows,
    // which is safe because writes are monotonic.
    ctx_.reset();
    result = WriteOnce(view, rows, remaining, &noscript);
  }
  if (!result.ok()) return result.status();
  stats.rows_written += result->rows_written;
  stats.rows_skipped_stale += result->rows_skipped_stale;
  return stats;
}

Result<std::vector<ReadRow>> RedisOnlineStore::Read(const ViewSpec& view,
                                                    std::span<const EntityKey> keys) {
  ReadRequest request{view, std::vector<EntityKey>(keys.begin(), keys.end())};
  FF_ASSIGN_OR_RETURN(auto rows, ReadMany(std::span<const ReadRequest>(&request, 1)));
  return std::move(rows.front());
}

Result<std::vector<std::vector<ReadRow>>> RedisOnlineStore::ReadMany(
    std::span<const ReadRequest> requests) {
  // Every key of every view is one HMGET; all of them go out in one pipeline, so a request
  // costs one round trip however many views it spans.
  std::vector<std::vector<std::string>> redis_keys(requests.size());
  std::vector<std::vector<std::string>> fields(requests.size());
  for (size_t r = 0; r < requests.size(); ++r) {
    const ReadRequest& request = requests[r];
    redis_keys[r].resize(request.keys.size());
    for (size_t i = 0; i < request.keys.size(); ++i) {
      FF_ASSIGN_OR_RETURN(redis_keys[r][i], SerializeEntityKey(request.keys[i]));
      redis_keys[r][i].append(request.view.project);
    }
    fields[r] = FeatureFields(request.view);
    fields[r].push_back(RedisTimestampField(request.view.view));
  }

  std::lock_guard lock(mu_);
  SigpipeGuard guard;
  FF_RETURN_IF_ERROR(EnsureConnected());
  Command cmd;
  for (size_t r = 0; r < requests.size(); ++r) {
    for (const std::string& key : redis_keys[r]) {
      cmd.Clear();
      cmd.Add("HMGET");
      cmd.Add(key);
      for (const auto& f : fields[r]) cmd.Add(f);
      if (redisAppendCommandArgv(ctx_.get(), cmd.argc(), cmd.argv(), cmd.lens()) != REDIS_OK) {
        return ConnectionError("read of view " + requests[r].view.view);
      }
    }
  }
  std::vector<std::vector<ReadRow>> out(requests.size());
  Status first_error;
  for (size_t r = 0; r < requests.size(); ++r) {
    const ViewSpec& view = requests[r].view;
    const std::span<const EntityKey> keys = requests[r].keys;
    const size_t n = view.feature_names.size();
    out[r].resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
        return ConnectionError("read of view " + view.view);
      }
      Reply reply(static_cast<redisReply*>(raw));
      if (!first_error.ok()) continue;  // drain the pipeline
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != n + 1) {
        std::string text = reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len)
                                                            : "unexpected reply shape";
        first_error =
            Status::FailedPrecondition("redis server " + describe_ + " read of view " + view.view +
                                       " key " + keys[i].ToString() + ": " + text);
        continue;
      }
      ReadRow& row = out[r][i];
      row.values.assign(n, Value::Null());
      const redisReply* ts = reply->element[n];
      if (ts->type != REDIS_REPLY_STRING) continue;  // no row for this view
      auto event_ts = DecodeTimestampProto(std::string_view(ts->str, ts->len));
      if (!event_ts.ok()) {
        first_error = event_ts.status().WithContext(describe_ + " key " + keys[i].ToString());
        continue;
      }
      row.found = true;
      row.event_ts = *event_ts;
      for (size_t f = 0; f < n; ++f) {
        const redisReply* v = reply->element[f];
        if (v->type != REDIS_REPLY_STRING) continue;
        auto value = DecodeValueProto(std::string_view(v->str, v->len));
        if (!value.ok()) {
          first_error =
              value.status().WithContext(describe_ + " view " + view.view + " feature " +
                                         view.feature_names[f] + " key " + keys[i].ToString());
          break;
        }
        row.values[f] = std::move(value).value();
      }
    }
  }
  if (!first_error.ok()) return first_error;
  return out;
}

std::string GlobEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

Status RedisOnlineStore::DeleteView(const std::string& project, const std::string& view) {
  std::lock_guard lock(mu_);
  SigpipeGuard guard;
  FF_RETURN_IF_ERROR(EnsureConnected());
  const std::string pattern = "*" + GlobEscape(project);
  const std::string ts_field = RedisTimestampField(view);
  const std::string order_field = OrderField(view);
  const std::string during = "delete of view " + view;
  std::string cursor = "0";
  Command cmd;
  do {
    cmd.Clear();
    cmd.Add("SCAN");
    cmd.Add(cursor);
    cmd.Add("MATCH");
    cmd.Add(pattern);
    cmd.Add("COUNT");
    cmd.Add("1000");
    FF_ASSIGN_OR_RETURN(Reply scan, Call(cmd, during));
    if (scan->type != REDIS_REPLY_ARRAY || scan->elements != 2) {
      return Status::Internal("redis " + describe_ + ": unexpected SCAN reply");
    }
    cursor.assign(scan->element[0]->str, scan->element[0]->len);
    const redisReply* batch = scan->element[1];
    size_t appended = 0;
    for (size_t i = 0; i < batch->elements; ++i) {
      std::string_view key(batch->element[i]->str, batch->element[i]->len);
      // Only keys of this project: the rest must be a well-formed serialized entity key
      // (a project whose name merely ends like ours leaves extra bytes and fails to parse).
      if (key.size() <= project.size()) continue;
      if (!DeserializeEntityKey(key.substr(0, key.size() - project.size())).ok()) continue;
      cmd.Clear();
      cmd.Add("EVAL");
      cmd.Add(kDeleteScript);
      cmd.Add("1");
      cmd.Add(key);
      cmd.Add(ts_field);
      cmd.Add(order_field);
      if (redisAppendCommandArgv(ctx_.get(), cmd.argc(), cmd.argv(), cmd.lens()) != REDIS_OK) {
        return ConnectionError(during);
      }
      ++appended;
    }
    for (size_t i = 0; i < appended; ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
        return ConnectionError(during);
      }
      Reply reply(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_ERROR) {
        return Status::FailedPrecondition("redis " + describe_ + " " + during + ": " +
                                          std::string(reply->str, reply->len));
      }
    }
  } while (cursor != "0");
  return Status::OK();
}

}  // namespace

Result<RedisStoreOptions> ParseRedisConnectionString(const std::string& connection_string) {
  RedisStoreOptions options;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t comma = connection_string.find(',', start);
    parts.push_back(connection_string.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  // Names the address only: the string may carry a password, which must not reach logs.
  auto bad = [&](const std::string& why) {
    const std::string shown = parts[0] + (parts.size() > 1 ? ",..." : "");
    return Status::InvalidArgument("online_store.connection_string '" + shown + "': " + why +
                                   " (expected host:port[,db=N][,password=...])");
  };
  std::string address = parts[0];
  if (address.starts_with("redis://")) address = address.substr(8);
  if (address.empty()) return bad("empty host");
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    options.host = address;
  } else {
    options.host = address.substr(0, colon);
    std::string port = address.substr(colon + 1);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), options.port);
    if (ec != std::errc() || p != port.data() + port.size() || options.port <= 0 ||
        options.port > 65535) {
      return bad("port '" + port + "' is not a number in 1..65535");
    }
  }
  if (options.host.empty()) return bad("empty host");
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string name = part.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : part.substr(eq + 1);
    if (name == "db") {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), options.db);
      if (ec != std::errc() || p != value.data() + value.size() || options.db < 0) {
        return bad("db '" + value + "' is not a non-negative number");
      }
    } else if (name == "password") {
      options.password = value;
    } else if (name == "ssl") {
      if (value == "true" || value == "True") {
        return Status::NotSupported("TLS connections to Redis (connection_string ssl=true)");
      }
    } else {
      return bad("unknown parameter '" + name + "'");
    }
  }
  return options;
}

Result<std::unique_ptr<OnlineStore>> OpenRedisOnlineStore(const RedisStoreOptions& options) {
  auto store = std::make_unique<RedisOnlineStore>(options);
  FF_RETURN_IF_ERROR(store->Connect());
  return std::unique_ptr<OnlineStore>(std::move(store));
}

}  // namespace featureforge::online
