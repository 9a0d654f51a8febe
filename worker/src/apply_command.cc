#include <iostream>
#include <nlohmann/json.hpp>

#include "featureforge/store/feature_store.h"
#include "featureforge/worker/commands.h"

namespace featureforge::worker {

void RegisterApply(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "apply", "Validate the repo's definitions and write them to the registry");
  cmd->callback([&global, exit_code] {
    auto fs = store::FeatureStore::Open(global.repo_dir);
    if (!fs.ok()) {
      *exit_code = ReportError(fs.status());
      return;
    }
    auto summary = (*fs)->Apply();
    if (!summary.ok()) {
      *exit_code = ReportError(summary.status());
      return;
    }
    if (global.format() == OutputFormat::kJson) {
      nlohmann::json out = {{"project", (*fs)->repo().config.project},
                            {"registry", summary->registry_path},
                            {"created", summary->created},
                            {"updated", summary->updated},
                            {"deleted", summary->deleted},
                            {"unchanged", summary->unchanged}};
      std::cout << out.dump(2) << '\n';
    } else {
      Table table{{"OBJECT", "CHANGE"}, {}};
      for (const auto& n : summary->created) table.rows.push_back({n, "created"});
      for (const auto& n : summary->updated) table.rows.push_back({n, "updated"});
      for (const auto& n : summary->deleted) table.rows.push_back({n, "deleted"});
      for (const auto& n : summary->unchanged) table.rows.push_back({n, "unchanged"});
      PrintTable(std::cout, table);
      std::cout << "Registry " << summary->registry_path << " updated for project "
                << (*fs)->repo().config.project << ".\n";
    }
    *exit_code = 0;
  });
}

}  // namespace featureforge::worker
