// Vector index benchmark (run by hand; results go to bench/RESULTS.md, "Vectors"):
// builds a VectorIndex over N x D vectors with the default parameters (M=16,
// ef_construction=200), then measures single-thread query throughput and recall@10 against
// exact (flat) search on the same machine, at several ef_search values.
//
// Data: by default clustered vectors shaped like text embeddings (C random centres, Gaussian
// noise sigma 0.3 per coordinate, COSINE metric); --iid uses independent Gaussian vectors,
// the worst case for any graph index.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "featureforge/vectors/vector_index.h"

using featureforge::vectors::IndexParams;
using featureforge::vectors::SearchOptions;
using featureforge::vectors::VectorIndex;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

class Generator {
 public:
  Generator(int dim, int clusters, bool iid, uint32_t seed)
      : dim_(dim), iid_(iid), rng_(seed), centres_(static_cast<size_t>(clusters) * dim) {
    std::mt19937 centre_rng(1234);
    for (auto& x : centres_) x = normal_(centre_rng);
    clusters_ = clusters;
  }
  void Fill(float* out) {
    const size_t c = rng_() % static_cast<size_t>(clusters_);
    for (int d = 0; d < dim_; ++d) {
      out[d] = iid_ ? normal_(rng_) : centres_[c * dim_ + d] + 0.3f * normal_(rng_);
    }
  }

 private:
  int dim_;
  bool iid_;
  int clusters_ = 1;
  std::mt19937 rng_;
  std::normal_distribution<float> normal_{0.0f, 1.0f};
  std::vector<float> centres_;
};

}  // namespace

int main(int argc, char** argv) {
  size_t count = 1000000;
  int dim = 384;
  int clusters = 10000;
  bool iid = false;
  int threads = 2;
  size_t queries = 1000;
  size_t exact_queries = 100;
  std::vector<int> efs = {64, 128, 256};
  CLI::App app{"featureforge vector index benchmark"};
  app.add_option("-n,--count", count, "vectors")->capture_default_str();
  app.add_option("-d,--dim", dim, "dimension")->capture_default_str();
  app.add_option("--clusters", clusters, "cluster centres")->capture_default_str();
  app.add_flag("--iid", iid, "independent Gaussian vectors instead of clustered ones");
  app.add_option("-t,--threads", threads, "insert threads")->capture_default_str();
  app.add_option("-q,--queries", queries, "HNSW queries per ef")->capture_default_str();
  app.add_option("--exact-queries", exact_queries, "queries with exact ground truth")
      ->capture_default_str();
  app.add_option("--ef", efs, "ef_search values")->delimiter(',');
  CLI11_PARSE(app, argc, argv);

  IndexParams params;
  params.dimension = dim;
  auto created = VectorIndex::Create(params, count);
  if (!created.ok()) {
    std::fprintf(stderr, "%s\n", created.status().ToString().c_str());
    return 1;
  }
  auto& index = *created;
  Generator data(dim, clusters, iid, 42);
  const size_t batch = 20000;
  std::vector<float> vectors(batch * static_cast<size_t>(dim));
  std::vector<std::string> keys(batch);
  auto started = Clock::now();
  double insert_seconds = 0;
  for (size_t first = 0; first < count; first += batch) {
    const size_t n = std::min(batch, count - first);
    for (size_t i = 0; i < n; ++i) {
      data.Fill(vectors.data() + i * dim);
      keys[i] = "doc" + std::to_string(first + i);
    }
    auto insert_started = Clock::now();
    auto status = index->UpsertBatch(std::span(keys).first(n),
                                     std::span<const float>(vectors).first(n * dim), threads);
    insert_seconds += Seconds(insert_started);
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.ToString().c_str());
      return 1;
    }
    if ((first / batch) % 5 == 0) {
      std::fprintf(stderr, "inserted %zu / %zu (%.0f s)\n", first + n, count, Seconds(started));
    }
  }
  std::printf(
      "vectors: %zu x %d (%s), M=16 ef_construction=200, COSINE, %d insert threads\n", count, dim,
      iid ? "iid Gaussian" : ("clustered, " + std::to_string(clusters) + " centres").c_str(),
      threads);
  std::printf("build: %.1f s insert time (%.0f vectors/s)\n", insert_seconds,
              static_cast<double>(count) / insert_seconds);

  Generator query_gen(dim, clusters, iid, 7);
  std::vector<float> q(std::max(queries, exact_queries) * static_cast<size_t>(dim));
  for (size_t i = 0; i < std::max(queries, exact_queries); ++i) query_gen.Fill(q.data() + i * dim);

  // Exact ground truth on the first exact_queries queries, timed: the flat-search baseline.
  std::vector<std::set<std::string>> truth(exact_queries);
  auto exact_started = Clock::now();
  for (size_t i = 0; i < exact_queries; ++i) {
    auto hits = index->Search(std::span<const float>(q.data() + i * dim, dim),
                              {.top_k = 10, .exact = true});
    for (const auto& h : *hits) truth[i].insert(h.key);
  }
  const double exact_seconds = Seconds(exact_started);
  std::printf("exact (flat) search: %.2f QPS (%.1f ms/query, %zu queries, 1 thread)\n",
              static_cast<double>(exact_queries) / exact_seconds,
              1000.0 * exact_seconds / static_cast<double>(exact_queries), exact_queries);
  for (int ef : efs) {
    size_t hits_found = 0;
    auto query_started = Clock::now();
    for (size_t i = 0; i < queries; ++i) {
      auto hits = index->Search(std::span<const float>(q.data() + i * dim, dim),
                                {.top_k = 10, .ef_search = ef});
      if (i < exact_queries) {
        for (const auto& h : *hits) hits_found += truth[i].count(h.key);
      }
    }
    const double seconds = Seconds(query_started);
    std::printf(
        "HNSW ef_search=%d: %.0f QPS (%.3f ms/query, %zu queries, 1 thread), "
        "recall@10 %.4f (%zu queries vs exact)\n",
        ef, static_cast<double>(queries) / seconds, 1000.0 * seconds / static_cast<double>(queries),
        queries, static_cast<double>(hits_found) / (10.0 * exact_queries), exact_queries);
  }
  return 0;
}
