// `featureforge retrieve-online-documents`: top-k documents of an embedding view by query text
// or query vector.
#include <charconv>
#include <iostream>
#include <nlohmann/json.hpp>

#include "featureforge/store/feature_store.h"
#include "featureforge/worker/commands.h"

namespace featureforge::worker {
namespace {

struct DocumentFlags {
  std::vector<std::string> features;
  std::string query_text;
  std::string query_vector;
  int top_k = 10;
  std::string metric;
  bool exact = false;
  int ef_search = 0;
};

// "0.1,0.2,-3" (brackets and spaces allowed) -> floats.
Result<std::vector<float>> ParseVector(const std::string& text) {
  std::vector<float> out;
  std::string cleaned;
  for (char c : text) {
    if (c != '[' && c != ']' && c != ' ') cleaned += c;
  }
  size_t pos = 0;
  while (pos <= cleaned.size() && !cleaned.empty()) {
    size_t comma = cleaned.find(',', pos);
    if (comma == std::string::npos) comma = cleaned.size();
    const std::string item = cleaned.substr(pos, comma - pos);
    float value = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size()) {
      return Status::InvalidArgument("--query-vector: '" + item + "' is not a number");
    }
    out.push_back(value);
    pos = comma + 1;
  }
  if (out.empty()) return Status::InvalidArgument("--query-vector is empty");
  return out;
}

void Run(const GlobalOptions& global, const DocumentFlags& flags, int* exit_code) {
  if (flags.query_text.empty() == flags.query_vector.empty()) {
    *exit_code =
        ReportError(Status::InvalidArgument("give exactly one of --query-text and --query-vector"));
    return;
  }
  auto fs = store::FeatureStore::Open(global.repo_dir);
  if (!fs.ok()) {
    *exit_code = ReportError(fs.status());
    return;
  }
  store::DocumentsRequest request;
  request.features = flags.features;
  request.query_string = flags.query_text;
  if (!flags.query_vector.empty()) {
    auto vector = ParseVector(flags.query_vector);
    if (!vector.ok()) {
      *exit_code = ReportError(vector.status());
      return;
    }
    request.query = std::move(*vector);
  }
  request.top_k = flags.top_k;
  request.distance_metric = flags.metric;
  if (flags.exact) request.exact = true;
  request.ef_search = flags.ef_search;
  auto response = (*fs)->RetrieveOnlineDocuments(request);
  if (!response.ok()) {
    *exit_code = ReportError(response.status());
    return;
  }
  if (global.format() == OutputFormat::kJson) {
    std::cout << response->dump(2) << '\n';
  } else {
    // One row per hit, nearest first.
    const auto& names = (*response)["metadata"]["feature_names"];
    const auto& results = (*response)["results"];
    Table table;
    table.header.push_back("rank");
    for (const auto& n : names) table.header.push_back(n.get<std::string>());
    const size_t rows = results.empty() ? 0 : results[0]["values"].size();
    for (size_t r = 0; r < rows; ++r) {
      std::vector<std::string> row = {std::to_string(r + 1)};
      for (const auto& column : results) {
        const std::string status = column["statuses"][r].get<std::string>();
        row.push_back(status == "PRESENT" ? CellText(column["values"][r]) : status);
      }
      table.rows.push_back(std::move(row));
    }
    PrintTable(std::cout, table);
  }
  *exit_code = 0;
}

}  // namespace

void RegisterVectors(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto flags = std::make_shared<DocumentFlags>();
  CLI::App* cmd = app.add_subcommand(
      "retrieve-online-documents",
      "Top-k nearest documents of an embedding view, by query text or query vector");
  cmd->add_option("-f,--features", flags->features,
                  "features of one embedding view as view:feature, or view (all features)")
      ->delimiter(',')
      ->required();
  cmd->add_option("-q,--query-text", flags->query_text,
                  "query text, embedded with the view's embedder");
  cmd->add_option("--query-vector", flags->query_vector, "query vector: 0.1,0.2,...");
  cmd->add_option("-k,--top-k", flags->top_k, "number of documents")->capture_default_str();
  cmd->add_option("--metric", flags->metric, "COSINE, L2 or IP (must match the view's index)");
  cmd->add_flag("--exact", flags->exact, "exact (flat) search instead of HNSW");
  cmd->add_option("--ef-search", flags->ef_search, "HNSW ef at query time (default: the view's)");
  cmd->callback([&global, flags, exit_code] { Run(global, *flags, exit_code); });
}

}  // namespace featureforge::worker
