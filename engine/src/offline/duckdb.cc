#include "featureforge/offline/duckdb.h"

#include <string_view>

namespace featureforge::offline {
namespace {

// DuckDB prefixes its messages with the error class ("IO Error: ...").
Status StatusFromMessage(const std::string& message) {
  auto starts = [&](std::string_view prefix) { return message.rfind(prefix, 0) == 0; };
  std::string text = "DuckDB: " + message;
  if (starts("IO Error") || starts("HTTP Error") || starts("Network Error") ||
      starts("Permission Error")) {
    return Status::IOError(std::move(text));
  }
  // Readers report unreadable files (bad footer, truncated data) as invalid input.
  if (starts("Invalid Input Error") && message.find(" file '") != std::string::npos) {
    return Status::IOError(std::move(text));
  }
  if (starts("Out of Memory Error") || starts("INTERRUPT Error")) {
    return Status::Unavailable(std::move(text));
  }
  if (starts("INTERNAL Error") || starts("FATAL Error")) return Status::Internal(std::move(text));
  return Status::InvalidArgument(std::move(text));
}

Status StatusFromResult(duckdb_result* result) {
  const char* error = duckdb_result_error(result);
  std::string message = error ? error : "query failed";
  switch (duckdb_result_error_type(result)) {
    case DUCKDB_ERROR_IO:
    case DUCKDB_ERROR_HTTP:
    case DUCKDB_ERROR_NETWORK:
    case DUCKDB_ERROR_PERMISSION:
      return Status::IOError("DuckDB: " + message);
    case DUCKDB_ERROR_OUT_OF_MEMORY:
    case DUCKDB_ERROR_INTERRUPT:
      return Status::Unavailable("DuckDB: " + message);
    case DUCKDB_ERROR_INTERNAL:
    case DUCKDB_ERROR_FATAL:
      return Status::Internal("DuckDB: " + message);
    default:
      return StatusFromMessage(message);
  }
}

}  // namespace

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
    if (duckdb_result_error(&result_) != nullptr) return StatusFromResult(&result_);
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
  if (state != DuckDBSuccess) status = StatusFromResult(&result);
  duckdb_destroy_result(&result);
  return status;
}

Result<std::unique_ptr<DuckResult>> DuckConnection::Query(const std::string& sql) {
  auto result = std::make_unique<DuckResult>();
  duckdb_prepared_statement prepared = nullptr;
  if (duckdb_prepare(connection_, sql.c_str(), &prepared) != DuckDBSuccess) {
    std::string message = duckdb_prepare_error(prepared) ? duckdb_prepare_error(prepared) : "";
    duckdb_destroy_prepare(&prepared);
    return StatusFromMessage(message);
  }
  duckdb_pending_result pending = nullptr;
  if (duckdb_pending_prepared_streaming(prepared, &pending) != DuckDBSuccess) {
    std::string message = duckdb_pending_error(pending) ? duckdb_pending_error(pending) : "";
    duckdb_destroy_pending(&pending);
    duckdb_destroy_prepare(&prepared);
    return StatusFromMessage(message);
  }
  duckdb_state state = duckdb_execute_pending(pending, &result->result_);
  duckdb_destroy_pending(&pending);
  duckdb_destroy_prepare(&prepared);
  result->valid_ = true;
  if (state != DuckDBSuccess) return StatusFromResult(&result->result_);
  return result;
}

Result<std::optional<std::string>> DuckConnection::QueryScalar(const std::string& sql) {
  duckdb_result result;
  if (duckdb_query(connection_, sql.c_str(), &result) != DuckDBSuccess) {
    Status status = StatusFromResult(&result);
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
