// Vector index benchmark (run by hand; results go to bench/RESULTS.md, "Vectors"):
// builds a VectorIndex over N x D vectors (default parameters of an embedding view unless
// --m / --ef-construction say otherwise), then measures single-thread query throughput and
// recall@10 against exact (flat) search on the same machine, at several ef_search values.
// Prints the load average and the CPU time the build got, since the machine may be shared.
//
// Data: by default clustered vectors shaped like text embeddings (C random centres, Gaussian
// noise sigma 0.3 per coordinate, COSINE metric); --iid uses independent Gaussian vectors and
// --uniform independent uniform [-1, 1) coordinates: no neighbourhood structure, the worst
// case for any graph index.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
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

// User + system CPU seconds of this process so far.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

enum class DataKind { kClustered, kGaussian, kUniform };

// Exact (flat) search QPS — also the ground truth — on the first `exact_queries` queries, then
// HNSW QPS over `queries` queries and recall@10 against that truth, for each ef_search.
void Measure(const VectorIndex& index, const std::vector<float>& q, int dim, size_t queries,
             size_t exact_queries, const std::vector<int>& efs) {
  std::vector<std::set<std::string>> truth(exact_queries);
  auto exact_started = Clock::now();
  for (size_t i = 0; i < exact_queries; ++i) {
    auto hits =
        index.Search(std::span<const float>(q.data() + i * dim, dim), {.top_k = 10, .exact = true});
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
      auto hits = index.Search(std::span<const float>(q.data() + i * dim, dim),
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
}

class Generator {
 public:
  Generator(int dim, int clusters, DataKind kind, uint32_t seed)
      : dim_(dim), kind_(kind), rng_(seed), centres_(static_cast<size_t>(clusters) * dim) {
    std::mt19937 centre_rng(1234);
    for (auto& x : centres_) x = normal_(centre_rng);
    clusters_ = clusters;
  }
  void Fill(float* out) {
    const size_t c = rng_() % static_cast<size_t>(clusters_);
    for (int d = 0; d < dim_; ++d) {
      switch (kind_) {
        case DataKind::kClustered:
          out[d] = centres_[c * dim_ + d] + 0.3f * normal_(rng_);
          break;
        case DataKind::kGaussian:
          out[d] = normal_(rng_);
          break;
        case DataKind::kUniform:
          out[d] = uniform_(rng_);
          break;
      }
    }
  }

 private:
  int dim_;
  DataKind kind_;
  int clusters_ = 1;
  std::mt19937 rng_;
  std::normal_distribution<float> normal_{0.0f, 1.0f};
  std::uniform_real_distribution<float> uniform_{-1.0f, 1.0f};
  std::vector<float> centres_;
};

}  // namespace

int main(int argc, char** argv) {
  size_t count = 1000000;
  int dim = 384;
  int clusters = 10000;
  bool iid = false;
  bool uniform = false;
  std::string metric = "COSINE";
  IndexParams params;  // the defaults of an embedding view's vector_index block
  int threads = 2;
  size_t queries = 1000;
  size_t exact_queries = 100;
  std::vector<int> efs = {64, 128, 256};
  CLI::App app{"featureforge vector index benchmark"};
  app.add_option("-n,--count", count, "vectors")->capture_default_str();
  app.add_option("-d,--dim", dim, "dimension")->capture_default_str();
  app.add_option("--clusters", clusters, "cluster centres")->capture_default_str();
  app.add_flag("--iid", iid, "independent Gaussian vectors instead of clustered ones");
  app.add_flag("--uniform", uniform,
               "independent uniform [-1, 1) vectors instead of clustered ones");
  app.add_option("--metric", metric, "COSINE, L2 or IP")->capture_default_str();
  app.add_option("--m", params.m, "HNSW M")->capture_default_str();
  app.add_option("--ef-construction", params.ef_construction, "HNSW ef_construction")
      ->capture_default_str();
  app.add_option("-t,--threads", threads, "insert threads")->capture_default_str();
  app.add_option("-q,--queries", queries, "HNSW queries per ef")->capture_default_str();
  app.add_option("--exact-queries", exact_queries, "queries with exact ground truth")
      ->capture_default_str();
  app.add_option("--ef", efs, "ef_search values")->delimiter(',');
  std::vector<size_t> checkpoints;
  app.add_option("--checkpoints", checkpoints,
                 "also measure at these sizes during the build (e.g. 250000,500000)")
      ->delimiter(',');
  CLI11_PARSE(app, argc, argv);

  const DataKind kind = uniform ? DataKind::kUniform
                        : iid   ? DataKind::kGaussian
                                : DataKind::kClustered;
  const std::string data_name = kind == DataKind::kUniform ? "iid uniform"
                                : kind == DataKind::kGaussian
                                    ? "iid Gaussian"
                                    : "clustered, " + std::to_string(clusters) + " centres";
  if (metric == "L2") {
    params.metric = featureforge::repo::VectorMetric::kL2;
  } else if (metric == "IP") {
    params.metric = featureforge::repo::VectorMetric::kInnerProduct;
  } else if (metric != "COSINE") {
    std::fprintf(stderr, "--metric must be COSINE, L2 or IP\n");
    return 2;
  }
  params.dimension = dim;
  std::printf("load average at start: %s\n", LoadAverage().c_str());
  auto created = VectorIndex::Create(params, count);
  if (!created.ok()) {
    std::fprintf(stderr, "%s\n", created.status().ToString().c_str());
    return 1;
  }
  auto& index = *created;
  const size_t query_count = std::max(queries, exact_queries);
  std::vector<float> queries_data(query_count * static_cast<size_t>(dim));
  Generator query_gen(dim, clusters, kind, 7);
  for (size_t i = 0; i < query_count; ++i) query_gen.Fill(queries_data.data() + i * dim);
  std::sort(checkpoints.begin(), checkpoints.end());
  size_t next_checkpoint = 0;
  Generator data(dim, clusters, kind, 42);
  const size_t batch = 20000;
  std::vector<float> vectors(batch * static_cast<size_t>(dim));
  std::vector<std::string> keys(batch);
  auto started = Clock::now();
  const double cpu_started = CpuSeconds();
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
    // Intermediate figures, so a long run that must be stopped still reports measured sizes.
    while (next_checkpoint < checkpoints.size() && checkpoints[next_checkpoint] <= first + n &&
           first + n < count) {
      const double cpu = CpuSeconds() - cpu_started;
      std::printf(
          "checkpoint: %zu vectors inserted, %.1f s insert time (%.0f vectors/s), %.1f s CPU, "
          "load average %s\n",
          first + n, insert_seconds, static_cast<double>(first + n) / insert_seconds, cpu,
          LoadAverage().c_str());
      Measure(*index, queries_data, dim, queries, exact_queries, efs);
      std::fflush(stdout);
      ++next_checkpoint;
    }
  }
  const double build_cpu = CpuSeconds() - cpu_started;
  std::printf("vectors: %zu x %d (%s), M=%d ef_construction=%d, %s, %d insert threads\n", count,
              dim, data_name.c_str(), params.m, params.ef_construction, metric.c_str(), threads);
  std::printf(
      "build: %.1f s insert time (%.0f vectors/s), %.1f s CPU (%.2f cores busy), load average "
      "after build: %s\n",
      insert_seconds, static_cast<double>(count) / insert_seconds, build_cpu,
      build_cpu / Seconds(started), LoadAverage().c_str());

  Measure(*index, queries_data, dim, queries, exact_queries, efs);
  std::printf("load average at end: %s\n", LoadAverage().c_str());
  return 0;
}
