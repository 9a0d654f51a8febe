#include <iostream>
#include <nlohmann/json.hpp>

#include "featureforge/offline/duckdb.h"
#include "featureforge/store/feature_store.h"
#include "featureforge/worker/commands.h"

namespace featureforge::worker {
namespace {

struct HistoricalFlags {
  std::string entities;
  std::vector<std::string> features;
  std::string feature_service;
  bool full_feature_names = false;
  std::string output;
  int show = 10;
};

struct OnlineFlags {
  std::vector<std::string> entities;
  std::vector<std::string> features;
  std::string feature_service;
  bool full_feature_names = false;
};

// Reads the first `limit` rows of a Parquet/CSV file back with DuckDB for display.
Result<Table> Preview(const std::string& path, int limit) {
  FF_ASSIGN_OR_RETURN(auto conn, offline::DuckConnection::Open());
  FF_ASSIGN_OR_RETURN(auto result, conn->Query("SELECT * FROM " + offline::QuoteLiteral(path) +
                                               " LIMIT " + std::to_string(limit)));
  Table table;
  for (uint64_t c = 0; c < result->column_count(); ++c) {
    table.header.push_back(result->column_name(c));
  }
  // Render through DuckDB's own VARCHAR casts so every type prints the way DuckDB shows it.
  std::string cols;
  for (uint64_t c = 0; c < result->column_count(); ++c) {
    if (c) cols += ", ";
    cols += "CAST(" + offline::QuoteIdentifier(table.header[c]) + " AS VARCHAR)";
  }
  FF_ASSIGN_OR_RETURN(auto text, conn->Query("SELECT " + cols + " FROM " +
                                             offline::QuoteLiteral(path) + " LIMIT " +
                                             std::to_string(limit)));
  while (true) {
    FF_ASSIGN_OR_RETURN(auto chunk, text->Next());
    if (!chunk) break;
    for (uint64_t r = 0; r < chunk->size(); ++r) {
      std::vector<std::string> row;
      for (uint64_t c = 0; c < table.header.size(); ++c) {
        if (chunk->IsNull(c, r)) {
          row.push_back("-");
          continue;
        }
        auto* strings = chunk->Data<duckdb_string_t>(c);
        duckdb_string_t s = strings[r];
        row.emplace_back(duckdb_string_t_data(&s), duckdb_string_t_length(s));
      }
      table.rows.push_back(std::move(row));
    }
  }
  return table;
}

void RunHistorical(const GlobalOptions& global, const HistoricalFlags& flags, int* exit_code) {
  auto fs = store::FeatureStore::Open(global.repo_dir);
  if (!fs.ok()) {
    *exit_code = ReportError(fs.status());
    return;
  }
  store::HistoricalRequest request{flags.entities, flags.features, flags.feature_service,
                                   flags.full_feature_names, flags.output};
  auto result = (*fs)->GetHistoricalFeatures(request);
  if (!result.ok()) {
    *exit_code = ReportError(result.status());
    return;
  }
  if (global.format() == OutputFormat::kJson) {
    std::cout << nlohmann::json{{"output", result->output_path},
                                {"rows", result->rows},
                                {"columns", result->columns}}
                     .dump(2)
              << '\n';
  } else {
    std::cout << "Wrote " << result->rows << " rows to " << result->output_path << '\n';
    if (flags.show > 0) {
      auto preview = Preview(result->output_path, flags.show);
      if (!preview.ok()) {
        *exit_code = ReportError(preview.status());
        return;
      }
      PrintTable(std::cout, *preview);
    }
  }
  *exit_code = 0;
}

void RunOnline(const GlobalOptions& global, const OnlineFlags& flags, int* exit_code) {
  auto fs = store::FeatureStore::Open(global.repo_dir);
  if (!fs.ok()) {
    *exit_code = ReportError(fs.status());
    return;
  }
  auto entities = (*fs)->ParseEntityColumns(flags.entities);
  if (!entities.ok()) {
    *exit_code = ReportError(entities.status());
    return;
  }
  store::OnlineRequest request{flags.features, flags.feature_service, std::move(*entities),
                               flags.full_feature_names};
  auto response = (*fs)->GetOnlineFeatures(request);
  if (!response.ok()) {
    *exit_code = ReportError(response.status());
    return;
  }
  if (global.format() == OutputFormat::kJson) {
    std::cout << response->dump(2) << '\n';
  } else {
    // Feast's response is column-major; print one row per entity.
    const auto& names = (*response)["metadata"]["feature_names"];
    const auto& results = (*response)["results"];
    Table table;
    for (const auto& n : names) table.header.push_back(n.get<std::string>());
    size_t rows = results.empty() ? 0 : results[0]["values"].size();
    for (size_t r = 0; r < rows; ++r) {
      std::vector<std::string> row;
      for (const auto& column : results) {
        std::string status = column["statuses"][r].get<std::string>();
        row.push_back(status == "PRESENT" ? CellText(column["values"][r]) : status);
      }
      table.rows.push_back(std::move(row));
    }
    PrintTable(std::cout, table);
  }
  *exit_code = 0;
}

void AddFeatureFlags(CLI::App* cmd, std::vector<std::string>& features, std::string& service,
                     bool& full_names) {
  cmd->add_option("-f,--features", features, "features as view:feature or view (all features)")
      ->delimiter(',');
  cmd->add_option("-s,--feature-service", service, "a feature service name");
  cmd->add_flag("--full-feature-names", full_names, "name columns view__feature");
}

}  // namespace

void RegisterRetrieval(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto hist = std::make_shared<HistoricalFlags>();
  CLI::App* h = app.add_subcommand(
      "get-historical-features",
      "Point-in-time correct join of an entity file to features (training data)");
  h->add_option("-e,--entities", hist->entities,
                "Parquet/CSV file with event_timestamp and the join keys")
      ->required();
  AddFeatureFlags(h, hist->features, hist->feature_service, hist->full_feature_names);
  h->add_option("--output", hist->output, "output file (.parquet or .csv)")->required();
  h->add_option("--show", hist->show, "rows to print from the output")->capture_default_str();
  h->callback([&global, hist, exit_code] { RunHistorical(global, *hist, exit_code); });

  auto online = std::make_shared<OnlineFlags>();
  CLI::App* o = app.add_subcommand(
      "get-online-features", "Read the latest feature values for entities from the online store");
  o->add_option("-e,--entity", online->entities,
                "join_key=v1,v2,... (repeat for composite keys)")
      ->required();
  AddFeatureFlags(o, online->features, online->feature_service, online->full_feature_names);
  o->callback([&global, online, exit_code] { RunOnline(global, *online, exit_code); });
}

}  // namespace featureforge::worker
