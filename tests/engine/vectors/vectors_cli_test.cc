// End to end through the `featureforge` binary, as a user runs it: an embedding view over a
// small CSV of documents is applied, materialized, and queried by text; the expected document
// comes first, in both output formats.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "featureforge/testutil/testutil.h"

namespace featureforge {
namespace {

using testutil::ProcessResult;
using testutil::RunProcess;

class VectorsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.WriteFile("repo/feature_store.yaml",
                   "project: library\nregistry: data/registry.pb\nonline_store:\n  type: sqlite\n"
                   "  path: data/online.db\n");
    tmp_.WriteFile("repo/docs.yaml", R"(entities:
  - name: book
    join_keys: [book_id]
    value_type: String
sources:
  - name: books
    path: data/books.csv
    timestamp_field: updated_at
batch_feature_views:
  - name: book_embeddings
    entities: [book]
    sources: [books]
    query: |
      SELECT book_id, title, author, title || ': ' || blurb AS embed_text, updated_at
      FROM books
    schema:
      - {name: book_id, dtype: String}
      - {name: title, dtype: String}
      - {name: author, dtype: String}
      - {name: embed_text, dtype: String}
      - {name: embedding, dtype: Array(Float32)}
    timestamp_field: updated_at
    online: true
    offline: false
    embedding:
      source_column: embed_text
      output: embedding
      embedder: hashing
      dimension: 128
      max_length: 511
      batch_size: 2
    vector_index:
      metric: COSINE
      M: 8
      ef_construction: 64
      ef_search: 32
)");
    tmp_.WriteFile("repo/data/books.csv", R"(book_id,title,author,blurb,updated_at
b1,The Starship Log,A. Nova,A crew drifts between distant galaxies aboard an ageing starship,2024-03-01T00:00:00Z
b2,Garden Year,P. Green,Planting vegetables herbs and flowers through the seasons,2024-03-01T00:00:00Z
b3,Bread Science,C. Crumb,The chemistry of yeast gluten and fermentation in baking,2024-03-01T00:00:00Z
b4,Harbour Lights,M. Quay,A detective story in a foggy fishing town,2024-03-01T00:00:00Z
)");
  }

  ProcessResult Ff(std::vector<std::string> args) {
    std::vector<std::string> argv = {testutil::BuildDir() + "/worker/featureforge", "--repo",
                                     tmp_.Join("repo")};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  testutil::TempDir tmp_{"ff-vectors-cli"};
};

TEST_F(VectorsCliTest, MaterializeThenQueryByText) {
  ProcessResult apply = Ff({"apply"});
  ASSERT_EQ(apply.exit_code, 0) << apply.Describe();
  // Before materializing: a clear error (a precondition: exit 2, like other usage errors).
  ProcessResult early =
      Ff({"retrieve-online-documents", "-f", "book_embeddings:title", "-q", "space travel"});
  EXPECT_EQ(early.exit_code, 2) << early.Describe();
  EXPECT_NE(early.stderr_text.find("materialize it first"), std::string::npos) << early.Describe();

  ProcessResult materialize = Ff({"materialize", "2024-01-01T00:00:00Z", "2024-12-31T00:00:00Z"});
  ASSERT_EQ(materialize.exit_code, 0) << materialize.Describe();

  ProcessResult json = Ff({"-o", "json", "retrieve-online-documents", "-f",
                           "book_embeddings:title,book_embeddings:author", "-q",
                           "starship voyage across galaxies", "-k", "3"});
  ASSERT_EQ(json.exit_code, 0) << json.Describe();
  auto response = nlohmann::json::parse(json.stdout_text);
  EXPECT_EQ(response["metadata"]["feature_names"],
            nlohmann::json({"book_id", "title", "author", "distance"}));
  ASSERT_EQ(response["results"][0]["values"].size(), 3u);
  EXPECT_EQ(response["results"][0]["values"][0], "b1");
  EXPECT_EQ(response["results"][1]["values"][0], "The Starship Log");
  EXPECT_EQ(response["results"][2]["values"][0], "A. Nova");

  ProcessResult table = Ff({"retrieve-online-documents", "-f", "book_embeddings:title", "-q",
                            "yeast and fermentation for baking bread", "-k", "2", "--exact"});
  ASSERT_EQ(table.exit_code, 0) << table.Describe();
  // Header, then the nearest document on the first row.
  const std::string& out = table.stdout_text;
  ASSERT_NE(out.find("rank"), std::string::npos) << out;
  const size_t first_row = out.find('\n') + 1;
  EXPECT_NE(out.substr(first_row, out.find('\n', first_row) - first_row).find("Bread Science"),
            std::string::npos)
      << out;

  // Bad input exits 2 and names the problem.
  ProcessResult bad =
      Ff({"retrieve-online-documents", "-f", "book_embeddings:title", "--query-vector", "1,2,3"});
  EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
  EXPECT_NE(bad.stderr_text.find("dimension 3"), std::string::npos) << bad.Describe();
}

// The feature server answers POST /retrieve-online-documents with the same ranking, in Feast's
// request and response shapes, and names bad fields.
TEST_F(VectorsCliTest, FeatureServerRetrievesDocuments) {
  ASSERT_EQ(Ff({"apply"}).exit_code, 0);
  ASSERT_EQ(Ff({"materialize", "2024-01-01T00:00:00Z", "2024-12-31T00:00:00Z"}).exit_code, 0);
  const std::string port_file = tmp_.Join("port");
  testutil::BackgroundProcess server(
      {testutil::BuildDir() + "/worker/featureforge", "--repo", tmp_.Join("repo"), "serve",
       "--port", "0", "--port-file", port_file},
      tmp_.Join("server.log"));
  std::string port;
  for (int i = 0; i < 200 && port.empty(); ++i) {
    port = testutil::ReadFile(port_file);
    if (port.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(port.empty()) << testutil::ReadFile(tmp_.Join("server.log"));
  while (!port.empty() && (port.back() == '\n' || port.back() == ' ')) port.pop_back();
  auto post = [&](const std::string& body) {
    return RunProcess({"curl", "-s", "-w", "\n%{http_code}", "-X", "POST", "-H",
                       "Content-Type: application/json", "--data", body,
                       "http://127.0.0.1:" + port + "/retrieve-online-documents"});
  };
  ProcessResult ok = post(
      R"({"features": ["book_embeddings:title"], "query_string": "starship voyage across galaxies",
          "top_k": 2, "api_version": 2})");
  ASSERT_EQ(ok.exit_code, 0) << ok.Describe();
  const std::string& text = ok.stdout_text;
  const size_t split = text.rfind('\n');
  ASSERT_EQ(text.substr(split + 1), "200") << text;
  auto response = nlohmann::json::parse(text.substr(0, split));
  EXPECT_EQ(response["metadata"]["feature_names"],
            nlohmann::json({"book_id", "title", "distance"}));
  EXPECT_EQ(response["results"][0]["values"][0], "b1");
  EXPECT_EQ(response["results"][1]["values"][0], "The Starship Log");
  EXPECT_EQ(response["results"][0]["values"].size(), 2u);

  ProcessResult bad = post(R"({"features": ["book_embeddings:title"], "top_k": 0})");
  EXPECT_NE(bad.stdout_text.find("top_k"), std::string::npos) << bad.Describe();
  EXPECT_EQ(bad.stdout_text.substr(bad.stdout_text.rfind('\n') + 1), "422") << bad.Describe();
  ProcessResult wrong_dim = post(R"({"features": ["book_embeddings:title"], "query": [1, 2, 3]})");
  EXPECT_EQ(wrong_dim.stdout_text.substr(wrong_dim.stdout_text.rfind('\n') + 1), "422")
      << wrong_dim.Describe();
}

}  // namespace
}  // namespace featureforge
