// Create, update, patch and delete: the object semantics of the real API server.
#include <algorithm>

#include "api_server.h"
#include "builtin_defaults.h"
#include "certs.h"
#include "patch.h"
#include "schema.h"
#include "selectors.h"
#include "tables.h"

namespace ffharness {
namespace {

HttpResponse JsonResponse(int code, const json& body) {
  HttpResponse r;
  r.status = code;
  r.body = body.dump();
  return r;
}

HttpResponse ErrorResponse(const ApiError& error) {
  return JsonResponse(error.code, error.ToStatus());
}

bool ParseBody(const std::string& body, json* out, ApiError* error) {
  try {
    *out = json::parse(body.empty() ? "{}" : body);
  } catch (const std::exception& e) {
    *error = BadRequestError(std::string("the request body is not valid JSON: ") + e.what());
    return false;
  }
  return true;
}

json Cause(const std::string& reason, const std::string& field, const std::string& message) {
  return {{"reason", reason}, {"field", field}, {"message", message}};
}

std::string RandomSuffix() {
  static const char* kChars = "bcdfghjklmnpqrstvwxz2456789";
  std::string hex = RandomHex(5), out;
  for (char c : hex) out.push_back(kChars[static_cast<unsigned char>(c) % 27]);
  return out;
}

// Secrets accept stringData on writes; it is merged into data (base64) and never stored.
void FoldStringData(json& secret) {
  if (!secret.contains("stringData")) return;
  if (secret["stringData"].is_object()) {
    if (!secret.contains("data") || !secret["data"].is_object()) secret["data"] = json::object();
    for (const auto& [k, v] : secret["stringData"].items()) {
      secret["data"][k] = Base64Encode(v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  secret.erase("stringData");
}

json WithoutMetadata(json obj, bool drop_status) {
  obj.erase("metadata");
  obj.erase("apiVersion");
  obj.erase("kind");
  if (drop_status) obj.erase("status");
  return obj;
}

json CrdStatus(const json& crd) {
  json names = crd.value("/spec/names"_json_pointer, json::object());
  std::string kind = names.value("kind", "");
  if (!names.contains("singular")) {
    std::string s;
    for (char c : kind) s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    names["singular"] = s;
  }
  if (!names.contains("listKind")) names["listKind"] = kind + "List";
  std::string storage;
  for (const auto& v : crd.value("/spec/versions"_json_pointer, json::array())) {
    if (v.value("storage", false)) storage = v.value("name", "");
  }
  std::string now = NowTimestamp();
  return {{"acceptedNames", names},
          {"storedVersions", json::array({storage})},
          {"conditions", json::array({{{"type", "NamesAccepted"},
                                       {"status", "True"},
                                       {"reason", "NoConflicts"},
                                       {"message", "no conflicts found"},
                                       {"lastTransitionTime", now}},
                                      {{"type", "Established"},
                                       {"status", "True"},
                                       {"reason", "InitialNamesAccepted"},
                                       {"message", "the initial names have been accepted"},
                                       {"lastTransitionTime", now}}})}};
}

// Applies the structural schema of a custom resource; returns an error response or nullopt.
std::optional<HttpResponse> ApplyCustomSchema(const HttpRequest& request, const ResourceType& type,
                                              const std::string& name, json& obj,
                                              HttpResponse* ok) {
  if (!type.is_custom || !type.schema.is_object()) return std::nullopt;
  SchemaOutcome outcome = ApplySchema(obj, type.schema);
  std::string mode = request.Query("fieldValidation");
  if (!outcome.unknown_fields.empty()) {
    if (mode == "Strict") {
      std::string message = type.kind + " in version \"" + type.version +
                            "\" cannot be handled as a " + type.kind + ": strict decoding error: ";
      for (size_t i = 0; i < outcome.unknown_fields.size(); ++i) {
        message +=
            (i ? ", " : "") + std::string("unknown field \"") + outcome.unknown_fields[i] + "\"";
      }
      return ErrorResponse(BadRequestError(message));
    }
    if (mode != "Ignore") {
      for (const auto& f : outcome.unknown_fields)
        ok->headers.emplace_back("Warning", "299 - \"unknown field \\\"" + f + "\\\"\"");
    }
  }
  if (!outcome.causes.empty()) return ErrorResponse(InvalidError(type, name, outcome.causes));
  return std::nullopt;
}

}  // namespace

HttpResponse ApiServer::Create(const HttpRequest& request, const Target& target) {
  const ResourceType& type = *target.type;
  json body;
  ApiError error;
  if (!ParseBody(request.body, &body, &error)) return ErrorResponse(error);
  if (!body.is_object())
    return ErrorResponse(BadRequestError("the request body must be a JSON object"));
  if (body.contains("kind") && body["kind"] != type.kind) {
    return ErrorResponse(BadRequestError("the kind \"" + body.value("kind", "") +
                                         "\" of the object does not match the " + "resource " +
                                         type.qualified_resource() + " (kind " + type.kind + ")"));
  }
  if (!body.contains("metadata") || !body["metadata"].is_object())
    body["metadata"] = json::object();
  std::lock_guard<std::mutex> lock(mu_);
  json& meta = body["metadata"];
  std::string name = meta.value("name", "");
  if (name.empty() && !meta.value("generateName", "").empty())
    name = meta.value("generateName", "") + RandomSuffix();
  if (name.empty()) {
    return ErrorResponse(
        InvalidError(type, "",
                     json::array({Cause("FieldValueRequired", "metadata.name",
                                        "Required value: name or generateName is required")})));
  }
  meta["name"] = name;
  std::string ns;
  if (type.namespaced) {
    ns = meta.value("namespace", "");
    if (ns.empty()) ns = target.ns;
    if (ns.empty())
      return ErrorResponse(
          BadRequestError("a namespace is required to create " + type.qualified_resource()));
    if (!target.ns.empty() && ns != target.ns) {
      return ErrorResponse(BadRequestError(
          "the namespace of the provided object does not match the namespace sent on the request"));
    }
    bool terminating = false;
    if (!NamespaceExistsLocked(ns, &terminating)) {
      return ErrorResponse({404,
                            "NotFound",
                            "namespaces \"" + ns + "\" not found",
                            {{"name", ns}, {"kind", "namespaces"}}});
    }
    if (terminating) {
      return ErrorResponse({403,
                            "Forbidden",
                            type.resource + " \"" + name +
                                "\" is forbidden: unable to create new content in namespace " + ns +
                                " because it is being terminated",
                            {{"name", name}, {"kind", type.resource}}});
    }
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  std::string name_problem = ValidateObjectName(type, name);
  if (!name_problem.empty()) {
    return ErrorResponse(InvalidError(
        type, name, json::array({Cause("FieldValueInvalid", "metadata.name", name_problem)})));
  }
  std::string key = ObjectKey(ns, name);
  if (Lookup(type, ns, name)) return ErrorResponse(AlreadyExistsError(type, name));

  body = ToStorage(type, body);
  json& m = body["metadata"];
  m["uid"] = RandomHex(4) + "-" + RandomHex(2) + "-" + RandomHex(2) + "-" + RandomHex(2) + "-" +
             RandomHex(6);
  m["creationTimestamp"] = NowTimestamp();
  for (const char* k :
       {"deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "selfLink"})
    m.erase(k);
  if (type.tracks_generation)
    m["generation"] = 1;
  else
    m.erase("generation");
  if (type.has_status) body.erase("status");
  if (type.resource == "pods") body["status"] = {{"phase", "Pending"}, {"qosClass", "BestEffort"}};
  if (type.resource == "secrets") FoldStringData(body);
  ApplyBuiltinDefaults(type, body);
  if (type.resource == "services") {
    json& spec = body["spec"];
    std::string ip = spec.value("clusterIP", "");
    if (ip.empty()) {
      if (next_cluster_ip_ >= options_.service_ip_count) {
        return ErrorResponse(InvalidError(
            type, name,
            json::array({Cause("FieldValueInvalid", "spec.clusterIP",
                               "the service cluster IP range is exhausted")})));
      }
      uint32_t a = options_.service_ip_base + next_cluster_ip_++;
      ip = std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
           std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
      spec["clusterIP"] = ip;
    }
    spec["clusterIPs"] = json::array({ip});
    body["status"] = {{"loadBalancer", json::object()}};
  }
  HttpResponse ok = JsonResponse(201, nullptr);
  if (auto bad = ApplyCustomSchema(request, type, name, body, &ok)) return *bad;
  json causes = ValidateBuiltin(type, body);
  if (!causes.empty()) return ErrorResponse(InvalidError(type, name, causes));
  if (type.resource == "customresourcedefinitions") {
    std::string crd_error;
    ResourceTypesFromCrd(body, &crd_error);
    if (!crd_error.empty()) {
      auto colon = crd_error.find(": ");
      return ErrorResponse(
          InvalidError(type, name,
                       json::array({Cause("FieldValueInvalid", crd_error.substr(0, colon),
                                          crd_error.substr(colon + 2))})));
    }
    body["status"] = CrdStatus(body);
  }
  const json& stored = CommitLocked(type, key, std::move(body), "ADDED", nullptr);
  json result = FromStorage(type, stored);
  if (type.resource == "customresourcedefinitions") RegisterCrdLocked(stored);
  if (type.resource == "namespaces") {
    auto sa_type = FindType("", "v1", "serviceaccounts");
    json sa = {{"apiVersion", "v1"},
               {"kind", "ServiceAccount"},
               {"metadata",
                {{"name", "default"},
                 {"namespace", name},
                 {"uid", RandomHex(16)},
                 {"creationTimestamp", NowTimestamp()}}}};
    CommitLocked(*sa_type, ObjectKey(name, "default"), sa, "ADDED", nullptr);
  }
  ok.body = result.dump();
  return ok;
}

HttpResponse ApiServer::Update(const HttpRequest& request, const Target& target) {
  json body;
  ApiError error;
  if (!ParseBody(request.body, &body, &error)) return ErrorResponse(error);
  if (!body.is_object())
    return ErrorResponse(BadRequestError("the request body must be a JSON object"));
  std::lock_guard<std::mutex> lock(mu_);
  if (target.subresource != "scale") return UpdateLocked(request, target, std::move(body));
  json* stored = Lookup(*target.type, target.ns, target.name);
  if (!stored) return ErrorResponse(NotFoundError(*target.type, target.name));
  json obj = FromStorage(*target.type, *stored);
  const json* replicas = FindDottedPath(body, ".spec.replicas");
  if (!replicas || !replicas->is_number_integer() || replicas->get<long>() < 0) {
    return ErrorResponse(
        InvalidError(*target.type, target.name,
                     json::array({Cause("FieldValueInvalid", "spec.replicas",
                                        "Invalid value: must be a non-negative integer")})));
  }
  SetDottedPath(obj, target.type->spec_replicas_path, *replicas);
  std::string rv = body.value("/metadata/resourceVersion"_json_pointer, "");
  if (!rv.empty()) obj["metadata"]["resourceVersion"] = rv;
  Target main = target;
  main.subresource.clear();
  HttpResponse r = UpdateLocked(request, main, std::move(obj));
  if (r.status == 200) r.body = ScaleOf(*target.type, json::parse(r.body)).dump();
  return r;
}

HttpResponse ApiServer::UpdateLocked(const HttpRequest& request, const Target& target,
                                     json object) {
  const ResourceType& type = *target.type;
  json* stored = Lookup(type, target.ns, target.name);
  if (!stored) return ErrorResponse(NotFoundError(type, target.name));
  const json old = *stored;
  if (!object.contains("metadata") || !object["metadata"].is_object())
    object["metadata"] = json::object();
  std::string body_name = object["metadata"].value("name", "");
  if (!body_name.empty() && body_name != target.name) {
    return ErrorResponse(BadRequestError("the name of the object (" + body_name +
                                         ") does not match the name on the URL (" + target.name +
                                         ")"));
  }
  std::string rv = object["metadata"].value("resourceVersion", "");
  std::string old_rv = old["metadata"].value("resourceVersion", "");
  if (!rv.empty() && rv != old_rv) {
    return ErrorResponse(
        ConflictError(type, target.name,
                      "the object has been modified; please apply your changes to the latest "
                      "version and try again"));
  }
  if (rv.empty() && !type.allow_unconditional_update && target.subresource.empty()) {
    return ErrorResponse(
        InvalidError(type, target.name,
                     json::array({Cause("FieldValueInvalid", "metadata.resourceVersion",
                                        "Invalid value: 0x0: must be specified for an update")})));
  }
  object = ToStorage(type, object);
  json merged;
  if (target.subresource == "status") {
    merged = old;
    if (object.contains("status"))
      merged["status"] = object["status"];
    else
      merged.erase("status");
  } else if (target.subresource == "finalize") {
    merged = old;
    merged["spec"]["finalizers"] = object.value("/spec/finalizers"_json_pointer, json::array());
  } else {
    merged = object;
    if (type.has_status) {
      if (old.contains("status"))
        merged["status"] = old["status"];
      else
        merged.erase("status");
    }
  }
  json& meta = merged["metadata"];
  for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp",
                        "deletionGracePeriodSeconds", "generation"}) {
    if (old["metadata"].contains(k))
      meta[k] = old["metadata"][k];
    else
      meta.erase(k);
  }
  meta["name"] = target.name;
  if (type.namespaced)
    meta["namespace"] = target.ns;
  else
    meta.erase("namespace");
  if (old["metadata"].contains("deletionTimestamp")) {
    json old_f = old["metadata"].value("finalizers", json::array());
    for (const auto& f : meta.value("finalizers", json::array())) {
      if (std::find(old_f.begin(), old_f.end(), f) == old_f.end()) {
        return ErrorResponse(
            InvalidError(type, target.name,
                         json::array({Cause("FieldValueForbidden", "metadata.finalizers",
                                            "Forbidden: no new finalizers can be added if the "
                                            "object is being deleted, found new finalizers [" +
                                                f.get<std::string>() + "]")})));
      }
    }
  }
  if (type.resource == "secrets") FoldStringData(merged);
  ApplyBuiltinDefaults(type, merged);
  HttpResponse ok = JsonResponse(200, nullptr);
  if (auto bad = ApplyCustomSchema(request, type, target.name, merged, &ok)) return *bad;
  json causes = ValidateBuiltin(type, merged);
  if (!causes.empty()) return ErrorResponse(InvalidError(type, target.name, causes));
  if (type.resource == "customresourcedefinitions") {
    std::string crd_error;
    ResourceTypesFromCrd(merged, &crd_error);
    if (!crd_error.empty()) {
      auto colon = crd_error.find(": ");
      return ErrorResponse(
          InvalidError(type, target.name,
                       json::array({Cause("FieldValueInvalid", crd_error.substr(0, colon),
                                          crd_error.substr(colon + 2))})));
    }
    if (target.subresource.empty()) merged["status"] = CrdStatus(merged);
  }
  // Schema pruning rebuilt `merged`, so `meta` may dangle: look the metadata up again.
  json& final_meta = merged["metadata"];
  if (type.tracks_generation && target.subresource != "status" &&
      WithoutMetadata(merged, type.has_status) != WithoutMetadata(old, type.has_status)) {
    final_meta["generation"] = old["metadata"].value("generation", 0L) + 1;
  }
  final_meta["resourceVersion"] = old_rv;
  if (merged == old) {
    ok.body = FromStorage(type, old).dump();
    return ok;
  }
  std::string key = ObjectKey(type.namespaced ? target.ns : "", target.name);
  if (final_meta.contains("deletionTimestamp") &&
      final_meta.value("finalizers", json::array()).empty()) {
    (*stored) = merged;
    json removed = RemoveLocked(type, key);
    ok.body = FromStorage(type, removed).dump();
    return ok;
  }
  const json& result = CommitLocked(type, key, std::move(merged), "MODIFIED", old);
  if (type.resource == "customresourcedefinitions") RegisterCrdLocked(result);
  ok.body = FromStorage(type, result).dump();
  return ok;
}

HttpResponse ApiServer::Patch(const HttpRequest& request, const Target& target) {
  const ResourceType& type = *target.type;
  std::string content_type = request.Header("content-type");
  content_type = content_type.substr(0, content_type.find(';'));
  if (content_type == "application/apply-patch+yaml" ||
      content_type == "application/apply-patch+cbor") {
    return ErrorResponse(
        UnsupportedMediaTypeError("server-side apply (" + content_type +
                                  ") is not supported by the featureforge harness API server; use "
                                  "kubectl apply without --server-side"));
  }
  if (content_type == "application/strategic-merge-patch+json" && type.is_custom) {
    return ErrorResponse(UnsupportedMediaTypeError(
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json (strategic merge patch is not "
        "supported for "
        "custom resources)"));
  }
  if (content_type != "application/json-patch+json" &&
      content_type != "application/merge-patch+json" &&
      content_type != "application/strategic-merge-patch+json") {
    return ErrorResponse(UnsupportedMediaTypeError(
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json"));
  }
  json patch;
  ApiError error;
  if (!ParseBody(request.body, &patch, &error)) return ErrorResponse(error);
  std::lock_guard<std::mutex> lock(mu_);
  json* stored = Lookup(type, target.ns, target.name);
  if (!stored) return ErrorResponse(NotFoundError(type, target.name));
  json current = FromStorage(type, *stored);
  bool scale = target.subresource == "scale";
  json base = scale ? ScaleOf(type, current) : current;
  std::string problem;
  if (content_type == "application/json-patch+json") {
    if (!ApplyJsonPatch(base, patch, &problem)) return ErrorResponse({422, "Invalid", problem, {}});
  } else if (content_type == "application/merge-patch+json") {
    if (!patch.is_object())
      return ErrorResponse(BadRequestError("merge patch: the patch must be a JSON object"));
    base.merge_patch(patch);
  } else if (!ApplyStrategicMergePatch(base, patch, &problem)) {
    return ErrorResponse(BadRequestError(problem));
  }
  Target next = target;
  if (scale) {
    const json* replicas = FindDottedPath(base, ".spec.replicas");
    if (!replicas || !replicas->is_number_integer() || replicas->get<long>() < 0) {
      return ErrorResponse(
          InvalidError(type, target.name,
                       json::array({Cause("FieldValueInvalid", "spec.replicas",
                                          "Invalid value: must be a non-negative integer")})));
    }
    SetDottedPath(current, type.spec_replicas_path, *replicas);
    base = current;
    next.subresource.clear();
  }
  HttpResponse r = UpdateLocked(request, next, std::move(base));
  if (scale && r.status == 200) r.body = ScaleOf(type, json::parse(r.body)).dump();
  return r;
}

json ApiServer::ScaleOf(const ResourceType& type, const json& obj) const {
  const json* spec_replicas = FindDottedPath(obj, type.spec_replicas_path);
  const json* status_replicas = FindDottedPath(obj, type.status_replicas_path);
  std::string selector;
  if (type.resource == "deployments") {
    std::string error;
    auto s =
        LabelSelector::FromObject(obj.value("/spec/selector"_json_pointer, json::object()), &error);
    if (s) selector = s->ToString();
  } else if (!type.label_selector_path.empty()) {
    const json* sel = FindDottedPath(obj, type.label_selector_path);
    if (sel && sel->is_string()) selector = sel->get<std::string>();
  }
  json meta = obj["metadata"];
  json out_meta = json::object();
  for (const char* k : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}) {
    if (meta.contains(k)) out_meta[k] = meta[k];
  }
  json status = {
      {"replicas", status_replicas && status_replicas->is_number() ? *status_replicas : json(0)}};
  if (!selector.empty()) status["selector"] = selector;
  return {{"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata", out_meta},
          {"spec",
           {{"replicas", spec_replicas && spec_replicas->is_number() ? *spec_replicas : json(0)}}},
          {"status", status}};
}

HttpResponse ApiServer::Delete(const HttpRequest& request, const Target& target) {
  json options = json::object();
  if (!request.body.empty()) {
    ApiError error;
    if (!ParseBody(request.body, &options, &error)) return ErrorResponse(error);
  }
  std::string propagation = options.value("propagationPolicy", request.Query("propagationPolicy"));
  if (options.value("orphanDependents", false)) propagation = "Orphan";
  std::optional<long> grace;
  if (options.contains("gracePeriodSeconds") && options["gracePeriodSeconds"].is_number()) {
    grace = options["gracePeriodSeconds"].get<long>();
  } else if (!request.Query("gracePeriodSeconds").empty()) {
    try {
      grace = std::stol(request.Query("gracePeriodSeconds"));
    } catch (const std::exception&) {
      return ErrorResponse(BadRequestError("gracePeriodSeconds: invalid value"));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  json* stored = Lookup(*target.type, target.ns, target.name);
  if (!stored) return ErrorResponse(NotFoundError(*target.type, target.name));
  const json pre = options.value("preconditions", json::object());
  std::string uid = (*stored)["metadata"].value("uid", "");
  std::string rv = (*stored)["metadata"].value("resourceVersion", "");
  if (pre.contains("uid") && pre["uid"].is_string() && pre["uid"] != uid) {
    return ErrorResponse(
        ConflictError(*target.type, target.name,
                      "Precondition failed: UID in precondition: " + pre["uid"].get<std::string>() +
                          ", UID in object meta: " + uid));
  }
  if (pre.contains("resourceVersion") && pre["resourceVersion"].is_string() &&
      pre["resourceVersion"] != rv) {
    return ErrorResponse(ConflictError(*target.type, target.name,
                                       "Precondition failed: ResourceVersion in precondition: " +
                                           pre["resourceVersion"].get<std::string>() +
                                           ", ResourceVersion in object meta: " + rv));
  }
  bool removed = false;
  json result =
      DeleteLocked(target.type, ObjectKey(target.type->namespaced ? target.ns : "", target.name),
                   propagation, grace, &removed);
  return JsonResponse(200, FromStorage(*target.type, result));
}

HttpResponse ApiServer::DeleteCollection(const HttpRequest& request, const Target& target) {
  std::string error;
  auto labels = LabelSelector::Parse(request.Query("labelSelector"), &error);
  if (!labels) return ErrorResponse(BadRequestError(error));
  auto fields = FieldSelector::Parse(request.Query("fieldSelector"), &error);
  if (!fields) return ErrorResponse(BadRequestError(error));
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> keys;
  for (const auto& [key, obj] : objects_[target.type->storage_key()]) {
    if (!target.ns.empty() && obj["metadata"].value("namespace", "") != target.ns) continue;
    json view = FromStorage(*target.type, obj);
    if (labels->Matches(view["metadata"].value("labels", json::object())) && fields->Matches(view))
      keys.push_back(key);
  }
  json items = json::array();
  for (const auto& key : keys) {
    bool removed = false;
    items.push_back(
        FromStorage(*target.type, DeleteLocked(target.type, key, request.Query("propagationPolicy"),
                                               std::nullopt, &removed)));
  }
  return JsonResponse(200, {{"kind", target.type->list_kind},
                            {"apiVersion", target.type->api_version()},
                            {"metadata", {{"resourceVersion", std::to_string(rv_)}}},
                            {"items", items}});
}

json ApiServer::DeleteLocked(const TypePtr& type, const std::string& key,
                             const std::string& propagation, std::optional<long> grace_seconds,
                             bool* removed) {
  *removed = false;
  auto& bucket = objects_[type->storage_key()];
  auto it = bucket.find(key);
  if (it == bucket.end()) return nullptr;
  json obj = it->second;
  std::string uid = obj["metadata"].value("uid", "");
  if (propagation == "Orphan") {
    for (auto& [skey, sbucket] : objects_) {
      TypePtr stype = StorageType(skey);
      if (!stype) continue;
      std::vector<std::string> touched;
      for (auto& [okey, other] : sbucket) {
        json refs = other["metadata"].value("ownerReferences", json::array());
        json kept = json::array();
        for (const auto& ref : refs) {
          if (ref.value("uid", "") != uid) kept.push_back(ref);
        }
        if (kept.size() != refs.size()) touched.push_back(okey);
      }
      for (const auto& okey : touched) {
        json before = sbucket[okey];
        json after = before;
        json kept = json::array();
        for (const auto& ref : after["metadata"]["ownerReferences"]) {
          if (ref.value("uid", "") != uid) kept.push_back(ref);
        }
        if (kept.empty())
          after["metadata"].erase("ownerReferences");
        else
          after["metadata"]["ownerReferences"] = kept;
        CommitLocked(*stype, okey, std::move(after), "MODIFIED", std::move(before));
      }
    }
  }
  json& meta = obj["metadata"];
  bool deleting = meta.contains("deletionTimestamp");
  if (type->resource == "pods" && !obj.value("/spec/nodeName"_json_pointer, "").empty()) {
    long grace =
        grace_seconds.value_or(obj.value("/spec/terminationGracePeriodSeconds"_json_pointer, 30L));
    if (grace > 0) {
      if (!deleting) {
        meta["deletionTimestamp"] = FormatTimestamp(std::time(nullptr) + grace);
        meta["deletionGracePeriodSeconds"] = grace;
        json old = it->second;
        return CommitLocked(*type, key, std::move(obj), "MODIFIED", std::move(old));
      }
      return obj;
    }
  }
  json finalizers = meta.value("finalizers", json::array());
  bool changed = false;
  if (propagation == "Foreground" &&
      std::find(finalizers.begin(), finalizers.end(), "foregroundDeletion") == finalizers.end()) {
    finalizers.push_back("foregroundDeletion");
    meta["finalizers"] = finalizers;
    changed = true;
  }
  if (type->resource == "namespaces") {
    if (!deleting) meta["deletionTimestamp"] = NowTimestamp();
    obj["status"]["phase"] = "Terminating";
    gc_dirty_ = true;
    if (!deleting || changed) {
      json old = it->second;
      return CommitLocked(*type, key, std::move(obj), "MODIFIED", std::move(old));
    }
    return obj;
  }
  if (!finalizers.empty()) {
    if (!deleting) {
      meta["deletionTimestamp"] = NowTimestamp();
      meta["deletionGracePeriodSeconds"] = 0;
      changed = true;
    }
    if (!changed) return obj;
    json old = it->second;
    gc_dirty_ = true;
    return CommitLocked(*type, key, std::move(obj), "MODIFIED", std::move(old));
  }
  *removed = true;
  return RemoveLocked(*type, key);
}

}  // namespace ffharness
