// Batch view SQL is checked by DuckDB's parser only: the sources it names are registered as
// views at materialization time, so binding here would fail on every table name.
#include <nlohmann/json.hpp>

#include "featureforge/offline/duckdb.h"
#include "load_state.h"

namespace featureforge::repo {
namespace {

// DuckDB errors span several lines ("LINE 3: ...", a caret line); keep the first line and the
// query line it names.
std::string Summarize(const std::string& error) {
  std::string first = error.substr(0, error.find('\n'));
  size_t line_at = error.find("LINE ");
  if (line_at != std::string::npos) {
    size_t colon = error.find(':', line_at);
    if (colon != std::string::npos)
      first += " (query line " + error.substr(line_at + 5, colon - line_at - 5) + ")";
  }
  return first;
}

// Fallback when json_serialize_sql is unavailable: the statement's first keyword.
bool StartsLikeSelect(const std::string& query) {
  size_t i = 0;
  while (i < query.size()) {
    if (std::isspace(static_cast<unsigned char>(query[i])) || query[i] == '(') {
      ++i;
    } else if (query.compare(i, 2, "--") == 0) {
      i = query.find('\n', i);
      if (i == std::string::npos) return false;
    } else if (query.compare(i, 2, "/*") == 0) {
      i = query.find("*/", i);
      if (i == std::string::npos) return false;
      i += 2;
    } else {
      break;
    }
  }
  std::string word;
  while (i < query.size() && std::isalpha(static_cast<unsigned char>(query[i]))) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(query[i++])));
  }
  return word == "SELECT" || word == "WITH" || word == "FROM" || word == "VALUES" ||
         word == "TABLE";
}

}  // namespace

std::string CheckBatchQuery(offline::DuckConnection& connection, const std::string& query) {
  duckdb_extracted_statements statements = nullptr;
  idx_t count = duckdb_extract_statements(connection.raw(), query.c_str(), &statements);
  std::string problem;
  if (count == 0) {
    const char* error = duckdb_extract_statements_error(statements);
    problem = error && *error ? "SQL does not parse: " + Summarize(error) : "query is empty";
  } else if (count > 1) {
    problem = "expected exactly one SELECT statement, got " + std::to_string(count) + " statements";
  }
  duckdb_destroy_extracted(&statements);
  if (!problem.empty()) return problem;

  // json_serialize_sql (DuckDB's json extension) parses without binding and refuses anything
  // but SELECT statements.
  auto serialized =
      connection.QueryScalar("SELECT json_serialize_sql(" + offline::QuoteLiteral(query) + ")");
  if (serialized.ok() && serialized->has_value()) {
    auto json = nlohmann::json::parse(**serialized, nullptr, /*allow_exceptions=*/false);
    if (json.is_object() && json.value("error", false)) {
      std::string type = json.value("error_type", "");
      if (type == "not implemented")
        return "expected a SELECT query, got another kind of statement";
      return "SQL does not parse: " + Summarize(json.value("error_message", "unknown error"));
    }
    if (json.is_object()) return "";
  }
  return StartsLikeSelect(query) ? "" : "expected a SELECT query, got another kind of statement";
}

}  // namespace featureforge::repo
