#include "featureforge/online/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <unordered_map>

#include "featureforge/online/serialization.h"
#include "store_util.h"

namespace featureforge::online {
namespace {

constexpr size_t kReadBatch = 256;
// Rows per multi-row UPSERT statement (4 parameters each): one statement execution per this many
// rows instead of per row; the tail of a chunk uses the single-row statement.
constexpr size_t kUpsertBatch = 64;

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string TableName(const std::string& project, const std::string& view) {
  return "ff_" + project + "__" + view;
}

class SqliteOnlineStore final : public OnlineStore {
 public:
  SqliteOnlineStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteOnlineStore() override {
    tables_.clear();  // finalize statements before closing
    sqlite3_close_v2(db_);
  }

  Result<WriteStats> Write(const ViewSpec& view, std::span<const WriteRow> rows) override;
  Result<std::vector<ReadRow>> Read(const ViewSpec& view, std::span<const EntityKey> keys) override;
  Status DeleteView(const std::string& project, const std::string& view) override;
  std::string Describe() const override { return "sqlite:" + path_; }

 private:
  struct Table {
    Stmt upsert;           // one row
    Stmt upsert_batch;     // kUpsertBatch rows
    Stmt read_full_batch;  // kReadBatch placeholders
  };

  Status Error(const std::string& what) const {
    return Status::IOError("sqlite " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
  }
  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string message = err ? err : "unknown error";
      sqlite3_free(err);
      return Status::IOError("sqlite " + path_ + ": " + sql + ": " + message);
    }
    return Status::OK();
  }
  Result<Stmt> Prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      return Error("prepare `" + sql + "`");
    }
    return Stmt(s);
  }
  std::string ReadSql(const std::string& table, size_t n) const {
    std::string sql = "SELECT entity_key, event_ts, payload FROM " + QuoteIdentifier(table) +
                      " WHERE entity_key IN (";
    for (size_t i = 0; i < n; ++i) sql += i ? ",?" : "?";
    return sql + ")";
  }
  // Returns the table's statements, creating the table when `create` is set; nullptr when the
  // table does not exist and `create` is false.
  Result<Table*> GetTable(const std::string& name, bool create);

  sqlite3* db_;
  std::string path_;
  std::mutex mu_;
  std::map<std::string, Table> tables_;
};

Result<SqliteOnlineStore::Table*> SqliteOnlineStore::GetTable(const std::string& name,
                                                              bool create) {
  if (auto it = tables_.find(name); it != tables_.end()) return &it->second;
  const std::string quoted = QuoteIdentifier(name);
  if (create) {
    std::string ddl = "CREATE TABLE IF NOT EXISTS " + quoted +
                      " (entity_key BLOB PRIMARY KEY, event_ts INTEGER NOT NULL, "
                      "created_ts INTEGER NOT NULL, payload BLOB NOT NULL) WITHOUT ROWID";
    FF_RETURN_IF_ERROR(Exec(ddl.c_str()));
  } else {
    FF_ASSIGN_OR_RETURN(Stmt probe,
                        Prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?"));
    sqlite3_bind_text(probe.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    int rc = sqlite3_step(probe.get());
    if (rc == SQLITE_DONE) return static_cast<Table*>(nullptr);
    if (rc != SQLITE_ROW) return Error("look up table " + name);
  }
  Table table;
  // Rows of one statement are applied in order, so a key repeated within it is compared with
  // the row written just before, exactly as with one statement per row.
  auto upsert_sql = [&](size_t rows) {
    std::string sql =
        "INSERT INTO " + quoted + " (entity_key, event_ts, created_ts, payload) VALUES ";
    for (size_t i = 0; i < rows; ++i) sql += i ? ",(?,?,?,?)" : "(?,?,?,?)";
    return sql +
           " ON CONFLICT(entity_key) DO UPDATE SET event_ts = excluded.event_ts, "
           "created_ts = excluded.created_ts, payload = excluded.payload "
           "WHERE excluded.event_ts > event_ts OR "
           "(excluded.event_ts = event_ts AND excluded.created_ts > created_ts)";
  };
  FF_ASSIGN_OR_RETURN(table.upsert, Prepare(upsert_sql(1)));
  FF_ASSIGN_OR_RETURN(table.upsert_batch, Prepare(upsert_sql(kUpsertBatch)));
  FF_ASSIGN_OR_RETURN(table.read_full_batch, Prepare(ReadSql(name, kReadBatch)));
  return &tables_.emplace(name, std::move(table)).first->second;
}

Result<WriteStats> SqliteOnlineStore::Write(const ViewSpec& view, std::span<const WriteRow> rows) {
  FF_RETURN_IF_ERROR(ValidateWriteRows(view, rows));
  WriteStats stats;
  if (rows.empty()) return stats;
  std::lock_guard lock(mu_);
  FF_ASSIGN_OR_RETURN(Table * table, GetTable(TableName(view.project, view.view), true));
  const std::vector<std::string> fields = FeatureFields(view);

  // Keys and payloads of the whole chunk first: the write lock is then held only for the
  // B-tree work.
  std::vector<std::string> key_bytes(rows.size()), payloads(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    SerializeEntityKeyTo(rows[i].entity_key, &key_bytes[i]);
    EncodePayload(fields, rows[i].values, &payloads[i]);
  }

  FF_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  sqlite3_stmt* upsert = nullptr;
  for (size_t begin = 0; begin < rows.size();) {
    const size_t n = rows.size() - begin >= kUpsertBatch ? kUpsertBatch : 1;
    upsert = n == kUpsertBatch ? table->upsert_batch.get() : table->upsert.get();
    sqlite3_reset(upsert);
    for (size_t i = 0; i < n; ++i) {
      const WriteRow& row = rows[begin + i];
      const int p = static_cast<int>(4 * i);
      sqlite3_bind_blob(upsert, p + 1, key_bytes[begin + i].data(),
                        static_cast<int>(key_bytes[begin + i].size()), SQLITE_STATIC);
      sqlite3_bind_int64(upsert, p + 2, row.event_ts);
      sqlite3_bind_int64(upsert, p + 3, row.created_ts);
      sqlite3_bind_blob(upsert, p + 4, payloads[begin + i].data(),
                        static_cast<int>(payloads[begin + i].size()), SQLITE_STATIC);
    }
    if (sqlite3_step(upsert) != SQLITE_DONE) {
      Status error = Error("write view " + view.view + " rows " + std::to_string(begin) + ".." +
                           std::to_string(begin + n - 1) + " (first key " +
                           rows[begin].entity_key.ToString() + ")");
      sqlite3_reset(upsert);
      (void)Exec("ROLLBACK");
      return error;
    }
    // Rows inserted or updated by this statement; the rest were not newer than the stored row.
    const int64_t changed = sqlite3_changes(db_);
    stats.rows_written += changed;
    stats.rows_skipped_stale += static_cast<int64_t>(n) - changed;
    begin += n;
  }
  if (upsert) sqlite3_reset(upsert);
  if (Status s = Exec("COMMIT"); !s.ok()) {
    (void)Exec("ROLLBACK");
    return s;
  }
  return stats;
}

Result<std::vector<ReadRow>> SqliteOnlineStore::Read(const ViewSpec& view,
                                                     std::span<const EntityKey> keys) {
  std::vector<ReadRow> out(keys.size());
  for (auto& row : out) row.values.assign(view.feature_names.size(), Value::Null());
  if (keys.empty()) return out;

  // Serialized key -> positions asking for it (a request may repeat a key).
  std::unordered_map<std::string, std::vector<size_t>> positions;
  std::vector<const std::string*> unique_keys;
  positions.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    FF_ASSIGN_OR_RETURN(std::string bytes, SerializeEntityKey(keys[i]));
    auto [it, inserted] = positions.try_emplace(std::move(bytes));
    it->second.push_back(i);
    if (inserted) unique_keys.push_back(&it->first);
  }
  const std::vector<std::string> fields = FeatureFields(view);

  std::lock_guard lock(mu_);
  FF_ASSIGN_OR_RETURN(Table * table, GetTable(TableName(view.project, view.view), false));
  if (table == nullptr) return out;  // never written: every key is not found

  for (size_t start = 0; start < unique_keys.size(); start += kReadBatch) {
    const size_t n = std::min(kReadBatch, unique_keys.size() - start);
    Stmt partial;
    sqlite3_stmt* stmt = table->read_full_batch.get();
    if (n != kReadBatch) {
      FF_ASSIGN_OR_RETURN(partial, Prepare(ReadSql(TableName(view.project, view.view), n)));
      stmt = partial.get();
    }
    sqlite3_reset(stmt);
    for (size_t i = 0; i < n; ++i) {
      const std::string& k = *unique_keys[start + i];
      sqlite3_bind_blob(stmt, static_cast<int>(i + 1), k.data(), static_cast<int>(k.size()),
                        SQLITE_STATIC);
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::string key(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                      static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
      auto it = positions.find(key);
      if (it == positions.end()) continue;
      ReadRow row;
      row.found = true;
      row.event_ts = sqlite3_column_int64(stmt, 1);
      std::string_view payload(static_cast<const char*>(sqlite3_column_blob(stmt, 2)),
                               static_cast<size_t>(sqlite3_column_bytes(stmt, 2)));
      Status decoded = DecodePayload(fields, payload, &row.values);
      if (!decoded.ok()) {
        sqlite3_reset(stmt);
        return decoded.WithContext("sqlite " + path_ + " view " + view.view + " key " +
                                   keys[it->second.front()].ToString());
      }
      for (size_t pos : it->second) out[pos] = row;
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return Error("read view " + view.view);
  }
  return out;
}

Status SqliteOnlineStore::DeleteView(const std::string& project, const std::string& view) {
  std::lock_guard lock(mu_);
  const std::string name = TableName(project, view);
  tables_.erase(name);
  return Exec(("DROP TABLE IF EXISTS " + QuoteIdentifier(name)).c_str());
}

}  // namespace

int64_t SqliteCachePagesForChunk(int64_t chunk_size) {
  constexpr int64_t kInteriorPages = 256;  // the B-tree above the leaves of ~10M rows
  constexpr int64_t kMaxPages = 16384;     // 64 MiB of 4 KiB pages
  return std::min(std::max<int64_t>(chunk_size, 0) + kInteriorPages, kMaxPages);
}

Result<std::unique_ptr<OnlineStore>> OpenSqliteOnlineStore(const SqliteStoreOptions& options) {
  if (options.path.empty()) return Status::InvalidArgument("online_store.path is empty");
  std::error_code ec;
  auto parent = std::filesystem::path(options.path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    return Status::IOError("create folder " + parent.string() +
                           " for the sqlite online store: " + ec.message());
  }
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(options.path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::IOError("open sqlite online store " + options.path + ": " + message);
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  auto store = std::make_unique<SqliteOnlineStore>(db, options.path);
  // The page cache keeps the B-tree pages of a chunk's upserts in memory instead of re-reading
  // them from the WAL (measured: most of the write time was read(2) copies with SQLite's 2 MiB
  // default); its size follows the chunk size (SqliteCachePagesForChunk), so memory does too.
  // WAL + synchronous=NORMAL: a commit is one WAL append without fsync; the database stays
  // consistent after a crash of the process or the machine, and a power loss can lose only the
  // last commits (which a re-run rewrites: writes are monotonic). Checkpoints (with fsync) run
  // every 4096 WAL pages (16 MiB) instead of SQLite's 1000, so a page rewritten by several chunks
  // is copied back once.
  const std::string cache_pragma =
      "PRAGMA cache_size=" + std::to_string(std::max<int64_t>(options.cache_pages, 16));
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                             cache_pragma.c_str(), "PRAGMA wal_autocheckpoint=4096"}) {
    char* err = nullptr;
    if (sqlite3_exec(db, pragma, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string message = err ? err : "unknown error";
      sqlite3_free(err);
      return Status::IOError("sqlite " + options.path + ": " + pragma + ": " + message);
    }
  }
  return std::unique_ptr<OnlineStore>(std::move(store));
}

}  // namespace featureforge::online
