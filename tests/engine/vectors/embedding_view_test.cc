// Embedding views through the FeatureStore facade on a real repo (CSV source, DuckDB, SQLite):
// definitions and their errors, materialization that embeds and indexes, text and vector
// queries, incremental updates that move a vector, compute-once outputs with the embedding.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "featureforge/common/time.h"
#include "featureforge/embeddings/embedder.h"
#include "featureforge/offline/duckdb.h"
#include "featureforge/repo/loader.h"
#include "featureforge/store/feature_store.h"
#include "featureforge/testutil/testutil.h"
#include "featureforge/vectors/embedding_views.h"

namespace featureforge {
namespace {

namespace fs = std::filesystem;

constexpr char kConfig[] = R"(project: docs_demo
registry: data/registry.pb
online_store:
  type: sqlite
  path: data/online.db
)";

// Line 1..: the definitions; tests that check error lines count from here.
std::string Definitions(const std::string& view_extra, const std::string& embedding_extra = "",
                        const std::string& output_dtype = "Array(Float32)") {
  return R"(entities:
  - name: doc
    join_keys: [doc_id]
    value_type: Int64
sources:
  - name: docs_source
    path: data/docs.csv
    timestamp_field: event_timestamp
feature_views:
  - name: plain
    entities: [doc]
    source: docs_source
    schema:
      - {name: title, dtype: String}
batch_feature_views:
  - name: doc_embeddings
    entities: [doc]
    sources: [docs_source]
    query: SELECT doc_id, title, title || '. ' || body AS embed_text, event_timestamp FROM docs_source
    schema:
      - {name: doc_id, dtype: Int64}
      - {name: title, dtype: String}
      - {name: embedding, dtype: )" +
         output_dtype + R"(}
)" + view_extra +
         R"(    embedding:
      source_column: embed_text
      output: embedding
      dimension: 256
)" + embedding_extra;
}

constexpr char kDocs[] = R"(doc_id,title,body,event_timestamp
1,Sourdough basics,How to bake sourdough bread with a starter flour water and salt,2024-01-01 00:00:00
2,Kubernetes operators,Reconcile loops informers and custom resources for cluster automation,2024-01-01 00:00:00
3,Tomato soup,A warm soup of roasted tomatoes garlic and basil,2024-01-01 00:00:00
4,Vector search,Approximate nearest neighbour search with HNSW graphs and embeddings,2024-01-01 00:00:00
5,Marathon training,Weekly running plan with long runs tempo runs and rest days,2024-01-01 00:00:00
)";

class EmbeddingViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ff_embview_XXXXXX").string();
    root_ = mkdtemp(pattern.data());
    Write("feature_store.yaml", kConfig);
    Write("data/docs.csv", kDocs);
  }
  void TearDown() override {
    std::error_code error;
    fs::remove_all(root_, error);
  }
  void Write(const std::string& relative, const std::string& content) {
    fs::create_directories((fs::path(root_) / relative).parent_path());
    std::ofstream(fs::path(root_) / relative) << content;
  }

  std::unique_ptr<store::FeatureStore> OpenStore() {
    auto fs = store::FeatureStore::Open(root_);
    EXPECT_TRUE(fs.ok()) << fs.status().ToString();
    if (!fs.ok()) return nullptr;
    EXPECT_TRUE((*fs)->Apply().ok());
    return std::move(fs).value();
  }

  Result<store::MaterializeResult> Materialize(store::FeatureStore& fs, TimestampMicros end) {
    store::MaterializeRequest request;
    request.views = {"doc_embeddings"};
    request.start = 0;
    request.end = end;
    return fs.Materialize(request);
  }

  // Doc ids of the hits, nearest first.
  std::vector<int64_t> Ids(const nlohmann::json& response) {
    std::vector<int64_t> ids;
    for (const auto& v : response["results"][0]["values"]) ids.push_back(v.get<int64_t>());
    return ids;
  }

  std::string root_;
};

TEST_F(EmbeddingViewTest, DefinitionParsesWithDefaults) {
  Write("defs.yaml", Definitions(""));
  auto repo = repo::LoadRepo(root_);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  const repo::FeatureView* view = repo->FindFeatureView("doc_embeddings");
  ASSERT_NE(view, nullptr);
  ASSERT_TRUE(view->embedding.has_value());
  EXPECT_EQ(view->embedding->embedder, "hashing");
  EXPECT_EQ(view->embedding->dimension, 256);
  EXPECT_TRUE(view->embedding->normalize);
  ASSERT_TRUE(view->vector_index.has_value());
  EXPECT_EQ(view->vector_index->metric, repo::VectorMetric::kCosine);
  EXPECT_EQ(view->vector_index->m, 32);
  EXPECT_EQ(view->vector_index->ef_construction, 200);
  EXPECT_FALSE(view->vector_index->exact);
}

TEST_F(EmbeddingViewTest, DefinitionErrorsNameFileLineAndField) {
  // Output of the wrong dtype (embedding.output is line 29), unknown metric, openai without
  // model/endpoint.
  Write("defs.yaml", Definitions("    vector_index:\n      metric: HAMMING\n      M: 1\n",
                                 "      embedder: openai\n", "Float32"));
  auto repo = repo::LoadRepo(root_);
  ASSERT_FALSE(repo.ok());
  const std::string& m = repo.status().message();
  EXPECT_NE(m.find("defs.yaml:29: batch_feature_view 'doc_embeddings': embedding.output: feature "
                   "'embedding' must have dtype Array(Float32), got Float32"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("defs.yaml:25: batch_feature_view 'doc_embeddings': vector_index.metric: "
                   "unknown metric 'HAMMING'"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("vector_index.M: must be from 2"), std::string::npos) << m;
  EXPECT_NE(m.find("embedding.model: required with embedder: openai"), std::string::npos) << m;
  EXPECT_NE(m.find("embedding.endpoint: required with embedder: openai"), std::string::npos) << m;
}

TEST_F(EmbeddingViewTest, VectorIndexWithoutEmbeddingIsAnError) {
  std::string defs = Definitions("");
  defs = defs.substr(0, defs.find("    embedding:")) + "    vector_index:\n      metric: L2\n";
  Write("defs.yaml", defs);
  auto repo = repo::LoadRepo(root_);
  ASSERT_FALSE(repo.ok());
  EXPECT_NE(repo.status().message().find(
                "defs.yaml:24: batch_feature_view 'doc_embeddings': vector_index: needs an "
                "`embedding:` block"),
            std::string::npos)
      << repo.status().message();
}

TEST_F(EmbeddingViewTest, MaterializeThenRetrieveByTextAndByVector) {
  Write("defs.yaml", Definitions(""));
  auto fs = OpenStore();
  ASSERT_NE(fs, nullptr);
  store::DocumentsRequest request;
  request.features = {"doc_embeddings:title"};
  request.query_string = "baking bread with sourdough starter";
  request.top_k = 3;
  // Not materialized yet: a clear precondition error.
  auto early = fs->RetrieveOnlineDocuments(request);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(early.status().message().find("materialize"), std::string::npos);

  auto run = Materialize(*fs, ParseTimestamp("2024-06-01T00:00:00Z").value());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(run->views.size(), 1u);
  EXPECT_EQ(run->views[0].rows_written, 5);
  EXPECT_TRUE(
      fs::exists(root_ + "/data/online.db.vectors/docs_demo__doc_embeddings.manifest.json"));

  auto response = fs->RetrieveOnlineDocuments(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  const auto& names = (*response)["metadata"]["feature_names"];
  EXPECT_EQ(names, nlohmann::json({"doc_id", "title", "distance"}));
  EXPECT_EQ(Ids(*response).size(), 3u);
  EXPECT_EQ(Ids(*response)[0], 1);
  EXPECT_EQ((*response)["results"][1]["values"][0], "Sourdough basics");
  EXPECT_EQ((*response)["results"][1]["statuses"][0], "PRESENT");
  const auto& distances = (*response)["results"][2]["values"];
  for (size_t i = 1; i < distances.size(); ++i) {
    EXPECT_LE(distances[i - 1].get<double>(), distances[i].get<double>());
  }

  request.query_string = "hnsw nearest neighbour embeddings";
  auto vector_hit = fs->RetrieveOnlineDocuments(request);
  ASSERT_TRUE(vector_hit.ok());
  EXPECT_EQ(Ids(*vector_hit)[0], 4);

  // By vector: the stored embedding of doc 3, read back as a feature, finds doc 3 at ~0.
  store::DocumentsRequest with_embedding;
  with_embedding.features = {"doc_embeddings:embedding"};
  with_embedding.query_string = "roasted tomato soup";
  with_embedding.top_k = 1;
  auto soup = fs->RetrieveOnlineDocuments(with_embedding);
  ASSERT_TRUE(soup.ok()) << soup.status().ToString();
  ASSERT_EQ(Ids(*soup), std::vector<int64_t>{3});
  std::vector<float> stored = (*soup)["results"][1]["values"][0].get<std::vector<float>>();
  ASSERT_EQ(stored.size(), 256u);
  store::DocumentsRequest by_vector;
  by_vector.features = {"doc_embeddings:title"};
  by_vector.query = stored;
  by_vector.top_k = 2;
  by_vector.exact = true;
  auto exact = fs->RetrieveOnlineDocuments(by_vector);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_EQ(Ids(*exact)[0], 3);
  EXPECT_NEAR((*exact)["results"][2]["values"][0].get<double>(), 0.0, 1e-5);

  // Bad requests.
  by_vector.query = std::vector<float>{1, 2, 3};
  auto wrong_dim = fs->RetrieveOnlineDocuments(by_vector);
  ASSERT_FALSE(wrong_dim.ok());
  EXPECT_EQ(wrong_dim.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_dim.status().message().find("dimension 3"), std::string::npos);
  store::DocumentsRequest plain;
  plain.features = {"plain:title"};
  plain.query_string = "x";
  EXPECT_EQ(fs->RetrieveOnlineDocuments(plain).status().code(), StatusCode::kInvalidArgument);
  store::DocumentsRequest metric = request;
  metric.distance_metric = "L2";
  EXPECT_EQ(fs->RetrieveOnlineDocuments(metric).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(EmbeddingViewTest, IncrementalRunMovesAnUpdatedDocumentsVector) {
  Write("defs.yaml", Definitions(""));
  auto fs = OpenStore();
  ASSERT_NE(fs, nullptr);
  ASSERT_TRUE(Materialize(*fs, ParseTimestamp("2024-06-01T00:00:00Z").value()).ok());
  {
    store::DocumentsRequest before;
    before.features = {"doc_embeddings:title"};
    before.top_k = 1;
    before.query_string =
        "Marathon training. Weekly running plan with long runs tempo runs and rest days";
    auto hit = fs->RetrieveOnlineDocuments(before);
    ASSERT_TRUE(hit.ok());
    EXPECT_EQ(Ids(*hit), std::vector<int64_t>{5});
    EXPECT_NEAR((*hit)["results"][2]["values"][0].get<double>(), 0.0, 1e-5);
  }
  // Doc 5 is rewritten about soup; a newer row replaces its vector.
  Write("data/docs.csv",
        std::string(kDocs) +
            "5,Mushroom soup,A creamy soup of mushrooms onions and thyme,2024-07-01 00:00:00\n");
  fs = OpenStore();  // fresh facade: the CSV changed
  ASSERT_NE(fs, nullptr);
  store::MaterializeRequest incremental;
  incremental.views = {"doc_embeddings"};
  incremental.incremental = true;
  incremental.end = ParseTimestamp("2024-08-01T00:00:00Z").value();
  auto run = fs->Materialize(incremental);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->views[0].rows_written, 1);

  store::DocumentsRequest request;
  request.features = {"doc_embeddings:title"};
  request.top_k = 5;
  request.query_string = "creamy mushroom soup with thyme";
  auto soup = fs->RetrieveOnlineDocuments(request);
  ASSERT_TRUE(soup.ok()) << soup.status().ToString();
  EXPECT_EQ(Ids(*soup)[0], 5);
  EXPECT_EQ((*soup)["results"][1]["values"][0], "Mushroom soup");
  EXPECT_EQ(Ids(*soup).size(), 5u);  // still five documents: replaced, not added
  // Doc 5's old text no longer finds it at distance ~0 (it did before the update).
  request.query_string =
      "Marathon training. Weekly running plan with long runs tempo runs and rest days";
  auto running = fs->RetrieveOnlineDocuments(request);
  ASSERT_TRUE(running.ok());
  const auto& ids = Ids(*running);
  const size_t at = std::find(ids.begin(), ids.end(), 5) - ids.begin();
  ASSERT_LT(at, ids.size());
  EXPECT_GT((*running)["results"][2]["values"][at].get<double>(), 0.5);
}

TEST_F(EmbeddingViewTest, ComputeOncePathCarriesTheEmbeddingColumn) {
  Write("defs.yaml", Definitions("    path: data/out/doc_embeddings.parquet\n"));
  auto fs = OpenStore();
  ASSERT_NE(fs, nullptr);
  auto run = Materialize(*fs, ParseTimestamp("2024-06-01T00:00:00Z").value());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->views[0].rows_written, 5);
  auto conn = offline::DuckConnection::Open();
  ASSERT_TRUE(conn.ok());
  auto lengths = (*conn)->QueryScalar(
      "SELECT string_agg(DISTINCT CAST(len(embedding) AS VARCHAR)) || '/' || count(*) FROM "
      "read_parquet('" +
      root_ + "/data/out/doc_embeddings.parquet')");
  ASSERT_TRUE(lengths.ok()) << lengths.status().ToString();
  EXPECT_EQ(lengths->value_or(""), "256/5");
  // The vectors in the file are the embedder's for each text.
  auto embedder =
      embeddings::WithPostprocessing(embeddings::MakeHashingEmbedder({.dimension = 256}), 0, true);
  auto expected = embedder->Embed(
      std::vector<std::string>{"Tomato soup. A warm soup of roasted tomatoes garlic and basil"});
  ASSERT_TRUE(expected.ok());
  auto first = (*conn)->QueryScalar("SELECT CAST(embedding[1] AS VARCHAR) FROM read_parquet('" +
                                    root_ + "/data/out/doc_embeddings.parquet') WHERE doc_id = 3");
  ASSERT_TRUE(first.ok());
  EXPECT_NEAR(std::stod(first->value_or("nan")), (*expected)[0][0], 1e-6);

  store::DocumentsRequest request;
  request.features = {"doc_embeddings"};
  request.query_string = "operators reconcile custom resources";
  request.top_k = 1;
  auto response = fs->RetrieveOnlineDocuments(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(Ids(*response), std::vector<int64_t>{2});
  EXPECT_EQ((*response)["metadata"]["feature_names"],
            nlohmann::json({"doc_id", "title", "embedding", "distance"}));
}

TEST_F(EmbeddingViewTest, RedisOnlineStoreWithLocalIndexFolder) {
  testutil::RedisServer redis;
  ASSERT_EQ(redis.Start(), "");
  Write("feature_store.yaml",
        "project: docs_demo\nregistry: data/registry.pb\nonline_store:\n"
        "  type: redis\n  connection_string: " +
            redis.address() + "\n  vector_index_path: data/idx\n");
  Write("defs.yaml", Definitions(""));
  auto fs = OpenStore();
  ASSERT_NE(fs, nullptr);
  auto run = Materialize(*fs, ParseTimestamp("2024-06-01T00:00:00Z").value());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->views[0].rows_written, 5);
  EXPECT_TRUE(fs::exists(root_ + "/data/idx/docs_demo__doc_embeddings.manifest.json"));
  store::DocumentsRequest request;
  request.features = {"doc_embeddings:title", "doc_embeddings:embedding"};
  request.query_string = "approximate nearest neighbour search";
  request.top_k = 2;
  auto response = fs->RetrieveOnlineDocuments(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(Ids(*response)[0], 4);
  EXPECT_EQ((*response)["results"][1]["values"][0], "Vector search");
  EXPECT_EQ((*response)["results"][2]["values"][0].size(), 256u);  // the vector, from Redis
}

}  // namespace
}  // namespace featureforge

namespace featureforge::vectors {
namespace {

TEST(IndexDir, FollowsTheOnlineStore) {
  repo::Repo repo;
  repo.root = "/repo";
  repo.config.project = "p";
  repo.config.online_store.type = "sqlite";
  repo.config.online_store.path = "data/online.db";
  EXPECT_EQ(IndexDir(repo), "/repo/data/online.db.vectors");
  repo.config.online_store.type = "redis";
  EXPECT_EQ(IndexDir(repo), "/repo/data/vector_index");
  repo.config.online_store.vector_index_path = "/var/lib/ff/vectors";
  EXPECT_EQ(IndexDir(repo), "/var/lib/ff/vectors");
  repo.config.online_store.vector_index_path = "idx";
  EXPECT_EQ(IndexDir(repo), "/repo/idx");
  EXPECT_EQ(IndexName(repo, "docs"), "p__docs");
}

}  // namespace
}  // namespace featureforge::vectors
