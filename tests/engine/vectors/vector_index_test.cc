// VectorIndex: recall of HNSW against exact search, persistence, replacement of moved vectors,
// removal, metrics and concurrent readers.
#include "featureforge/vectors/vector_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <thread>

namespace featureforge::vectors {
namespace {

namespace fs = std::filesystem;

std::vector<float> RandomVectors(size_t count, int dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out(count * static_cast<size_t>(dim));
  for (auto& x : out) x = normal(rng);
  return out;
}

// Vectors shaped like text embeddings: `clusters` random centres plus Gaussian noise (sigma
// 0.3 per coordinate), so neighbourhoods have structure. (IID Gaussian vectors in 64
// dimensions have no such structure; on them HNSW at ef_search 64 finds about half of the true
// top 10 — see bench/RESULTS.md, "Vectors".)
std::vector<float> ClusteredVectors(size_t count, int dim, size_t clusters, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> centres(clusters * static_cast<size_t>(dim));
  std::mt19937 centre_rng(1234);  // the same centres for data and queries
  for (auto& x : centres) x = normal(centre_rng);
  std::vector<float> out(count * static_cast<size_t>(dim));
  for (size_t i = 0; i < count; ++i) {
    const size_t c = rng() % clusters;
    for (int d = 0; d < dim; ++d) {
      out[i * dim + d] = centres[c * dim + d] + 0.3f * normal(rng);
    }
  }
  return out;
}

std::vector<std::string> Keys(size_t count) {
  std::vector<std::string> keys;
  keys.reserve(count);
  for (size_t i = 0; i < count; ++i) keys.push_back("k" + std::to_string(i));
  return keys;
}

class TempDirectory {
 public:
  TempDirectory() {
    std::string pattern = (fs::temp_directory_path() / "ff_vec_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDirectory() {
    std::error_code error;
    fs::remove_all(path_, error);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<float> UniformVectors(size_t count, int dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> out(count * static_cast<size_t>(dim));
  for (auto& x : out) x = uniform(rng);
  return out;
}

// Top-10 recall of HNSW at the index's defaults against exact search, over `queries`.
double RecallAt10(const VectorIndex& index, const std::vector<float>& queries, int dim) {
  const size_t count = queries.size() / static_cast<size_t>(dim);
  size_t hits = 0;
  for (size_t q = 0; q < count; ++q) {
    std::span<const float> query(queries.data() + q * dim, static_cast<size_t>(dim));
    auto approx = index.Search(query, {.top_k = 10});
    auto exact = index.Search(query, {.top_k = 10, .exact = true});
    EXPECT_TRUE(approx.ok() && exact.ok());
    if (!approx.ok() || !exact.ok()) return 0;
    EXPECT_EQ(exact->size(), 10u);
    std::set<std::string> truth;
    for (const auto& h : *exact) truth.insert(h.key);
    for (const auto& h : *approx) hits += truth.count(h.key);
    // Exact results come sorted by distance.
    for (size_t i = 1; i < exact->size(); ++i) {
      EXPECT_LE((*exact)[i - 1].distance, (*exact)[i].distance);
    }
  }
  return static_cast<double>(hits) / static_cast<double>(count * 10);
}

// The acceptance test of the issue: 100k random vectors, the default parameters of an
// embedding view (M=32, ef_construction=200, ef_search=100, COSINE), top-10 recall vs exact
// search >= 0.95. The vectors are IID uniform in [-1, 1)^32 — no cluster structure, the hard
// case for a graph index (at M=16 / ef_search=64 recall here is ~0.87). Dimension 32 keeps the
// build (~45 s of CPU, inserted on every core) inside the suite's budget on a 2-core machine;
// bench/vectors measures 384 dimensions and 1M vectors.
TEST(VectorIndex, RecallAt10On100kRandomVectorsAtDefaults) {
  constexpr int kDim = 32;
  constexpr size_t kCount = 100000;
  const auto data = UniformVectors(kCount, kDim, 42);
  IndexParams params;
  params.dimension = kDim;
  EXPECT_EQ(params.m, repo::VectorIndexConfig{}.m);
  EXPECT_EQ(params.ef_search, repo::VectorIndexConfig{}.ef_search);
  auto index = VectorIndex::Create(params, kCount);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  const int threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  ASSERT_TRUE((*index)->UpsertBatch(Keys(kCount), data, threads).ok());
  ASSERT_EQ((*index)->size(), kCount);
  const double recall = RecallAt10(**index, UniformVectors(300, kDim, 7), kDim);
  std::cout << "recall@10 (COSINE, 100k x 32 IID uniform, M=" << params.m
            << " ef_construction=" << params.ef_construction << " ef_search=" << params.ef_search
            << "): " << recall << "\n";
  EXPECT_GE(recall, 0.95);
}

// Vectors with cluster structure (like text embeddings) are the easy case: the same defaults
// are far above the bar with L2 too.
TEST(VectorIndex, RecallAt10OnClusteredVectorsWithL2) {
  constexpr int kDim = 48;
  constexpr size_t kCount = 20000;
  IndexParams params;
  params.metric = repo::VectorMetric::kL2;
  params.dimension = kDim;
  auto index = VectorIndex::Create(params, kCount);
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE((*index)->UpsertBatch(Keys(kCount), ClusteredVectors(kCount, kDim, 500, 42), 2).ok());
  const double recall = RecallAt10(**index, ClusteredVectors(200, kDim, 500, 7), kDim);
  std::cout << "recall@10 (L2, 20k x 48 clustered, defaults): " << recall << "\n";
  EXPECT_GE(recall, 0.95);
}

TEST(VectorIndex, DistancesPerMetric) {
  const std::vector<float> a = {3, 4}, b = {1, 0};
  for (auto metric :
       {repo::VectorMetric::kCosine, repo::VectorMetric::kL2, repo::VectorMetric::kInnerProduct}) {
    auto index = VectorIndex::Create({.metric = metric, .dimension = 2});
    ASSERT_TRUE(index.ok());
    ASSERT_TRUE((*index)->Upsert("a", a).ok());
    auto hits = (*index)->Search(b, {.top_k = 1, .exact = true});
    ASSERT_TRUE(hits.ok());
    ASSERT_EQ(hits->size(), 1u);
    const float d = (*hits)[0].distance;
    switch (metric) {
      case repo::VectorMetric::kCosine:
        EXPECT_NEAR(d, 1.0f - 0.6f, 1e-5);  // cos = 3/5
        break;
      case repo::VectorMetric::kL2:
        EXPECT_NEAR(d, std::sqrt(4.0f + 16.0f), 1e-5);
        break;
      case repo::VectorMetric::kInnerProduct:
        EXPECT_NEAR(d, 1.0f - 3.0f, 1e-5);
        break;
    }
    auto approx = (*index)->Search(b, {.top_k = 1});
    ASSERT_TRUE(approx.ok());
    EXPECT_NEAR((*approx)[0].distance, d, 1e-5);
  }
}

// The distance kernels are chosen per CPU (AVX-512 / AVX2 / SSE) and handle dimensions that
// are not a multiple of the register width with a tail: check every tail length against a
// double-precision reference.
TEST(VectorIndex, DistancesMatchAReferenceForEveryDimensionTail) {
  std::vector<int> dims;
  for (int d = 1; d <= 40; ++d) dims.push_back(d);
  dims.insert(dims.end(), {63, 64, 65, 383, 384, 1536});
  for (int dim : dims) {
    const auto v = RandomVectors(2, dim, static_cast<uint32_t>(dim));
    std::span<const float> a(v.data(), dim), b(v.data() + dim, dim);
    double dot = 0, l2 = 0;
    for (int i = 0; i < dim; ++i) {
      dot += static_cast<double>(a[i]) * b[i];
      l2 += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    }
    for (auto metric : {repo::VectorMetric::kL2, repo::VectorMetric::kInnerProduct}) {
      auto index = VectorIndex::Create({.metric = metric, .dimension = dim});
      ASSERT_TRUE(index.ok());
      ASSERT_TRUE((*index)->Upsert("a", a).ok());
      for (bool exact : {true, false}) {
        auto hits = (*index)->Search(b, {.top_k = 1, .exact = exact});
        ASSERT_TRUE(hits.ok());
        ASSERT_EQ(hits->size(), 1u);
        const double want = metric == repo::VectorMetric::kL2 ? std::sqrt(l2) : 1.0 - dot;
        EXPECT_NEAR((*hits)[0].distance, want, 1e-4 * std::max(1.0, std::abs(want)))
            << "dimension " << dim << " metric " << MetricName(metric);
      }
    }
  }
}

TEST(VectorIndex, UpsertReplacesAMovedVector) {
  constexpr int kDim = 16;
  auto index = VectorIndex::Create({.dimension = kDim, .m = 8, .ef_construction = 64});
  ASSERT_TRUE(index.ok());
  const auto data = RandomVectors(2000, kDim, 3);
  ASSERT_TRUE((*index)->UpsertBatch(Keys(2000), data, 1).ok());
  // Move k5 onto k1234's position: a query at that spot now finds both, and k5's old spot no
  // longer finds k5.
  std::span<const float> target(data.data() + 1234 * kDim, kDim);
  std::span<const float> old_spot(data.data() + 5 * kDim, kDim);
  ASSERT_TRUE((*index)->Upsert("k5", target).ok());
  EXPECT_EQ((*index)->size(), 2000u);
  for (bool exact : {false, true}) {
    auto near_target = (*index)->Search(target, {.top_k = 2, .exact = exact});
    ASSERT_TRUE(near_target.ok());
    std::set<std::string> found;
    for (const auto& h : *near_target) found.insert(h.key);
    EXPECT_EQ(found, (std::set<std::string>{"k5", "k1234"})) << "exact=" << exact;
    auto near_old = (*index)->Search(old_spot, {.top_k = 1, .exact = exact});
    ASSERT_TRUE(near_old.ok());
    EXPECT_NE((*near_old)[0].key, "k5");
  }
}

TEST(VectorIndex, RemoveHidesKeyAndUpsertBringsItBack) {
  auto index = VectorIndex::Create({.dimension = 2});
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE((*index)->Upsert("a", std::vector<float>{1, 0}).ok());
  ASSERT_TRUE((*index)->Upsert("b", std::vector<float>{0, 1}).ok());
  ASSERT_TRUE((*index)->Remove("a").ok());
  EXPECT_EQ((*index)->size(), 1u);
  EXPECT_FALSE((*index)->Contains("a"));
  for (bool exact : {false, true}) {
    auto hits = (*index)->Search(std::vector<float>{1, 0}, {.top_k = 5, .exact = exact});
    ASSERT_TRUE(hits.ok());
    ASSERT_EQ(hits->size(), 1u);
    EXPECT_EQ((*hits)[0].key, "b");
  }
  ASSERT_TRUE((*index)->Upsert("a", std::vector<float>{1, 0.1f}).ok());
  EXPECT_EQ((*index)->size(), 2u);
  auto hits = (*index)->Search(std::vector<float>{1, 0}, {.top_k = 1});
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ((*hits)[0].key, "a");
}

TEST(VectorIndex, RejectsWrongDimensionAndBadTopK) {
  auto index = VectorIndex::Create({.dimension = 3});
  ASSERT_TRUE(index.ok());
  EXPECT_EQ((*index)->Upsert("a", std::vector<float>{1, 2}).code(), StatusCode::kInvalidArgument);
  auto hits = (*index)->Search(std::vector<float>{1, 2}, {});
  ASSERT_FALSE(hits.ok());
  EXPECT_NE(hits.status().message().find("dimension 2"), std::string::npos);
  EXPECT_FALSE((*index)->Search(std::vector<float>{1, 2, 3}, {.top_k = 0}).ok());
}

TEST(VectorIndex, SaveAndLoadRoundTripKeepsResultsAndGrowsFurther) {
  TempDirectory dir;
  constexpr int kDim = 8;
  const auto data = RandomVectors(3000, kDim, 11);
  {
    auto index = VectorIndex::Create({.metric = repo::VectorMetric::kL2,
                                      .dimension = kDim,
                                      .m = 12,
                                      .ef_construction = 100,
                                      .ef_search = 50},
                                     16);  // grows past its initial capacity
    ASSERT_TRUE(index.ok());
    ASSERT_TRUE((*index)->UpsertBatch(Keys(3000), data, 2).ok());
    ASSERT_TRUE((*index)->Remove("k7").ok());
    ASSERT_TRUE((*index)->Save(dir.path(), "p__docs").ok());
    ASSERT_TRUE((*index)->Upsert("k8", std::vector<float>(kDim, 0.5f)).ok());
    ASSERT_TRUE((*index)->Save(dir.path(), "p__docs").ok());  // second generation
  }
  // Only the newest generation remains.
  size_t hnsw_files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    hnsw_files += entry.path().extension() == ".hnsw";
  }
  EXPECT_EQ(hnsw_files, 1u);
  auto loaded = VectorIndex::Load(dir.path(), "p__docs");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->size(), 2999u);
  EXPECT_EQ((*loaded)->params().metric, repo::VectorMetric::kL2);
  EXPECT_EQ((*loaded)->params().m, 12);
  EXPECT_EQ((*loaded)->params().ef_search, 50);
  EXPECT_FALSE((*loaded)->Contains("k7"));
  auto hits = (*loaded)->Search(std::vector<float>(kDim, 0.5f), {.top_k = 1});
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ((*hits)[0].key, "k8");
  EXPECT_NEAR((*hits)[0].distance, 0.0f, 1e-5);
  std::span<const float> q(data.data() + 100 * kDim, kDim);
  auto again = (*loaded)->Search(q, {.top_k = 1, .exact = true});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].key, "k100");
  // Still writable after loading.
  ASSERT_TRUE((*loaded)->Upsert("new", std::vector<float>(kDim, -3.0f)).ok());
  EXPECT_EQ((*loaded)->size(), 3000u);

  EXPECT_EQ(VectorIndex::Load(dir.path(), "missing").status().code(), StatusCode::kNotFound);
}

TEST(VectorIndex, DamagedFilesAreCorruptionNotACrash) {
  TempDirectory dir;
  auto index = VectorIndex::Create({.dimension = 4});
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE((*index)->Upsert("a", std::vector<float>{1, 2, 3, 4}).ok());
  ASSERT_TRUE((*index)->Save(dir.path(), "v").ok());
  std::ofstream(dir.path() + "/v.0.keys", std::ios::trunc) << "xx";
  auto loaded = VectorIndex::Load(dir.path(), "v");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
}

TEST(VectorIndex, ConcurrentSearchesWhileWriting) {
  constexpr int kDim = 16;
  auto index = VectorIndex::Create({.dimension = kDim});
  ASSERT_TRUE(index.ok());
  const auto data = RandomVectors(4000, kDim, 5);
  const auto keys = Keys(4000);
  ASSERT_TRUE((*index)
                  ->UpsertBatch(std::span(keys).first(2000), std::span(data).first(2000 * kDim), 1)
                  .ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        std::span<const float> q(data.data() + static_cast<size_t>((i * 7 + t) % 2000) * kDim,
                                 kDim);
        auto hits = (*index)->Search(q, {.top_k = 5, .ef_search = (i % 2) ? 32 : 0});
        if (!hits.ok() || hits->empty()) failures++;
      }
    });
  }
  ASSERT_TRUE(
      (*index)
          ->UpsertBatch(std::span(keys).subspan(2000), std::span(data).subspan(2000 * kDim), 1)
          .ok());
  for (auto& r : readers) r.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*index)->size(), 4000u);
}

}  // namespace
}  // namespace featureforge::vectors
