// Batch view SQL is checked by DuckDB's parser only: the sources it names are registered as
// views at materialization time, so binding here would fail on every table name.
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "featureforge/offline/duckdb.h"
#include "load_state.h"

namespace featureforge::repo {
namespace {

// DuckDB errors span several lines ("LINE 3: ...", a caret line); keep the first line and the
// query line it names.
QueryProblem Summarize(const std::string& prefix, const std::string& error) {
  QueryProblem problem{prefix + error.substr(0, error.find('\n')), 0};
  size_t line_at = error.find("LINE ");
  if (line_at != std::string::npos) {
    problem.query_line = std::atoi(error.c_str() + line_at + 5);
    if (problem.query_line > 0) {
      problem.message += " (query line " + std::to_string(problem.query_line) + ")";
    }
  }
  return problem;
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

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The string member `key` of a JSON object, "" when absent or not a string.
std::string StringMember(const nlohmann::json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : "";
}

// Walks DuckDB's serialized parse tree for the tables a query reads and the CTEs it defines.
void CollectTables(const nlohmann::json& node, std::set<std::string>* tables,
                   std::set<std::string>* ctes) {
  if (node.is_object()) {
    if (StringMember(node, "type") == "BASE_TABLE" && !StringMember(node, "table_name").empty()) {
      std::string schema = StringMember(node, "schema_name");
      std::string table = StringMember(node, "table_name");
      tables->insert(Lower(schema.empty() ? table : schema + "." + table));
    }
    if (auto it = node.find("cte_map"); it != node.end() && it->is_object()) {
      auto map = it->find("map");
      if (map != it->end() && map->is_array()) {
        for (const auto& entry : *map) {
          if (entry.is_object() && !StringMember(entry, "key").empty()) {
            ctes->insert(Lower(StringMember(entry, "key")));
          }
        }
      }
    }
    for (const auto& [key, child] : node.items()) CollectTables(child, tables, ctes);
  } else if (node.is_array()) {
    for (const auto& child : node) CollectTables(child, tables, ctes);
  }
}

// "" when every table the query reads is one of `sources` or a CTE of the query.
std::string CheckTables(const nlohmann::json& tree, const std::vector<std::string>& sources) {
  std::set<std::string> tables, ctes, allowed;
  CollectTables(tree, &tables, &ctes);
  for (const auto& source : sources) allowed.insert(Lower(source));
  std::string unknown;
  for (const auto& table : tables) {
    if (ctes.count(table) || allowed.count(table)) continue;
    unknown += (unknown.empty() ? "'" : ", '") + table + "'";
  }
  if (unknown.empty()) return "";
  std::string listed;
  for (const auto& source : sources) listed += (listed.empty() ? "" : ", ") + source;
  return "reads " + unknown + ", which is not among its sources [" + listed + "]";
}

}  // namespace

std::optional<QueryProblem> CheckBatchQuery(offline::DuckConnection& connection,
                                            const std::string& query,
                                            const std::vector<std::string>& sources) {
  duckdb_extracted_statements statements = nullptr;
  idx_t count = duckdb_extract_statements(connection.raw(), query.c_str(), &statements);
  std::optional<QueryProblem> problem;
  if (count == 0) {
    const char* error = duckdb_extract_statements_error(statements);
    problem = error && *error ? Summarize("SQL does not parse: ", error)
                              : QueryProblem{"query is empty", 0};
  } else if (count > 1) {
    problem = QueryProblem{
        "expected exactly one SELECT statement, got " + std::to_string(count) + " statements", 0};
  }
  duckdb_destroy_extracted(&statements);
  if (problem) return problem;

  const QueryProblem not_select{"expected a SELECT query, got another kind of statement", 0};
  // json_serialize_sql (DuckDB's json extension) parses without binding, refuses anything but
  // SELECT statements and names the tables the query reads.
  auto serialized =
      connection.QueryScalar("SELECT json_serialize_sql(" + offline::QuoteLiteral(query) + ")");
  if (serialized.ok() && serialized->has_value()) {
    auto json = nlohmann::json::parse(**serialized, nullptr, /*allow_exceptions=*/false);
    auto error = json.is_object() ? json.find("error") : json.end();
    if (error != json.end() && error->is_boolean() && error->get<bool>()) {
      if (StringMember(json, "error_type") == "not implemented") return not_select;
      return Summarize("SQL does not parse: ", StringMember(json, "error_message"));
    }
    if (json.is_object()) {
      std::string tables = CheckTables(json, sources);
      if (tables.empty()) return std::nullopt;
      return QueryProblem{tables, 0};
    }
  }
  if (StartsLikeSelect(query)) return std::nullopt;
  return not_select;
}

}  // namespace featureforge::repo
