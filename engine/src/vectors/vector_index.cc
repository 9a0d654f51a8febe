#include "featureforge/vectors/vector_index.h"

#include <fcntl.h>
#include <hnswlib/hnswlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "distance_kernels.h"
#include "featureforge/embeddings/embedder.h"

namespace featureforge::vectors {
namespace {

namespace fs = std::filesystem;
using Hnsw = hnswlib::HierarchicalNSW<float>;

// An hnswlib space with the run-time selected kernel (distance_kernels.h): hnswlib's own
// spaces use AVX only when the whole build is compiled for it. Same distances as hnswlib's
// L2Space (squared) and InnerProductSpace (1 - dot), so saved indexes stay compatible.
class KernelSpace : public hnswlib::SpaceInterface<float> {
 public:
  KernelSpace(size_t dim, DistanceFunction function) : dim_(dim), function_(function) {}
  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return function_; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  size_t dim_;
  DistanceFunction function_;
};

std::unique_ptr<hnswlib::SpaceInterface<float>> MakeSpace(const IndexParams& params) {
  const size_t dim = static_cast<size_t>(params.dimension);
  if (params.metric == repo::VectorMetric::kL2) {
    return std::make_unique<KernelSpace>(dim, L2SquaredDistanceFunction());
  }
  return std::make_unique<KernelSpace>(dim, InnerProductDistanceFunction());
}

std::optional<repo::VectorMetric> ParseMetric(const std::string& name) {
  if (name == "COSINE") return repo::VectorMetric::kCosine;
  if (name == "L2") return repo::VectorMetric::kL2;
  if (name == "IP") return repo::VectorMetric::kInnerProduct;
  return std::nullopt;
}

std::string FilePath(const std::string& dir, const std::string& name, const std::string& suffix) {
  return (fs::path(dir) / (name + suffix)).string();
}

Status WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) return Status::IOError("cannot write " + tmp);
  }
  std::error_code error;
  fs::rename(tmp, path, error);
  if (error)
    return Status::IOError("cannot rename " + tmp + " to " + path + ": " + error.message());
  return Status::OK();
}

}  // namespace

std::string_view MetricName(repo::VectorMetric metric) {
  switch (metric) {
    case repo::VectorMetric::kCosine:
      return "COSINE";
    case repo::VectorMetric::kL2:
      return "L2";
    case repo::VectorMetric::kInnerProduct:
      return "IP";
  }
  return "COSINE";
}

struct VectorIndex::Impl {
  IndexParams params;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<Hnsw> hnsw;
  std::unordered_map<std::string, size_t> label_of;  // key -> hnswlib label
  std::vector<std::string> keys;                     // label -> key
  std::vector<bool> removed;                         // label -> removed
  size_t live = 0;
  mutable std::shared_mutex mutex;

  // Copy of `v` prepared for the space (unit length for COSINE).
  std::vector<float> Prepare(std::span<const float> v) const {
    std::vector<float> out(v.begin(), v.end());
    if (params.metric == repo::VectorMetric::kCosine) embeddings::L2Normalize(&out);
    return out;
  }

  float Reported(float raw) const {
    return params.metric == repo::VectorMetric::kL2 ? std::sqrt(std::max(0.0f, raw)) : raw;
  }

  Status CheckDimension(size_t size, const char* what) const {
    if (size != static_cast<size_t>(params.dimension)) {
      return Status::InvalidArgument(std::string(what) + " has dimension " + std::to_string(size) +
                                     ", the index holds " + std::to_string(params.dimension));
    }
    return Status::OK();
  }

  // Makes room for `extra` more labels (caller holds the exclusive lock).
  Status Reserve(size_t extra) {
    const size_t needed = hnsw->cur_element_count + extra;
    if (needed <= hnsw->max_elements_) return Status::OK();
    size_t capacity = std::max<size_t>(hnsw->max_elements_ * 2, 1024);
    while (capacity < needed) capacity *= 2;
    try {
      hnsw->resizeIndex(capacity);
    } catch (const std::exception& e) {
      return Status::Internal(std::string("growing the vector index failed: ") + e.what());
    }
    return Status::OK();
  }

  // Label for `key`, assigning a new one (caller holds the exclusive lock).
  size_t LabelFor(std::string_view key, bool* is_new) {
    auto it = label_of.find(std::string(key));
    if (it != label_of.end()) {
      *is_new = false;
      return it->second;
    }
    *is_new = true;
    const size_t label = keys.size();
    keys.emplace_back(key);
    removed.push_back(false);
    label_of.emplace(std::string(key), label);
    return label;
  }
};

VectorIndex::VectorIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VectorIndex::~VectorIndex() = default;

Result<std::unique_ptr<VectorIndex>> VectorIndex::Create(const IndexParams& params,
                                                         size_t initial_capacity) {
  if (params.dimension <= 0) return Status::InvalidArgument("vector index dimension must be > 0");
  if (params.m < 2) return Status::InvalidArgument("vector index M must be >= 2");
  auto impl = std::make_unique<Impl>();
  impl->params = params;
  impl->space = MakeSpace(params);
  try {
    impl->hnsw = std::make_unique<Hnsw>(impl->space.get(), std::max<size_t>(initial_capacity, 16),
                                        static_cast<size_t>(params.m),
                                        static_cast<size_t>(params.ef_construction));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("creating the vector index failed: ") + e.what());
  }
  impl->hnsw->setEf(static_cast<size_t>(params.ef_search));
  return std::unique_ptr<VectorIndex>(new VectorIndex(std::move(impl)));
}

const IndexParams& VectorIndex::params() const { return impl_->params; }

size_t VectorIndex::size() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->live;
}

bool VectorIndex::Contains(std::string_view key) const {
  std::shared_lock lock(impl_->mutex);
  auto it = impl_->label_of.find(std::string(key));
  return it != impl_->label_of.end() && !impl_->removed[it->second];
}

Status VectorIndex::Upsert(std::string_view key, std::span<const float> vector) {
  const std::string k(key);
  return UpsertBatch(std::span<const std::string>(&k, 1), vector, 1);
}

Status VectorIndex::UpsertBatch(std::span<const std::string> keys, std::span<const float> vectors,
                                int threads) {
  Impl& impl = *impl_;
  const size_t dim = static_cast<size_t>(impl.params.dimension);
  if (vectors.size() != keys.size() * dim) {
    return Status::InvalidArgument("upsert of " + std::to_string(keys.size()) + " keys with " +
                                   std::to_string(vectors.size()) + " floats; expected " +
                                   std::to_string(keys.size() * dim));
  }
  if (keys.empty()) return Status::OK();
  std::unique_lock lock(impl.mutex);
  FF_RETURN_IF_ERROR(impl.Reserve(keys.size()));
  // Labels are assigned up front (single-threaded); a key repeated in the batch keeps its last
  // vector.
  std::unordered_map<size_t, size_t> last_row;  // label -> row
  std::vector<size_t> labels(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    bool is_new = false;
    labels[i] = impl.LabelFor(keys[i], &is_new);
    last_row[labels[i]] = i;
  }
  std::vector<size_t> rows;
  rows.reserve(last_row.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (last_row[labels[i]] == i) rows.push_back(i);
  }
  std::string error;
  std::mutex error_mutex;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t n = next++; n < rows.size(); n = next++) {
      const size_t row = rows[n];
      std::vector<float> v = impl.Prepare(vectors.subspan(row * dim, dim));
      try {
        impl.hnsw->addPoint(v.data(), labels[row]);
      } catch (const std::exception& e) {
        std::lock_guard guard(error_mutex);
        error = e.what();
        return;
      }
    }
  };
  const int workers = std::max(1, std::min<int>(threads, static_cast<int>(rows.size())));
  if (workers == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < workers; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  // addPoint brings a removed key back (hnswlib unmarks it).
  for (size_t row : rows) impl.removed[labels[row]] = false;
  impl.live = 0;
  for (bool gone : impl.removed) impl.live += gone ? 0 : 1;
  if (!error.empty()) return Status::Internal("vector index insert failed: " + error);
  return Status::OK();
}

Status VectorIndex::Remove(std::string_view key) {
  std::unique_lock lock(impl_->mutex);
  auto it = impl_->label_of.find(std::string(key));
  if (it == impl_->label_of.end() || impl_->removed[it->second]) return Status::OK();
  try {
    impl_->hnsw->markDelete(it->second);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("vector index delete failed: ") + e.what());
  }
  impl_->removed[it->second] = true;
  impl_->live--;
  return Status::OK();
}

Result<std::vector<SearchHit>> VectorIndex::Search(std::span<const float> query,
                                                   const SearchOptions& options) const {
  const Impl& impl = *impl_;
  FF_RETURN_IF_ERROR(impl.CheckDimension(query.size(), "query vector"));
  if (options.top_k < 1) return Status::InvalidArgument("top_k must be at least 1");
  for (float x : query) {
    if (!std::isfinite(x)) return Status::InvalidArgument("query vector holds NaN or Inf");
  }
  const std::vector<float> q = impl.Prepare(query);
  const size_t k = static_cast<size_t>(options.top_k);
  std::vector<std::pair<float, size_t>> found;  // (raw distance, label)
  const size_t ef = options.ef_search > 0 ? static_cast<size_t>(options.ef_search)
                                          : static_cast<size_t>(impl.params.ef_search);
  // hnswlib keeps ef in the index, so a query with another ef than the index's runs alone
  // (exclusive lock); every other query shares the index.
  const bool own_ef = !options.exact && ef != impl.hnsw->ef_;
  std::shared_lock shared(impl.mutex, std::defer_lock);
  std::unique_lock exclusive(impl.mutex, std::defer_lock);
  if (own_ef) {
    exclusive.lock();
  } else {
    shared.lock();
  }
  Hnsw& hnsw = *impl.hnsw;
  if (options.exact) {
    found.reserve(impl.live);
    for (size_t id = 0; id < hnsw.cur_element_count; ++id) {
      const auto internal = static_cast<hnswlib::tableint>(id);
      if (hnsw.isMarkedDeleted(internal)) continue;
      const float d =
          hnsw.fstdistfunc_(q.data(), hnsw.getDataByInternalId(internal), hnsw.dist_func_param_);
      found.emplace_back(d, hnsw.getExternalLabel(internal));
    }
    const size_t keep = std::min(k, found.size());
    std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(keep),
                      found.end());
    found.resize(keep);
  } else {
    std::priority_queue<std::pair<float, hnswlib::labeltype>> result;
    try {
      if (own_ef) {
        const size_t saved = hnsw.ef_;
        hnsw.setEf(ef);
        result = hnsw.searchKnn(q.data(), k);
        hnsw.setEf(saved);
      } else {
        result = hnsw.searchKnn(q.data(), k);
      }
    } catch (const std::exception& e) {
      return Status::Internal(std::string("vector search failed: ") + e.what());
    }
    while (!result.empty()) {
      found.emplace_back(result.top().first, result.top().second);
      result.pop();
    }
    std::reverse(found.begin(), found.end());
  }
  std::vector<SearchHit> hits;
  hits.reserve(found.size());
  for (const auto& [distance, label] : found) {
    hits.push_back({impl.keys[label], impl.Reported(distance)});
  }
  return hits;
}

Status VectorIndex::Save(const std::string& dir, const std::string& name) const {
  std::unique_lock lock(impl_->mutex);  // hnswlib's saveIndex must not race inserts
  const Impl& impl = *impl_;
  std::error_code error;
  fs::create_directories(dir, error);
  if (error)
    return Status::IOError("cannot create vector index folder " + dir + ": " + error.message());
  const std::string manifest_path = FilePath(dir, name, ".manifest.json");
  int64_t previous = -1;
  {
    std::ifstream in(manifest_path);
    auto json = nlohmann::json::parse(in, nullptr, false);
    if (json.is_object() && json.contains("generation") && json["generation"].is_number_integer()) {
      previous = json["generation"].get<int64_t>();
    }
  }
  const int64_t generation = previous + 1;
  const std::string stem = name + "." + std::to_string(generation);
  const std::string hnsw_path = FilePath(dir, stem, ".hnsw");
  try {
    impl.hnsw->saveIndex(hnsw_path);
  } catch (const std::exception& e) {
    return Status::IOError("cannot write " + hnsw_path + ": " + e.what());
  }
  // keys file: per label: u32 length, bytes, u8 removed.
  std::string keys;
  for (size_t label = 0; label < impl.keys.size(); ++label) {
    const uint32_t len = static_cast<uint32_t>(impl.keys[label].size());
    keys.append(reinterpret_cast<const char*>(&len), sizeof(len));
    keys.append(impl.keys[label]);
    keys.push_back(impl.removed[label] ? 1 : 0);
  }
  FF_RETURN_IF_ERROR(WriteFileAtomically(FilePath(dir, stem, ".keys"), keys));
  nlohmann::json manifest = {{"generation", generation},
                             {"metric", std::string(MetricName(impl.params.metric))},
                             {"dimension", impl.params.dimension},
                             {"M", impl.params.m},
                             {"ef_construction", impl.params.ef_construction},
                             {"ef_search", impl.params.ef_search},
                             {"labels", impl.keys.size()},
                             {"live", impl.live}};
  FF_RETURN_IF_ERROR(WriteFileAtomically(manifest_path, manifest.dump(2) + "\n"));
  if (previous >= 0) {
    const std::string old = name + "." + std::to_string(previous);
    fs::remove(FilePath(dir, old, ".hnsw"), error);
    fs::remove(FilePath(dir, old, ".keys"), error);
  }
  return Status::OK();
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::Load(const std::string& dir,
                                                       const std::string& name) {
  const std::string manifest_path = FilePath(dir, name, ".manifest.json");
  std::ifstream in(manifest_path);
  if (!in) return Status::NotFound("no vector index " + manifest_path);
  auto manifest = nlohmann::json::parse(in, nullptr, false);
  auto corrupt = [&](const std::string& what) {
    return Status::Corruption("vector index " + manifest_path + ": " + what);
  };
  if (!manifest.is_object()) return corrupt("manifest is not JSON");
  IndexParams params;
  int64_t generation = 0;
  size_t labels = 0;
  try {
    generation = manifest.at("generation").get<int64_t>();
    auto metric = ParseMetric(manifest.at("metric").get<std::string>());
    if (!metric) return corrupt("unknown metric");
    params.metric = *metric;
    params.dimension = manifest.at("dimension").get<int>();
    params.m = manifest.at("M").get<int>();
    params.ef_construction = manifest.at("ef_construction").get<int>();
    params.ef_search = manifest.at("ef_search").get<int>();
    labels = manifest.at("labels").get<size_t>();
  } catch (const std::exception& e) {
    return corrupt(std::string("bad manifest: ") + e.what());
  }
  const std::string stem = name + "." + std::to_string(generation);
  auto impl = std::make_unique<Impl>();
  impl->params = params;
  impl->space = MakeSpace(params);
  const std::string hnsw_path = FilePath(dir, stem, ".hnsw");
  try {
    impl->hnsw = std::make_unique<Hnsw>(impl->space.get(), hnsw_path, false, 0);
  } catch (const std::exception& e) {
    return corrupt("cannot load " + hnsw_path + ": " + e.what());
  }
  impl->hnsw->setEf(static_cast<size_t>(params.ef_search));
  std::ifstream keys_in(FilePath(dir, stem, ".keys"), std::ios::binary);
  std::string keys((std::istreambuf_iterator<char>(keys_in)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  while (pos < keys.size()) {
    uint32_t len = 0;
    if (pos + sizeof(len) > keys.size()) return corrupt("truncated keys file");
    std::memcpy(&len, keys.data() + pos, sizeof(len));
    pos += sizeof(len);
    if (pos + len + 1 > keys.size()) return corrupt("truncated keys file");
    const size_t label = impl->keys.size();
    impl->keys.emplace_back(keys.substr(pos, len));
    impl->removed.push_back(keys[pos + len] != 0);
    impl->label_of.emplace(impl->keys.back(), label);
    if (!impl->removed.back()) impl->live++;
    pos += len + 1;
  }
  if (impl->keys.size() != labels || impl->hnsw->cur_element_count != labels) {
    return corrupt("keys file holds " + std::to_string(impl->keys.size()) + " keys, index " +
                   std::to_string(impl->hnsw->cur_element_count) + ", manifest " +
                   std::to_string(labels));
  }
  return std::unique_ptr<VectorIndex>(new VectorIndex(std::move(impl)));
}

Result<std::unique_ptr<IndexWriteLock>> IndexWriteLock::Acquire(const std::string& dir,
                                                                const std::string& name) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error)
    return Status::IOError("cannot create vector index folder " + dir + ": " + error.message());
  const std::string path = FilePath(dir, name, ".lock");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX) != 0) {
    const std::string message = std::strerror(errno);
    ::close(fd);
    return Status::IOError("cannot lock " + path + ": " + message);
  }
  return std::unique_ptr<IndexWriteLock>(new IndexWriteLock(fd));
}

IndexWriteLock::~IndexWriteLock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace featureforge::vectors
