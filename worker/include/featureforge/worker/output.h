// How the CLI prints results: `-o table` (aligned columns for people) or `-o json` (one JSON
// document for scripts).
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace featureforge::worker {

enum class OutputFormat { kTable, kJson };

// A table: a header row and string cells. Rendered with columns padded to the widest cell.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

void PrintTable(std::ostream& out, const Table& table);
// Renders a JSON scalar as a table cell: strings unquoted, null as "-", numbers as written.
std::string CellText(const nlohmann::json& value);

}  // namespace featureforge::worker
