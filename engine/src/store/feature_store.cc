#include "featureforge/store/feature_store.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <charconv>
#include <chrono>

#include "featureforge/materialize/materializer.h"
#include "featureforge/offline/offline_store.h"
#include "featureforge/online/online_store.h"
#include "featureforge/registry/registry.h"
#include "featureforge/repo/feature_refs.h"
#include "featureforge/repo/loader.h"
#include "featureforge/retrieval/historical.h"
#include "featureforge/serving/online_features.h"
#include "featureforge/vectors/embedding_views.h"
#include "featureforge/vectors/retrieval.h"

namespace featureforge::store {
namespace {

Status RegistryMissing(const std::string& path) {
  return Status::FailedPrecondition("registry " + path +
                                    " does not exist: run `featureforge apply` first");
}

// "entity driver", "feature_view driver_hourly_stats", ...
void AddChanges(const registry::ObjectChanges& changes, const std::string& kind,
                ApplySummary* summary) {
  for (const auto& n : changes.created) summary->created.push_back(kind + " " + n);
  for (const auto& n : changes.updated) summary->updated.push_back(kind + " " + n);
  for (const auto& n : changes.deleted) summary->deleted.push_back(kind + " " + n);
  for (const auto& n : changes.unchanged) summary->unchanged.push_back(kind + " " + n);
}

Result<Value> ParseEntityValue(const std::string& join_key, ValueType type,
                               const std::string& text) {
  auto parse_int = [&](auto* out) -> Status {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      return Status::InvalidArgument("entity " + join_key + ": '" + text + "' is not an " +
                                     std::string(ValueTypeName(type)));
    }
    return Status::OK();
  };
  switch (type) {
    case ValueType::kInt64: {
      int64_t v = 0;
      FF_RETURN_IF_ERROR(parse_int(&v));
      return Value::Int64(v);
    }
    case ValueType::kInt32: {
      int32_t v = 0;
      FF_RETURN_IF_ERROR(parse_int(&v));
      return Value::Int32(v);
    }
    case ValueType::kString:
      return Value::String(text);
    case ValueType::kBytes:
      return Value::Bytes(text);
    default:
      return Status::NotSupported("entity " + join_key + " of type " +
                                  std::string(ValueTypeName(type)) + " on the command line");
  }
}

}  // namespace

Result<PartitionSpec> ParsePartition(const std::string& text) {
  auto slash = text.find('/');
  PartitionSpec spec;
  auto bad = [&] {
    return Status::InvalidArgument("invalid partition '" + text +
                                   "': expected i/n with 0 <= i < n, e.g. 0/4");
  };
  if (slash == std::string::npos) return bad();
  auto [p1, e1] = std::from_chars(text.data(), text.data() + slash, spec.index);
  auto [p2, e2] = std::from_chars(text.data() + slash + 1, text.data() + text.size(), spec.count);
  if (e1 != std::errc() || e2 != std::errc() || p1 != text.data() + slash ||
      p2 != text.data() + text.size() || spec.count < 1 || spec.index < 0 ||
      spec.index >= spec.count) {
    return bad();
  }
  return spec;
}

int64_t MaterializeResult::total_rows_read() const {
  int64_t total = 0;
  for (const auto& v : views) total += v.rows_read;
  return total;
}

int64_t MaterializeResult::total_rows_written() const {
  int64_t total = 0;
  for (const auto& v : views) total += v.rows_written;
  return total;
}

FeatureStore::FeatureStore(repo::Repo repo, const Clock& clock)
    : repo_(std::move(repo)), clock_(clock), index_cache_(std::make_unique<vectors::IndexCache>()) {}
FeatureStore::~FeatureStore() = default;

Result<std::unique_ptr<FeatureStore>> FeatureStore::Open(const std::string& repo_dir,
                                                         const Clock& clock) {
  FF_ASSIGN_OR_RETURN(repo::Repo repo, repo::LoadRepo(repo_dir));
  return std::unique_ptr<FeatureStore>(new FeatureStore(std::move(repo), clock));
}

std::string FeatureStore::registry_path() const { return repo_.ResolvePath(repo_.config.registry); }

Result<ApplySummary> FeatureStore::Apply() {
  const std::string path = registry_path();
  registry::ApplyResult changes;
  FF_RETURN_IF_ERROR(registry::Registry::Update(path, [&](registry::Registry& reg) {
    changes = reg.Apply(repo_, clock_.Now());
    return Status::OK();
  }));
  ApplySummary summary;
  summary.registry_path = path;
  AddChanges(changes.entities, "entity", &summary);
  AddChanges(changes.sources, "source", &summary);
  AddChanges(changes.feature_views, "feature_view", &summary);
  AddChanges(changes.feature_services, "feature_service", &summary);
  spdlog::info("apply project={} registry={} created={} updated={} deleted={}",
               repo_.config.project, path, summary.created.size(), summary.updated.size(),
               summary.deleted.size());
  return summary;
}

Result<MaterializeResult> FeatureStore::Materialize(const MaterializeRequest& request) {
  const std::string path = registry_path();
  auto loaded = registry::Registry::Load(path);
  if (!loaded.ok()) {
    if (loaded.status().code() == StatusCode::kNotFound) return RegistryMissing(path);
    return loaded.status();
  }
  registry::Registry reg = std::move(loaded).value();

  std::vector<const repo::FeatureView*> views;
  if (request.views.empty()) {
    for (const auto& v : repo_.feature_views) {
      if (v.online) views.push_back(&v);
    }
    if (views.empty()) {
      return Status::FailedPrecondition("project " + repo_.config.project +
                                        " has no online feature views to materialize");
    }
  } else {
    for (const auto& name : request.views) {
      const repo::FeatureView* v = repo_.FindFeatureView(name);
      if (v == nullptr) return Status::NotFound("feature view '" + name + "' is not in the repo");
      views.push_back(v);
    }
  }
  for (const auto* v : views) {
    if (!reg.feature_view(v->name)) {
      return Status::FailedPrecondition("feature view '" + v->name +
                                        "' is not applied: run `featureforge apply` first");
    }
  }
  if (!request.incremental && request.start > request.end) {
    return Status::InvalidArgument("window start " + FormatTimestamp(request.start) +
                                   " is after end " + FormatTimestamp(request.end));
  }

  FF_ASSIGN_OR_RETURN(auto offline, offline::OfflineStore::Open(repo_));
  FF_ASSIGN_OR_RETURN(auto online, online::OpenOnlineStore(repo_));
  const bool record = request.record_watermark.value_or(request.partition.whole());
  materialize::Partition partition{request.partition.index, request.partition.count};

  MaterializeResult result;
  result.partition = request.partition;
  for (const auto* view : views) {
    ViewRunResult run;
    run.view = view->name;
    materialize::Window window{request.start, request.end};
    if (request.incremental) {
      window = materialize::IncrementalWindow(reg.LastMaterializedEnd(view->name), request.end,
                                              view->ttl);
    }
    run.start = window.start;
    run.end = window.end;
    if (window.empty()) {
      run.note = "up to date: already materialized through " +
                 FormatTimestamp(*reg.LastMaterializedEnd(view->name));
      result.views.push_back(std::move(run));
      continue;
    }
    materialize::MaterializeOptions options;
    options.chunk_size =
        request.chunk_size > 0 ? request.chunk_size : repo_.config.batch_engine.chunk_size;
    if (request.progress) options.progress = request.progress(view->name);
    auto started = std::chrono::steady_clock::now();
    // Embedding views also compute their vectors and keep their vector index in step.
    auto done = view->embedding ? vectors::MaterializeEmbeddingView(*offline, repo_, *view, window,
                                                                     partition, *online, options)
                                : materialize::MaterializeView(*offline, repo_, *view, window,
                                                               partition, *online, options);
    if (!done.ok()) return done.status().WithContext("materialize " + view->name);
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    run.rows_read = done->rows_read;
    run.rows_written = done->entities_written;
    run.rows_skipped_stale = done->rows_skipped_stale;
    if (done->empty) run.note = done->message;

    if (record) {
      // Under the registry's lock: other partitions or runs may record side by side.
      FF_RETURN_IF_ERROR(registry::Registry::Update(path, [&](registry::Registry& fresh) {
        FF_RETURN_IF_ERROR(fresh.RecordMaterialization(view->name, window.start, window.end,
                                                       run.rows_written, clock_.Now()));
        reg = fresh;
        return Status::OK();
      }));
      run.watermark_recorded = true;
    }
    spdlog::info(
        "materialized view={} partition={} start={} end={} rows_read={} rows_written={} "
        "rows_skipped_stale={} watermark_recorded={} seconds={:.3f}",
        view->name, partition.ToString(), FormatTimestamp(window.start),
        FormatTimestamp(window.end), run.rows_read, run.rows_written, run.rows_skipped_stale,
        run.watermark_recorded, run.seconds);
    result.views.push_back(std::move(run));
  }
  return result;
}

Result<HistoricalResult> FeatureStore::GetHistoricalFeatures(const HistoricalRequest& request) {
  if (request.features.empty() && request.feature_service.empty()) {
    return Status::InvalidArgument("give --features and/or --feature-service");
  }
  FF_ASSIGN_OR_RETURN(auto projections,
                      repo::ResolveFeatureRefs(repo_, request.features, request.feature_service));
  FF_ASSIGN_OR_RETURN(auto offline, offline::OfflineStore::Open(repo_));
  FF_ASSIGN_OR_RETURN(auto stats, retrieval::GetHistoricalFeatures(
                                      *offline, repo_, request.entity_file, projections,
                                      request.full_feature_names, request.output_path));
  return HistoricalResult{stats.entity_rows, stats.output_columns, stats.output_path};
}

Result<nlohmann::json> FeatureStore::GetOnlineFeatures(const OnlineRequest& request) {
  if (request.features.empty() && request.feature_service.empty()) {
    return Status::InvalidArgument("give --features and/or --feature-service");
  }
  FF_ASSIGN_OR_RETURN(auto projections,
                      repo::ResolveFeatureRefs(repo_, request.features, request.feature_service));
  FF_ASSIGN_OR_RETURN(auto online, online::OpenOnlineStore(repo_));
  FF_ASSIGN_OR_RETURN(auto response,
                      serving::GetOnlineFeatures(repo_, *online, projections, request.entities,
                                                 request.full_feature_names, clock_.Now()));
  return serving::ToFeastJson(response);
}

Result<std::map<std::string, std::vector<Value>>> FeatureStore::ParseEntityColumns(
    const std::vector<std::string>& specs) const {
  std::map<std::string, std::vector<Value>> columns;
  for (const auto& spec : specs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("invalid entity '" + spec +
                                     "': expected join_key=v1,v2,... e.g. driver_id=1001,1002");
    }
    std::string key = spec.substr(0, eq);
    const repo::Entity* entity = nullptr;
    for (const auto& e : repo_.entities) {
      for (const auto& k : e.join_keys) {
        if (k == key) entity = &e;
      }
    }
    if (entity == nullptr) {
      std::string known;
      for (const auto& e : repo_.entities) {
        for (const auto& k : e.join_keys) known += (known.empty() ? "" : ", ") + k;
      }
      return Status::InvalidArgument("unknown join key '" + key + "' (known: " + known + ")");
    }
    std::vector<Value>& values = columns[key];
    size_t pos = eq + 1;
    while (pos <= spec.size()) {
      size_t comma = spec.find(',', pos);
      if (comma == std::string::npos) comma = spec.size();
      FF_ASSIGN_OR_RETURN(Value v,
                          ParseEntityValue(key, entity->value_type, spec.substr(pos, comma - pos)));
      values.push_back(std::move(v));
      pos = comma + 1;
    }
  }
  return columns;
}

Result<RepoListing> FeatureStore::List() {
  auto loaded = registry::Registry::LoadOrEmpty(registry_path());
  if (!loaded.ok()) return loaded.status();
  const registry::Registry& reg = *loaded;
  RepoListing listing;
  listing.project = repo_.config.project;
  listing.entities = repo_.entities;
  listing.services = repo_.feature_services;
  for (const auto& v : repo_.feature_views) {
    ViewListing item;
    item.name = v.name;
    item.kind = v.is_batch ? "batch_feature_view" : "feature_view";
    item.entities = v.entities;
    for (const auto& f : v.features) item.features.push_back(f.name);
    item.ttl = v.ttl;
    item.online = v.online;
    item.offline = v.offline;
    if (auto state = reg.feature_view(v.name)) {
      item.applied = true;
      item.last_materialized_end = state->last_materialized_end;
      item.rows_written_total = state->rows_written;
    }
    listing.views.push_back(std::move(item));
  }
  return listing;
}

Result<nlohmann::json> FeatureStore::RetrieveOnlineDocuments(const DocumentsRequest& request) {
  if (request.features.empty()) {
    return Status::InvalidArgument("features: name the embedding view's features (view:feature)");
  }
  vectors::DocumentQuery query;
  for (const auto& ref : request.features) {
    const size_t colon = ref.find(':');
    const std::string view = ref.substr(0, colon);
    if (!query.view.empty() && view != query.view) {
      return Status::InvalidArgument("features: all features must come from one view, got '" +
                                     query.view + "' and '" + view + "'");
    }
    query.view = view;
    if (colon == std::string::npos) {
      const repo::FeatureView* v = repo_.FindFeatureView(view);
      if (v == nullptr) return Status::InvalidArgument("unknown feature view '" + view + "'");
      for (const auto& f : v->features) query.features.push_back(f.name);
    } else {
      query.features.push_back(ref.substr(colon + 1));
    }
  }
  query.vector = request.query;
  query.text = request.query_string;
  query.top_k = request.top_k;
  query.exact = request.exact;
  query.ef_search = request.ef_search;
  if (!request.distance_metric.empty()) {
    std::string metric = request.distance_metric;
    for (char& c : metric) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (metric == "COSINE") {
      query.metric = repo::VectorMetric::kCosine;
    } else if (metric == "L2") {
      query.metric = repo::VectorMetric::kL2;
    } else if (metric == "IP") {
      query.metric = repo::VectorMetric::kInnerProduct;
    } else {
      return Status::InvalidArgument("distance_metric: '" + request.distance_metric +
                                     "' is not COSINE, L2 or IP");
    }
  }
  FF_ASSIGN_OR_RETURN(auto online, online::OpenOnlineStore(repo_));
  FF_ASSIGN_OR_RETURN(auto response, vectors::RetrieveOnlineDocuments(
                                         repo_, *online, *index_cache_, query, clock_.Now()));
  return serving::ToFeastJson(response);
}

}  // namespace featureforge::store
