#include "featureforge/worker/output.h"

#include <algorithm>

namespace featureforge::worker {

void PrintTable(std::ostream& out, const Table& table) {
  std::vector<size_t> widths(table.header.size(), 0);
  auto widen = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  widen(table.header);
  for (const auto& row : table.rows) widen(row);
  auto print_row = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string& cell = i < row.size() ? row[i] : std::string();
      out << cell;
      if (i + 1 < widths.size()) out << std::string(widths[i] - cell.size() + 2, ' ');
    }
    out << '\n';
  };
  print_row(table.header);
  for (const auto& row : table.rows) print_row(row);
}

std::string CellText(const nlohmann::json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

}  // namespace featureforge::worker
