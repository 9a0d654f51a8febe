// POST /retrieve-online-documents: top-k nearest documents of an embedding view, in Feast's
// retrieve_online_documents_v2 request and response shapes.
#include "featureforge/http/server.h"
#include "server_internal.h"

namespace featureforge::worker::server {
namespace {

using nlohmann::json;

bool ParseDocumentsRequest(const json& body, store::DocumentsRequest* out, RequestError* error) {
  auto fail = [&](const std::string& field, const std::string& message) {
    *error = RequestError{422, message, field};
    return false;
  };
  auto features = body.find("features");
  if (features == body.end() || !features->is_array() || features->empty()) {
    return fail("features", "features must be a non-empty list of \"view:feature\" strings");
  }
  for (size_t i = 0; i < features->size(); ++i) {
    if (!(*features)[i].is_string()) {
      return fail("features[" + std::to_string(i) + "]", "feature references must be strings");
    }
    out->features.push_back((*features)[i].get<std::string>());
  }
  if (auto q = body.find("query"); q != body.end() && !q->is_null()) {
    if (!q->is_array()) return fail("query", "query must be a list of numbers");
    std::vector<float> vector;
    for (size_t i = 0; i < q->size(); ++i) {
      if (!(*q)[i].is_number()) {
        return fail("query[" + std::to_string(i) + "]", "query values must be numbers");
      }
      vector.push_back((*q)[i].get<float>());
    }
    out->query = std::move(vector);
  }
  if (auto text = body.find("query_string"); text != body.end() && !text->is_null()) {
    if (!text->is_string()) return fail("query_string", "query_string must be a string");
    out->query_string = text->get<std::string>();
  }
  if (auto k = body.find("top_k"); k != body.end() && !k->is_null()) {
    if (!k->is_number_integer() || k->get<int64_t>() < 1 || k->get<int64_t>() > 100000) {
      return fail("top_k", "top_k must be an integer between 1 and 100000");
    }
    out->top_k = k->get<int>();
  }
  if (auto metric = body.find("distance_metric"); metric != body.end() && !metric->is_null()) {
    if (!metric->is_string()) return fail("distance_metric", "distance_metric must be a string");
    out->distance_metric = metric->get<std::string>();
  }
  return true;
}

}  // namespace

Result<std::shared_ptr<store::FeatureStore>> FeatureServer::State::DocumentStore(
    uint64_t snapshot_generation) {
  std::lock_guard lock(documents_mu_);
  if (!documents_ || documents_generation_ != snapshot_generation) {
    FF_ASSIGN_OR_RETURN(auto opened, store::FeatureStore::Open(options_.repo_dir, clock_));
    documents_ = std::move(opened);
    documents_generation_ = snapshot_generation;
  }
  return documents_;
}

http::Response HandleRetrieveOnlineDocuments(FeatureServer::State& state,
                                             const http::Request& request) {
  json body;
  RequestError error;
  if (!ParseJsonObject(request.body, &body, &error)) return error.ToResponse();
  store::DocumentsRequest documents;
  if (!ParseDocumentsRequest(body, &documents, &error)) return error.ToResponse();
  auto snapshot = state.Snapshot();
  if (!snapshot->applied) {
    return http::JsonError(409, "the registry is not applied yet: run featureforge apply");
  }
  auto fs = state.DocumentStore(snapshot->generation);
  if (!fs.ok()) return http::JsonError(http::HttpStatusFor(fs.status()), fs.status().message());
  auto result = (*fs)->RetrieveOnlineDocuments(documents);
  if (!result.ok()) {
    return http::JsonError(http::HttpStatusFor(result.status()), result.status().message());
  }
  return http::JsonBody(200, result->dump());
}

}  // namespace featureforge::worker::server
