// Helpers of the chart tests: run ff-helm-render, split its output into documents.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "harness_test_util.h"

namespace ffchart::testing {

using ffharness::testing::CommandResult;

// The repository root and this build's ff-helm-render.
std::string SourceDir();
std::string RendererPath();
std::string ChartDir();  // SourceDir()/charts/featureforge

std::string ReadFile(const std::string& path);

// ff-helm-render <args...> CHART_DIR (the chart unless `chart` is given).
CommandResult Render(const std::vector<std::string>& args, const std::string& chart = "");

// One rendered object with the template it came from ("# Source: <chart>/<path>").
struct Document {
  std::string source;
  YAML::Node object;
};

// Splits multi-document YAML; documents without content are skipped.
std::vector<Document> SplitDocuments(const std::string& text);

// The documents of `kind` (and `name` if not empty).
std::vector<Document> Find(const std::vector<Document>& docs, const std::string& kind,
                           const std::string& name = "");

// Canonical text of a node (flow style, keys in document order) for equality checks.
std::string Canonical(const YAML::Node& node);

}  // namespace ffchart::testing
