// The feature server's endpoints (Feast's request and response shapes) and its startup.
#include <spdlog/spdlog.h>

#include "featureforge/eventlog/run_log.h"
#include "featureforge/repo/feature_refs.h"
#include "featureforge/serving/online_features.h"
#include "featureforge/store/feature_store.h"
#include "server_internal.h"

namespace featureforge::worker::server {
namespace {

using http::Request;
using http::Response;
using nlohmann::json;

Response StatusResponse(const Status& status, const std::string& field = "") {
  return http::JsonError(http::HttpStatusFor(status), status.ToString(), field);
}

Response NotApplied(const ServingSnapshot& snapshot) {
  return http::JsonError(409, "registry " + snapshot.registry_path + " holds nothing for project " +
                                  snapshot.repo.config.project +
                                  ": run `featureforge apply` first");
}

// Optional typed members; false (with a 422 naming the field) when present with another type.
bool OptionalString(const json& body, const char* name, std::string* out, RequestError* error) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_string()) {
    *error = {422, std::string("\"") + name + "\" must be a string", name};
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool OptionalBool(const json& body, const char* name, bool* out, RequestError* error) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_boolean()) {
    *error = {422, std::string("\"") + name + "\" must be true or false", name};
    return false;
  }
  *out = it->get<bool>();
  return true;
}

bool OptionalStringList(const json& body, const char* name, std::vector<std::string>* out,
                        RequestError* error) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_array()) {
    *error = {422, std::string("\"") + name + "\" must be a list of strings", name};
    return false;
  }
  for (size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string()) {
      *error = {422, std::string("\"") + name + "\" must be a list of strings",
                std::string(name) + "[" + std::to_string(i) + "]"};
      return false;
    }
    out->push_back((*it)[i].get<std::string>());
  }
  return true;
}

bool RequiredTimestamp(const json& body, const char* name, TimestampMicros* out,
                       RequestError* error) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    *error = {422, std::string("\"") + name + "\" is required", name};
    return false;
  }
  std::string problem;
  if (!JsonToTimestamp(*it, out, &problem)) {
    *error = {422, std::string("\"") + name + "\": " + problem, name};
    return false;
  }
  return true;
}

// The projections of a request's feature list. Clients repeat the same list, so each server
// thread keeps the last one it resolved (per snapshot generation) and skips parsing the refs
// and looking up views again. Errors are never cached.
Result<const std::vector<repo::FeatureViewProjection>*> ResolveProjections(
    const ServingSnapshot& snapshot, const std::vector<std::string>& features,
    const std::string& service) {
  struct LastResolved {
    const ServingSnapshot* snapshot = nullptr;  // with generation: pointer reuse is harmless
    uint64_t generation = 0;
    std::vector<std::string> features;
    std::string service;
    std::vector<repo::FeatureViewProjection> projections;
  };
  thread_local LastResolved last;
  if (last.snapshot == &snapshot && last.generation == snapshot.generation &&
      last.service == service && last.features == features) {
    return &last.projections;
  }
  last.snapshot = nullptr;
  FF_ASSIGN_OR_RETURN(last.projections, repo::ResolveFeatureRefs(snapshot.repo, features, service));
  last.snapshot = &snapshot;
  last.generation = snapshot.generation;
  last.features = features;
  last.service = service;
  return &last.projections;
}

Response GetOnlineFeatures(FeatureServer::State& state, const Request& request) {
  json body;
  RequestError error;
  if (!ParseJsonObject(request.body, &body, &error)) return error.ToResponse();
  std::vector<std::string> features;
  std::string service;
  bool full_names = false;
  if (!OptionalStringList(body, "features", &features, &error) ||
      !OptionalString(body, "feature_service", &service, &error) ||
      !OptionalBool(body, "full_feature_names", &full_names, &error)) {
    return error.ToResponse();
  }
  if (features.empty() && service.empty()) {
    return http::JsonError(
        422, "give \"features\" (a list of \"view:feature\") or \"feature_service\"", "features");
  }
  if (!body.contains("entities")) {
    return http::JsonError(422, "\"entities\" is required", "entities");
  }
  auto snapshot = state.Snapshot();
  if (!snapshot->applied) return NotApplied(*snapshot);
  const repo::Repo& repo = snapshot->repo;

  auto projections = ResolveProjections(*snapshot, features, service);
  if (!projections.ok()) {
    bool service_problem = !service.empty() && repo.FindFeatureService(service) == nullptr;
    return http::JsonError(422, projections.status().message(),
                           service_problem ? "feature_service" : "features");
  }
  std::map<std::string, std::vector<Value>> columns;
  if (!EntityColumnsFromJson(repo, body["entities"], &columns, &error)) return error.ToResponse();
  for (const auto& projection : **projections) {
    const repo::FeatureView* view = repo.FindFeatureView(projection.view);
    if (view == nullptr) continue;  // ResolveFeatureRefs already checked
    if (!view->online) {
      return http::JsonError(
          422, "feature view '" + view->name + "' is offline only (online: false)", "features");
    }
    for (const auto& key : repo.JoinKeys(*view)) {
      if (!columns.count(key)) {
        return http::JsonError(
            422, "missing join key '" + key + "' needed by feature view '" + view->name + "'",
            "entities." + key);
      }
    }
  }
  auto store = state.ThreadStore(*snapshot);
  if (!store.ok()) return StatusResponse(store.status());
  auto response = serving::GetOnlineFeatures(repo, **store, **projections, columns, full_names,
                                             state.clock().Now());
  if (!response.ok()) {
    const Status& s = response.status();
    return StatusResponse(s, s.code() == StatusCode::kInvalidArgument ? "entities" : "");
  }
  Response ok;  // 200, application/json
  ok.body.reserve(256 + response->columns.size() * (64 + response->num_rows * 48));
  AppendFeastJson(*response, &ok.body);
  return ok;
}

online::ViewSpec SpecFor(const repo::Repo& repo, const repo::FeatureView& view) {
  online::ViewSpec spec;
  spec.project = repo.config.project;
  spec.view = view.name;
  for (const auto& f : view.features) {
    spec.feature_names.push_back(f.name);
    spec.feature_types.push_back(f.type);
  }
  return spec;
}

// Writes the dataframe to one online view; adds {"view", "rows_written", "rows_skipped_stale"}.
Response WriteOnline(FeatureServer::State& state, const ServingSnapshot& snapshot,
                     const repo::FeatureView& view, const json& df, json* written) {
  const repo::Repo& repo = snapshot.repo;
  std::string ts_field = view.timestamp_field;
  std::string created_field = view.created_timestamp_column;
  std::map<std::string, std::string> mapping;
  if (const repo::DataSource* source = repo.FindSource(view.source)) {
    ts_field = source->timestamp_field;
    created_field = source->created_timestamp_column;
    mapping = source->field_mapping;
  }
  std::vector<online::WriteRow> rows;
  RequestError error;
  if (!RowsFromDataframe(repo, view, df, ts_field, created_field, mapping, &rows, &error)) {
    return error.ToResponse();
  }
  auto store = state.ThreadStore(snapshot);
  if (!store.ok()) return StatusResponse(store.status());
  auto stats = (*store)->Write(SpecFor(repo, view), rows);
  if (!stats.ok()) return StatusResponse(stats.status().WithContext("write " + view.name));
  written->push_back({{"feature_view", view.name},
                      {"rows_written", stats->rows_written},
                      {"rows_skipped_stale", stats->rows_skipped_stale}});
  return http::JsonBody(200, "{}");
}

Response Push(FeatureServer::State& state, const Request& request) {
  json body;
  RequestError error;
  if (!ParseJsonObject(request.body, &body, &error)) return error.ToResponse();
  std::string source_name;
  std::string to = "online";
  if (!OptionalString(body, "push_source_name", &source_name, &error) ||
      !OptionalString(body, "to", &to, &error)) {
    return error.ToResponse();
  }
  if (source_name.empty())
    return http::JsonError(422, "\"push_source_name\" is required", "push_source_name");
  if (to == "both") to = "online_and_offline";  // the spelling in Feast's server docs
  if (to != "online" && to != "offline" && to != "online_and_offline") {
    return http::JsonError(
        422, "\"to\" must be one of online, offline, online_and_offline (or both)", "to");
  }
  if (!body.contains("df")) return http::JsonError(422, "\"df\" is required", "df");
  auto snapshot = state.Snapshot();
  if (!snapshot->applied) return NotApplied(*snapshot);
  const repo::Repo& repo = snapshot->repo;
  const repo::DataSource* source = repo.FindSource(source_name);
  if (source == nullptr) {
    return http::JsonError(422, "unknown push source '" + source_name + "'", "push_source_name");
  }
  // Feast pushes to every feature view that reads the push source.
  std::vector<const repo::FeatureView*> views;
  for (const auto& v : repo.feature_views) {
    if (!v.is_batch && v.source == source_name) views.push_back(&v);
  }
  json written = json::array();
  if (to != "offline") {
    bool any = false;
    for (const auto* view : views) {
      if (!view->online) continue;
      any = true;
      Response r = WriteOnline(state, *snapshot, *view, body["df"], &written);
      if (r.status != 200) return r;
    }
    if (!any) {
      return http::JsonError(422, "no online feature view reads source '" + source_name + "'",
                             "push_source_name");
    }
  }
  if (to != "online") {
    // The offline file gets the join keys, timestamps and every feature of the views reading it.
    std::vector<std::string> columns;
    std::vector<ValueType> types;
    auto add = [&](const std::string& name, ValueType type) {
      for (const auto& c : columns) {
        if (c == name) return;
      }
      columns.push_back(name);
      types.push_back(type);
    };
    for (const auto* view : views) {
      for (const auto& entity_name : view->entities) {
        if (const repo::Entity* e = repo.FindEntity(entity_name)) {
          for (const auto& k : e->join_keys) add(k, e->value_type);
        }
      }
    }
    add(source->timestamp_field, ValueType::kUnixTimestamp);
    if (!source->created_timestamp_column.empty() &&
        body["df"].contains(source->created_timestamp_column)) {
      add(source->created_timestamp_column, ValueType::kUnixTimestamp);
    }
    for (const auto* view : views) {
      for (const auto& f : view->features) {
        std::string col = f.name;
        for (const auto& [src, feat] : source->field_mapping) {
          if (feat == f.name) col = src;
        }
        add(col, f.type);
      }
    }
    Status appended = AppendToOfflineSource(repo, *source, body["df"], columns, types);
    if (!appended.ok()) {
      return StatusResponse(appended,
                            appended.code() == StatusCode::kInvalidArgument ? "df" : "to");
    }
  }
  return http::JsonBody(200, json{{"status", "ok"}, {"written", written}}.dump());
}

Response WriteToOnlineStore(FeatureServer::State& state, const Request& request) {
  json body;
  RequestError error;
  if (!ParseJsonObject(request.body, &body, &error)) return error.ToResponse();
  std::string view_name;
  if (!OptionalString(body, "feature_view_name", &view_name, &error)) return error.ToResponse();
  if (view_name.empty()) {
    return http::JsonError(422, "\"feature_view_name\" is required", "feature_view_name");
  }
  if (!body.contains("df")) return http::JsonError(422, "\"df\" is required", "df");
  auto snapshot = state.Snapshot();
  if (!snapshot->applied) return NotApplied(*snapshot);
  const repo::FeatureView* view = snapshot->repo.FindFeatureView(view_name);
  if (view == nullptr) {
    return http::JsonError(422, "unknown feature view '" + view_name + "'", "feature_view_name");
  }
  json written = json::array();
  Response r = WriteOnline(state, *snapshot, *view, body["df"], &written);
  if (r.status != 200) return r;
  return http::JsonBody(200, json{{"status", "ok"}, {"written", written}}.dump());
}

Response Materialize(FeatureServer::State& state, const Request& request, bool incremental) {
  json body;
  RequestError error;
  if (!ParseJsonObject(request.body, &body, &error)) return error.ToResponse();
  store::MaterializeRequest run;
  run.incremental = incremental;
  if (!OptionalStringList(body, "feature_views", &run.views, &error)) return error.ToResponse();
  if (!incremental && !RequiredTimestamp(body, "start_ts", &run.start, &error)) {
    return error.ToResponse();
  }
  if (!RequiredTimestamp(body, "end_ts", &run.end, &error)) return error.ToResponse();
  std::string log_uri;
  if (!OptionalString(body, "event_log_uri", &log_uri, &error)) return error.ToResponse();
  log_uri = ResolveEventLogUri(log_uri.empty() ? state.options().event_log_uri : log_uri,
                               state.options().repo_dir);
  // The event log (and its .keep placeholder) comes before any other work.
  auto run_log = MaterializationRunLog::Open(
      log_uri, NewRunId(incremental ? "server-materialize-incremental" : "server-materialize",
                        state.clock()));
  if (!run_log.ok()) return StatusResponse(run_log.status(), "event_log_uri");
  (*run_log)->Begin(&run);
  auto fs = store::FeatureStore::Open(state.options().repo_dir, state.clock());
  if (!fs.ok()) {
    (void)(*run_log)->Failed(fs.status());
    return StatusResponse(fs.status());
  }
  auto result = (*fs)->Materialize(run);
  if (!result.ok()) {
    const Status& s = result.status();
    (void)(*run_log)->Failed(s);
    std::string field = s.code() == StatusCode::kNotFound ? "feature_views" : "";
    if (s.code() == StatusCode::kInvalidArgument) field = incremental ? "end_ts" : "start_ts";
    return StatusResponse(s, field);
  }
  json event_log = nullptr;
  if ((*run_log)->enabled()) {
    event_log = (*run_log)->log()->log_uri();
    if (Status logged = (*run_log)->Succeeded(*result); !logged.ok()) {
      spdlog::warn("materialize: event log {}: {}", event_log.get<std::string>(),
                   logged.ToString());
    }
  }
  json views = json::array();
  for (const auto& v : result->views) {
    views.push_back({{"feature_view", v.view},
                     {"start", FormatTimestamp(v.start)},
                     {"end", FormatTimestamp(v.end)},
                     {"rows_read", v.rows_read},
                     {"rows_written", v.rows_written},
                     {"rows_skipped_stale", v.rows_skipped_stale},
                     {"watermark_recorded", v.watermark_recorded},
                     {"note", v.note},
                     {"seconds", v.seconds}});
  }
  return http::JsonBody(200,
                        json{{"status", "ok"}, {"views", views}, {"event_log", event_log}}.dump());
}

Response Health(FeatureServer::State& state) {
  auto snapshot = state.Snapshot();
  return http::JsonBody(200, json{{"status", "ok"},
                                  {"project", snapshot->repo.config.project},
                                  {"applied", snapshot->applied},
                                  {"registry_generation", snapshot->generation}}
                                 .dump());
}

}  // namespace

Result<std::unique_ptr<FeatureServer>> FeatureServer::Start(const ServeOptions& options,
                                                            const Clock& clock) {
  auto state = std::make_shared<State>(options, clock);
  FF_RETURN_IF_ERROR(state->Load());
  http::Router router;
  State* s = state.get();
  router.Add("POST", "/get-online-features",
             [s](const Request& r) { return GetOnlineFeatures(*s, r); });
  router.Add("POST", "/push", [s](const Request& r) { return Push(*s, r); });
  router.Add("POST", "/write-to-online-store",
             [s](const Request& r) { return WriteToOnlineStore(*s, r); });
  router.Add("POST", "/materialize", [s](const Request& r) { return Materialize(*s, r, false); });
  router.Add("POST", "/materialize-incremental",
             [s](const Request& r) { return Materialize(*s, r, true); });
  router.Add("POST", "/retrieve-online-documents",
             [s](const Request& r) { return HandleRetrieveOnlineDocuments(*s, r); });
  router.Add("GET", "/health", [s](const Request&) { return Health(*s); });
  router.Add("GET", "/metrics", [s](const Request&) {
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = s->metrics().RenderPrometheus();
    return r;
  });
  auto observer = [s](const std::string& route, const std::string& method, int status,
                      double seconds) { s->metrics().Observe(route, method, status, seconds); };
  FF_ASSIGN_OR_RETURN(auto http_server,
                      http::Server::Start(options.http, std::move(router), observer));
  std::unique_ptr<FeatureServer> server(new FeatureServer());
  server->state_ = std::move(state);
  server->http_ = std::move(http_server);
  return server;
}

FeatureServer::~FeatureServer() {
  if (http_) http_->Stop();
}
int FeatureServer::port() const { return http_->port(); }
void FeatureServer::Stop() { http_->Stop(); }
void FeatureServer::Wait() { http_->Wait(); }

}  // namespace featureforge::worker::server
