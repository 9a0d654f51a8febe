#include "chart_test_util.h"

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace ffchart::testing {

std::string SourceDir() {
  const char* dir = std::getenv("FEATUREFORGE_SOURCE_DIR");
  return dir != nullptr && *dir != '\0' ? dir : FEATUREFORGE_TEST_SOURCE_DIR;
}

std::string RendererPath() {
  return std::string(FEATUREFORGE_TEST_BINARY_DIR) + "/tests/chart/ff-helm-render";
}

std::string ChartDir() { return SourceDir() + "/charts/featureforge"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult Render(const std::vector<std::string>& args, const std::string& chart) {
  std::vector<std::string> argv = {RendererPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(chart.empty() ? ChartDir() : chart);
  return ffharness::testing::RunCommand(argv);
}

std::vector<Document> SplitDocuments(const std::string& text) {
  static const std::regex separator("(^|\n)---[ \t]*(\n|$)");
  static const std::regex source_line("(^|\n)# Source: ([^\n]+)");
  std::vector<Document> docs;
  std::sregex_token_iterator it(text.begin(), text.end(), separator, -1), end;
  for (; it != end; ++it) {
    const std::string chunk = *it;
    YAML::Node node = YAML::Load(chunk);
    if (!node.IsDefined() || node.IsNull()) continue;
    Document doc;
    std::smatch match;
    if (std::regex_search(chunk, match, source_line)) doc.source = match[2];
    doc.object = node;
    docs.push_back(doc);
  }
  return docs;
}

std::vector<Document> Find(const std::vector<Document>& docs, const std::string& kind,
                           const std::string& name) {
  std::vector<Document> found;
  for (const auto& d : docs) {
    if (d.object["kind"].as<std::string>("") != kind) continue;
    if (!name.empty() && d.object["metadata"]["name"].as<std::string>("") != name) continue;
    found.push_back(d);
  }
  return found;
}

std::string Canonical(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

}  // namespace ffchart::testing
