// A thin RAII layer over DuckDB's C API (duckdb.h): a database, a connection, and results
// streamed chunk by chunk so memory stays bounded by the chunk, not by the result.
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "featureforge/common/status.h"

namespace featureforge::offline {

// One chunk (up to duckdb_vector_size() rows) of a streamed result.
class DuckChunk {
 public:
  explicit DuckChunk(duckdb_data_chunk chunk) : chunk_(chunk) {}
  ~DuckChunk() { duckdb_destroy_data_chunk(&chunk_); }
  DuckChunk(const DuckChunk&) = delete;
  DuckChunk& operator=(const DuckChunk&) = delete;

  uint64_t size() const { return duckdb_data_chunk_get_size(chunk_); }
  duckdb_vector column(uint64_t i) const { return duckdb_data_chunk_get_vector(chunk_, i); }
  // True when row `row` of column `col` is NULL.
  bool IsNull(uint64_t col, uint64_t row) const;
  template <typename T>
  const T* Data(uint64_t col) const {
    return static_cast<const T*>(duckdb_vector_get_data(column(col)));
  }
  duckdb_data_chunk raw() const { return chunk_; }

 private:
  duckdb_data_chunk chunk_;
};

class DuckResult {
 public:
  DuckResult() = default;
  ~DuckResult();
  DuckResult(const DuckResult&) = delete;
  DuckResult& operator=(const DuckResult&) = delete;

  uint64_t column_count();
  std::string column_name(uint64_t i);
  duckdb_type column_type(uint64_t i);
  // The next chunk, or nullptr at the end.
  Result<std::unique_ptr<DuckChunk>> Next();
  duckdb_result* raw() { return &result_; }

 private:
  friend class DuckConnection;
  duckdb_result result_{};
  bool valid_ = false;
};

class DuckConnection {
 public:
  // Opens an in-memory database (path ":memory:" or empty) or a database file. `config` holds
  // DuckDB settings such as memory_limit, threads, temp_directory.
  static Result<std::unique_ptr<DuckConnection>> Open(
      const std::string& path = ":memory:", const std::map<std::string, std::string>& config = {});
  ~DuckConnection();
  DuckConnection(const DuckConnection&) = delete;
  DuckConnection& operator=(const DuckConnection&) = delete;

  // Runs a statement and discards its result.
  Status Execute(const std::string& sql);
  // Runs a query whose result is streamed with DuckResult::Next().
  Result<std::unique_ptr<DuckResult>> Query(const std::string& sql);
  // Runs a query expected to return one value in one row; nullopt when NULL or no rows.
  Result<std::optional<std::string>> QueryScalar(const std::string& sql);

  duckdb_connection raw() const { return connection_; }

 private:
  DuckConnection() = default;
  duckdb_database database_ = nullptr;
  duckdb_connection connection_ = nullptr;
};

// Quotes an identifier for DuckDB SQL: "name" with embedded quotes doubled.
std::string QuoteIdentifier(const std::string& name);
// Quotes a string literal: 'text' with embedded quotes doubled.
std::string QuoteLiteral(const std::string& text);

}  // namespace featureforge::offline
