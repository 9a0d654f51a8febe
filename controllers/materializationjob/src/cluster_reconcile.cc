// The Kubernetes side of running a MaterializationJob on a ComputeCluster (spec.computeClusterRef):
// finding the cluster's head, resolving the executor env, cancelling, and reporting a missing or
// unready cluster. The head-side steps are in cluster_dispatch.cc; the run path that ties both
// together is reconciler.cc.
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

#include "featureforge/controllers/materializationjob/reconciler.h"
#include "featureforge/k8s/errors.h"
#include "featureforge/runtime/object_util.h"

namespace featureforge::controllers::mj {
namespace {

constexpr DurationMicros kWaitForCluster = 5 * kMicrosPerSecond;

Result<std::string> Base64Decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    int v = value(c);
    if (v < 0) return Status::InvalidArgument("not base64");
    buffer = (buffer << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((buffer >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace

const k8s::ResourceType& ComputeClusters() {
  static const k8s::ResourceType type{"featureforge.dev", "v1alpha1", "computeclusters",
                                      "ComputeCluster", true};
  return type;
}

HeadClientFactory DefaultHeadClientFactory() {
  struct Cache {
    std::mutex mu;
    std::map<std::string, std::shared_ptr<cluster::HeadClient>> clients;
  };
  auto cache = std::make_shared<Cache>();
  return [cache](const std::string& address) {
    std::lock_guard<std::mutex> lock(cache->mu);
    auto& client = cache->clients[address];
    if (!client) client = cluster::NewGrpcHeadClient(address, std::chrono::milliseconds(2000));
    return client;
  };
}

Result<std::shared_ptr<cluster::HeadClient>> MaterializationJobReconciler::ConnectCluster(
    const std::string& ns, const JobSpec& spec) {
  auto cc = deps_.client->Get(ComputeClusters(), ns, spec.compute_cluster);
  if (!cc.ok()) {
    if (k8s::IsNotFound(cc.status())) {
      return Status::NotFound("ComputeCluster " + ns + "/" + spec.compute_cluster +
                              " (spec.computeClusterRef) not found");
    }
    return cc.status().WithContext("get ComputeCluster " + ns + "/" + spec.compute_cluster);
  }
  Json service = nullptr;
  const bool has_endpoint =
      cc->contains("status") && (*cc)["status"].is_object() && (*cc)["status"].contains("head") &&
      (*cc)["status"]["head"].is_object() && !(*cc)["status"]["head"].value("endpoint", "").empty();
  if (!has_endpoint) {
    auto svc =
        deps_.client->Get(k8s::resources::Services(), ns, HeadServiceName(spec.compute_cluster));
    if (svc.ok()) service = *svc;
  }
  FF_ASSIGN_OR_RETURN(std::string address, HeadAddress(*cc, service));
  auto client = deps_.head_clients(address);
  if (!client) return Status::Internal("no head client for " + address);
  return client;
}

Result<std::map<std::string, std::string>> MaterializationJobReconciler::ResolveEnv(
    const std::string& ns, const JobSpec& spec) {
  std::map<std::string, std::string> env;
  const Json list = spec.executor.value("env", Json::array());
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& e = list[i];
    const std::string name = e.value("name", "");
    const std::string field = "spec.executor.env[" + std::to_string(i) + "] (" + name + ")";
    if (name.empty()) return Status::InvalidArgument(field + ": name is required");
    if (!e.contains("valueFrom")) {
      env[name] = e.value("value", "");
      continue;
    }
    const Json& from = e["valueFrom"];
    const bool secret = from.contains("secretKeyRef");
    const bool config_map = from.contains("configMapKeyRef");
    if (!secret && !config_map) {
      return Status::InvalidArgument(
          field +
          ": not supported: only value, valueFrom.secretKeyRef and "
          "valueFrom.configMapKeyRef on a ComputeCluster (there is no pod to refer to)");
    }
    const Json& ref = secret ? from["secretKeyRef"] : from["configMapKeyRef"];
    const std::string ref_name = ref.value("name", ""), key = ref.value("key", "");
    const bool optional = ref.value("optional", false);
    const std::string what = std::string(secret ? "Secret " : "ConfigMap ") + ns + "/" + ref_name;
    auto object = deps_.client->Get(
        secret ? k8s::resources::Secrets() : k8s::resources::ConfigMaps(), ns, ref_name);
    if (!object.ok()) {
      if (k8s::IsNotFound(object.status())) {
        if (optional) continue;
        return Status::Unavailable(field + ": " + what + " not found");
      }
      return object.status().WithContext(field + ": get " + what);
    }
    const Json data = object->value("data", Json::object());
    if (!data.contains(key) || !data[key].is_string()) {
      if (optional) continue;
      return Status::Unavailable(field + ": " + what + " has no key '" + key + "'");
    }
    if (secret) {
      auto decoded = Base64Decode(data[key].get<std::string>());
      if (!decoded.ok())
        return Status::InvalidArgument(field + ": " + what + " key " + key + " is not base64");
      env[name] = *decoded;
    } else {
      env[name] = data[key].get<std::string>();
    }
  }
  return env;
}

Status MaterializationJobReconciler::CancelOnCluster(const std::string& ns, const JobSpec& spec,
                                                     const std::string& head_job) {
  if (head_job.empty()) return Status::OK();
  auto head = ConnectCluster(ns, spec);
  if (!head.ok()) {
    // Without a cluster there is nothing to cancel on it.
    if (head.status().code() == StatusCode::kNotFound) return Status::OK();
    return head.status();
  }
  ClusterRun run;
  run.head_job_id = head_job;
  ClusterDispatch dispatch(head->get(), &run);
  return dispatch.Cancel();
}

Result<runtime::ReconcileResult> MaterializationJobReconciler::WaitForCluster(
    const Json& job, Json status, const std::string& reason, const std::string& message) {
  const TimestampMicros now = deps_.clock->Now();
  const int64_t generation = runtime::GenerationOf(job);
  Json& conditions = status["conditions"];
  const Json* previous = runtime::FindStatusCondition(conditions, "ComputeClusterReady");
  const bool changed = previous == nullptr || previous->value("status", "") != "False" ||
                       previous->value("reason", "") != reason;
  runtime::SetStatusCondition(&conditions,
                              {"ComputeClusterReady", "False", reason, message, generation}, now);
  if (status.value("attempts", 0) == 0) status["phase"] = "Pending";
  status["message"] = message;
  if (changed) Event(job, true, reason, message + "; waiting for it");
  FF_RETURN_IF_ERROR(WriteStatus(job, status));
  return runtime::ReconcileResult{
      false, std::min(kWaitForCluster, std::max(deps_.cluster_poll, kMicrosPerSecond))};
}

}  // namespace featureforge::controllers::mj
