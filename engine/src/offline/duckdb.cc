#include "featureforge/offline/duckdb.h"

namespace featureforge::offline {

bool DuckChunk::IsNull(uint64_t col, uint64_t row) const {
  uint64_t* validity = duckdb_vector_get_validity(column(col));
  return validity != nullptr && !duckdb_validity_row_is_valid(validity, row);
}

DuckResult::~DuckResult() {
  if (valid_) duckdb_destroy_result(&result_);
}

uint64_t DuckResult::column_count() { return duckdb_column_count(&result_); }
std::string DuckResult::column_name(uint64_t i) {
  const char* name = duckdb_column_name(&result_, i);
  return name ? name : "";
}
duckdb_type DuckResult::column_type(uint64_t i) { return duckdb_column_type(&result_, i); }

Result<std::unique_ptr<DuckChunk>> DuckResult::Next() {
  duckdb_data_chunk chunk = duckdb_fetch_chunk(result_);
  if (chunk == nullptr) {
    const char* error = duckdb_result_error(&result_);
    if (error != nullptr) return Status::IOError(std::string("DuckDB: ") + error);
    return std::unique_ptr<DuckChunk>();
  }
  return std::make_unique<DuckChunk>(chunk);
}

Result<std::unique_ptr<DuckConnection>> DuckConnection::Open(
    const std::string& path, const std::map<std::string, std::string>& config) {
  std::unique_ptr<DuckConnection> conn(new DuckConnection());
  duckdb_config cfg = nullptr;
  if (duckdb_create_config(&cfg) != DuckDBSuccess) return Status::Internal("duckdb_create_config");
  for (const auto& [key, value] : config) {
    if (duckdb_set_config(cfg, key.c_str(), value.c_str()) != DuckDBSuccess) {
      duckdb_destroy_config(&cfg);
      return Status::InvalidArgument("invalid DuckDB setting " + key + "=" + value);
    }
  }
  char* error = nullptr;
  const char* db_path = path.empty() || path == ":memory:" ? nullptr : path.c_str();
  if (duckdb_open_ext(db_path, &conn->database_, cfg, &error) != DuckDBSuccess) {
    std::string message = error ? error : "unknown error";
    duckdb_free(error);
    duckdb_destroy_config(&cfg);
    return Status::IOError("cannot open DuckDB database " + path + ": " + message);
  }
  duckdb_destroy_config(&cfg);
  if (duckdb_connect(conn->database_, &conn->connection_) != DuckDBSuccess) {
    return Status::IOError("cannot connect to DuckDB database " + path);
  }
  return conn;
}

DuckConnection::~DuckConnection() {
  if (connection_) duckdb_disconnect(&connection_);
  if (database_) duckdb_close(&database_);
}

Status DuckConnection::Execute(const std::string& sql) {
  duckdb_result result;
  duckdb_state state = duckdb_query(connection_, sql.c_str(), &result);
  Status status;
  if (state != DuckDBSuccess) {
    const char* error = duckdb_result_error(&result);
    status = Status::InvalidArgument(std::string("DuckDB: ") + (error ? error : "query failed"));
  }
  duckdb_destroy_result(&result);
  return status;
}

Result<std::unique_ptr<DuckResult>> DuckConnection::Query(const std::string& sql) {
  auto result = std::make_unique<DuckResult>();
  duckdb_prepared_statement prepared = nullptr;
  if (duckdb_prepare(connection_, sql.c_str(), &prepared) != DuckDBSuccess) {
    std::string message = duckdb_prepare_error(prepared) ? duckdb_prepare_error(prepared) : "";
    duckdb_destroy_prepare(&prepared);
    return Status::InvalidArgument("DuckDB: " + message);
  }
  duckdb_pending_result pending = nullptr;
  if (duckdb_pending_prepared_streaming(prepared, &pending) != DuckDBSuccess) {
    std::string message = duckdb_pending_error(pending) ? duckdb_pending_error(pending) : "";
    duckdb_destroy_pending(&pending);
    duckdb_destroy_prepare(&prepared);
    return Status::InvalidArgument("DuckDB: " + message);
  }
  duckdb_state state = duckdb_execute_pending(pending, &result->result_);
  duckdb_destroy_pending(&pending);
  duckdb_destroy_prepare(&prepared);
  result->valid_ = true;
  if (state != DuckDBSuccess) {
    const char* error = duckdb_result_error(&result->result_);
    return Status::InvalidArgument(std::string("DuckDB: ") + (error ? error : "query failed"));
  }
  return result;
}

Result<std::optional<std::string>> DuckConnection::QueryScalar(const std::string& sql) {
  duckdb_result result;
  if (duckdb_query(connection_, sql.c_str(), &result) != DuckDBSuccess) {
    const char* error = duckdb_result_error(&result);
    Status status =
        Status::InvalidArgument(std::string("DuckDB: ") + (error ? error : "query failed"));
    duckdb_destroy_result(&result);
    return status;
  }
  std::optional<std::string> value;
  if (duckdb_row_count(&result) > 0 && !duckdb_value_is_null(&result, 0, 0)) {
    char* text = duckdb_value_varchar(&result, 0, 0);
    value = text ? text : "";
    duckdb_free(text);
  }
  duckdb_destroy_result(&result);
  return value;
}

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteLiteral(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace featureforge::offline
