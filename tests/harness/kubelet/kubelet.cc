#include "kubelet.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "certs.h"
#include "featureforge/k8s/errors.h"
#include "tables.h"

namespace ffharness::kubelet {
namespace {

namespace k8s = featureforge::k8s;
using featureforge::Result;
using featureforge::Status;

const k8s::ResourceType& NodesType() {
  static const k8s::ResourceType kNodes{"", "v1", "nodes", "Node", false};
  return kNodes;
}

std::string Now() { return FormatTimestamp(std::time(nullptr)); }

void Log(const std::string& line) { std::cerr << "ff-kubelet: " << line << std::endl; }

std::string FieldRefValue(const json& pod, const std::string& pod_ip, const std::string& path) {
  const json& meta = pod["metadata"];
  if (path == "metadata.name") return meta.value("name", "");
  if (path == "metadata.namespace") return meta.value("namespace", "");
  if (path == "metadata.uid") return meta.value("uid", "");
  if (path == "spec.nodeName") return pod.value("/spec/nodeName"_json_pointer, "");
  if (path == "spec.serviceAccountName")
    return pod.value("/spec/serviceAccountName"_json_pointer, "");
  if (path == "status.podIP" || path == "status.podIPs") return pod_ip;
  if (path == "status.hostIP") return "127.0.0.1";
  for (const char* field : {"labels", "annotations"}) {
    std::string prefix = std::string("metadata.") + field + "['";
    if (path.rfind(prefix, 0) == 0 && path.size() > prefix.size() + 2) {
      std::string key = path.substr(prefix.size(), path.size() - prefix.size() - 2);
      return meta.value(field, json::object()).value(key, "");
    }
  }
  return "";
}

}  // namespace

ProcessKubelet::ProcessKubelet(std::shared_ptr<k8s::Client> client, KubeletOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

ProcessKubelet::~ProcessKubelet() { Stop(); }

Status ProcessKubelet::Start() {
  std::error_code ec;
  std::filesystem::create_directories(options_.root_dir + "/pods", ec);
  if (ec) return Status::IOError("cannot create " + options_.root_dir + "/pods: " + ec.message());
  RegisterNode();
  pods_ = std::make_unique<featureforge::runtime::Informer>(
      featureforge::runtime::MakeClientListWatcher(client_, k8s::resources::Pods()));
  auto enqueue = [this](const featureforge::runtime::ObjectPtr& obj) {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_.insert(k8s::ObjectKey::Of(*obj).ToString());
    cv_.notify_all();
  };
  pods_->AddEventHandlers(
      {enqueue, [enqueue](const auto&, const auto& obj) { enqueue(obj); }, enqueue});
  pods_->Start();
  loop_ = std::thread([this] { Loop(); });
  return Status::OK();
}

void ProcessKubelet::Stop() {
  if (stop_.exchange(true)) return;
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  if (pods_) pods_->Stop();
  for (auto& [key, state] : states_) KillAll(state, SIGTERM);
  auto deadline = Clock::now() + std::chrono::seconds(5);
  for (auto& [key, state] : states_) {
    for (auto& c : state.containers) {
      while (c.pid > 0) {
        int status = 0;
        if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
          c.pid = -1;
        } else if (Clock::now() > deadline) {
          kill(-c.pid, SIGKILL);
          waitpid(c.pid, &status, 0);
          c.pid = -1;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    }
  }
}

void ProcessKubelet::RegisterNode() {
  json node = {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata",
       {{"name", options_.node_name},
        {"labels", {{"kubernetes.io/hostname", options_.node_name}, {"kubernetes.io/os", "linux"}}},
        {"annotations", {{"harness.featureforge.dev/pod-log-dir", options_.root_dir + "/pods"}}}}}};
  auto created = client_->Create(NodesType(), node);
  if (!created.ok() && k8s::IsAlreadyExists(created.status())) {
    auto patched = client_->Patch(NodesType(), "", options_.node_name, k8s::PatchType::kMerge,
                                  {{"metadata", node["metadata"]}});
    if (!patched.ok()) Log("cannot update node: " + patched.status().ToString());
  } else if (!created.ok()) {
    Log("cannot register node: " + created.status().ToString());
  }
  json status = {
      {"status",
       {{"conditions", json::array({{{"type", "Ready"},
                                     {"status", "True"},
                                     {"reason", "KubeletReady"},
                                     {"message", "process kubelet is posting ready status"},
                                     {"lastHeartbeatTime", Now()},
                                     {"lastTransitionTime", Now()}}})},
        {"addresses", json::array({{{"type", "InternalIP"}, {"address", "127.0.0.1"}},
                                   {{"type", "Hostname"}, {"address", options_.node_name}}})},
        {"nodeInfo",
         {{"kubeletVersion", "v1.32.0-ffharness"},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"},
          {"containerRuntimeVersion", "process://"}}}}}};
  auto patched =
      client_->Patch(NodesType(), "", options_.node_name, k8s::PatchType::kMerge, status, "status");
  if (!patched.ok()) Log("cannot report node status: " + patched.status().ToString());
}

void ProcessKubelet::Emit(const json& pod, const std::string& type, const std::string& reason,
                          const std::string& message, const std::string& container) {
  const json& meta = pod["metadata"];
  json involved = {{"apiVersion", "v1"},
                   {"kind", "Pod"},
                   {"name", meta.value("name", "")},
                   {"namespace", meta.value("namespace", "")},
                   {"uid", meta.value("uid", "")}};
  if (!container.empty()) involved["fieldPath"] = "spec.containers{" + container + "}";
  std::string now = Now();
  json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata",
                 {{"name", meta.value("name", "") + "." + RandomHex(8)},
                  {"namespace", meta.value("namespace", "")}}},
                {"involvedObject", involved},
                {"reason", reason},
                {"message", message},
                {"type", type},
                {"source", {{"component", "kubelet"}, {"host", options_.node_name}}},
                {"reportingComponent", "kubelet"},
                {"reportingInstance", options_.node_name},
                {"firstTimestamp", now},
                {"lastTimestamp", now},
                {"count", 1}};
  auto created = client_->Create(k8s::resources::Events(), event);
  if (!created.ok()) Log("cannot record event " + reason + ": " + created.status().ToString());
}

void ProcessKubelet::Loop() {
  while (!stop_) {
    std::set<std::string> keys;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200),
                   [this] { return stop_ || !dirty_.empty(); });
      keys.swap(dirty_);
    }
    if (stop_) return;
    for (const auto& key : keys) SyncPod(key);
    for (auto it = states_.begin(); it != states_.end();) {
      Tick(it->second);
      bool running = false;
      for (const auto& c : it->second.containers) running |= c.pid > 0;
      bool gone = !pods_->store().Get(k8s::ObjectKey::Parse(it->first));
      if (gone && !running) {
        used_ips_.erase(it->second.pod_ip);
        it = states_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void ProcessKubelet::SyncPod(const std::string& key) {
  auto pod = pods_->store().Get(k8s::ObjectKey::Parse(key));
  auto it = states_.find(key);
  if (!pod) {
    if (it != states_.end() && !it->second.terminating) {
      it->second.terminating = true;
      it->second.delete_sent = true;
      it->second.kill_deadline = Clock::now() + std::chrono::seconds(2);
      KillAll(it->second, SIGTERM);
    }
    return;
  }
  std::string uid = (*pod)["metadata"].value("uid", "");
  if (it != states_.end() && it->second.uid != uid) {
    KillAll(it->second, SIGKILL);
    for (auto& c : it->second.containers) {
      int status = 0;
      if (c.pid > 0) waitpid(c.pid, &status, 0);
    }
    used_ips_.erase(it->second.pod_ip);
    states_.erase(it);
    it = states_.end();
  }
  std::string node = pod->value("/spec/nodeName"_json_pointer, "");
  if (node.empty()) {
    std::string scheduler = pod->value("/spec/schedulerName"_json_pointer, "default-scheduler");
    if (scheduler != "default-scheduler" || (*pod)["metadata"].contains("deletionTimestamp"))
      return;
    // There is no scheduler in the harness: the kubelet binds pods to its node itself.
    auto bound = client_->Patch(k8s::resources::Pods(), (*pod)["metadata"].value("namespace", ""),
                                (*pod)["metadata"].value("name", ""), k8s::PatchType::kMerge,
                                {{"spec", {{"nodeName", options_.node_name}}}});
    if (!bound.ok()) {
      Log("cannot bind pod " + key + ": " + bound.status().ToString());
    } else {
      Emit(*pod, "Normal", "Scheduled",
           "Successfully assigned " + key + " to " + options_.node_name);
    }
    return;
  }
  if (node != options_.node_name) return;
  PodState& state = states_[key];
  if (state.uid.empty()) {
    state.ns = (*pod)["metadata"].value("namespace", "");
    state.name = (*pod)["metadata"].value("name", "");
    state.uid = uid;
    state.dir = options_.root_dir + "/pods/" + state.ns + "_" + state.name + "_" + uid;
  }
  state.pod = *pod;
  if ((*pod)["metadata"].contains("deletionTimestamp") && !state.terminating) {
    state.terminating = true;
    long grace = (*pod)["metadata"].value("deletionGracePeriodSeconds", 30L);
    state.kill_deadline = Clock::now() + std::chrono::seconds(grace);
    for (const auto& c : state.containers) {
      if (c.pid > 0) Emit(state.pod, "Normal", "Killing", "Stopping container " + c.name, c.name);
    }
    KillAll(state, SIGTERM);
  }
  std::string phase = pod->value("/status/phase"_json_pointer, "Pending");
  if (!state.started && !state.failed && !state.terminating && phase != "Succeeded" &&
      phase != "Failed") {
    StartPod(state);
  }
}

std::string ProcessKubelet::AllocateIp() {
  while (true) {
    uint32_t n = next_ip_++;
    uint32_t x = 1 + (n / 254) % 254, y = 1 + n % 254;
    std::string ip = options_.ip_prefix + "." + std::to_string(x) + "." + std::to_string(y);
    if (used_ips_.insert(ip).second) return ip;
  }
}

Result<std::map<std::string, std::string>> ProcessKubelet::ContainerEnv(const PodState& state,
                                                                        const json& container) {
  std::map<std::string, std::string> env;
  const char* path = std::getenv("PATH");
  env["PATH"] = path ? path : "/usr/local/bin:/usr/bin:/bin";
  env["HOSTNAME"] = state.name;
  // What the real kubelet exports for the kubernetes Service, pointing at the API server.
  std::string server = options_.api_server;
  size_t scheme = server.find("://");
  if (scheme != std::string::npos) server = server.substr(scheme + 3);
  size_t colon = server.rfind(':');
  if (colon != std::string::npos) {
    env["KUBERNETES_SERVICE_HOST"] = server.substr(0, colon);
    env["KUBERNETES_SERVICE_PORT"] = server.substr(colon + 1);
  }
  if (!options_.pod_kubeconfig.empty()) env["KUBECONFIG"] = options_.pod_kubeconfig;
  auto get = [&](const k8s::ResourceType& type, const std::string& name, bool optional,
                 json* out) -> Status {
    auto obj = client_->Get(type, state.ns, name);
    if (obj.ok()) {
      *out = *obj;
      return Status::OK();
    }
    if (optional && k8s::IsNotFound(obj.status())) {
      *out = json::object();
      return Status::OK();
    }
    return Status::NotFound(std::string(type.resource == "secrets" ? "secret" : "configmap") +
                            " \"" + name + "\" not found");
  };
  auto values_of = [](const json& obj, bool secret) {
    std::map<std::string, std::string> out;
    const json data = obj.value("data", json::object());
    for (const auto& [k, v] : data.items()) {
      std::string value = v.is_string() ? v.get<std::string>() : "";
      if (secret) {
        std::string decoded;
        if (Base64Decode(value, &decoded)) value = decoded;
      }
      out[k] = value;
    }
    return out;
  };
  for (const auto& from : container.value("envFrom", json::array())) {
    std::string prefix = from.value("prefix", "");
    bool secret = from.contains("secretRef");
    const json ref = secret ? from["secretRef"] : from.value("configMapRef", json::object());
    json obj;
    FF_RETURN_IF_ERROR(get(secret ? k8s::resources::Secrets() : k8s::resources::ConfigMaps(),
                           ref.value("name", ""), ref.value("optional", false), &obj));
    for (const auto& [k, v] : values_of(obj, secret)) env[prefix + k] = v;
  }
  for (const auto& var : container.value("env", json::array())) {
    std::string name = var.value("name", "");
    if (var.contains("value")) {
      env[name] = ExpandVariables(var["value"].get<std::string>(), env);
      continue;
    }
    const json from = var.value("valueFrom", json::object());
    if (from.contains("fieldRef")) {
      env[name] = FieldRefValue(state.pod, state.pod_ip, from["fieldRef"].value("fieldPath", ""));
    } else if (from.contains("configMapKeyRef") || from.contains("secretKeyRef")) {
      bool secret = from.contains("secretKeyRef");
      const json ref = secret ? from["secretKeyRef"] : from["configMapKeyRef"];
      bool optional = ref.value("optional", false);
      json obj;
      FF_RETURN_IF_ERROR(get(secret ? k8s::resources::Secrets() : k8s::resources::ConfigMaps(),
                             ref.value("name", ""), optional, &obj));
      auto values = values_of(obj, secret);
      auto found = values.find(ref.value("key", ""));
      if (found != values.end()) {
        env[name] = found->second;
      } else if (!optional) {
        return Status::NotFound("couldn't find key " + ref.value("key", "") + " in " +
                                (secret ? "Secret " : "ConfigMap ") + state.ns + "/" +
                                ref.value("name", ""));
      }
    } else if (from.contains("resourceFieldRef")) {
      env[name] = "0";  // no resource accounting for local processes
    }
  }
  return env;
}

void ProcessKubelet::StartPod(PodState& state) {
  const json spec = state.pod.value("spec", json::object());
  auto fail = [&](const std::string& reason, const std::string& message) {
    state.failed = true;
    state.reason = reason;
    state.message = message;
    Log("pod " + state.ns + "/" + state.name + " failed: " + message);
    Emit(state.pod, "Warning", reason, message);
    ReportStatus(state);
  };
  if (!spec.value("initContainers", json::array()).empty()) {
    return fail("UnsupportedPodSpec", "init containers are not supported by the process kubelet");
  }
  for (const auto& c : spec.value("containers", json::array())) {
    std::string problem = CheckImage(options_.runtime, c.value("image", ""));
    if (!problem.empty())
      return fail("UnsupportedImage", "container \"" + c.value("name", "") + "\": " + problem);
  }
  if (state.pod_ip.empty()) state.pod_ip = AllocateIp();
  if (state.start_time.empty()) state.start_time = Now();
  if (state.containers.empty()) {
    for (const auto& c : spec.value("containers", json::array())) {
      ContainerState cs;
      cs.name = c.value("name", "");
      cs.spec = c;
      cs.state = {{"waiting", {{"reason", "ContainerCreating"}}}};
      cs.working_dir = c.value("workingDir", state.dir + "/" + cs.name + "/work");
      cs.log_path = state.dir + "/" + cs.name + ".log";
      cs.termination_file = state.dir + "/" + cs.name + "/termination-log";
      state.containers.push_back(std::move(cs));
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(state.dir, ec);
  // Environment first: a missing ConfigMap/Secret keeps the pod Pending (retried), like the
  // kubelet.
  for (auto& c : state.containers) {
    auto env = ContainerEnv(state, c.spec);
    if (!env.ok()) {
      c.state = {{"waiting",
                  {{"reason", "CreateContainerConfigError"}, {"message", env.status().message()}}}};
      ReportStatus(state);
      return;
    }
    auto mounts = PrepareMounts(*client_, state.pod, c.spec, state.dir, options_.root_dir);
    if (!mounts.ok() && mounts.status().code() == featureforge::StatusCode::kNotFound) {
      c.state = {
          {"waiting",
           {{"reason", "CreateContainerConfigError"}, {"message", mounts.status().message()}}}};
      ReportStatus(state);
      return;
    }
    if (!mounts.ok()) return fail("UnsupportedPodSpec", mounts.status().message());
    c.mounts = *mounts;
    c.env = *env;
    for (auto& [k, v] : c.env) {
      // PATH and the kubelet's own KUBECONFIG are host paths, not paths inside the pod: a
      // kubeconfig under /tmp must stay where it is when the pod mounts an emptyDir at /tmp.
      const bool host_kubeconfig =
          k == "KUBECONFIG" && !options_.pod_kubeconfig.empty() && v == options_.pod_kubeconfig;
      if (k != "PATH" && !host_kubeconfig) v = MapMountedPaths(v, c.mounts);
    }
    if (c.spec.contains("workingDir"))
      c.working_dir = MapMountedPaths(c.spec.value("workingDir", ""), c.mounts);
    c.env["FF_TERMINATION_MESSAGE_PATH"] = c.termination_file;
    auto argv = ResolveArgv(options_.runtime, c.spec, c.env);
    if (!argv.ok()) return fail("ContainerCannotRun", argv.status().message());
  }
  for (auto& c : state.containers) {
    if (!StartContainer(state, c)) return;
  }
  state.started = true;
  ReportStatus(state);
}

bool ProcessKubelet::StartContainer(PodState& state, ContainerState& c) {
  auto argv = ResolveArgv(options_.runtime, c.spec, c.env);
  if (!argv.ok()) {
    state.failed = true;
    state.reason = "ContainerCannotRun";
    state.message = argv.status().message();
    ReportStatus(state);
    return false;
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(c.termination_file).parent_path(), ec);
  std::filesystem::remove(c.termination_file, ec);
  if (c.restart_count > 0) std::filesystem::rename(c.log_path, c.log_path + ".previous", ec);
  for (size_t i = 1; i < argv->size(); ++i) (*argv)[i] = MapMountedPaths((*argv)[i], c.mounts);
  auto pid = SpawnProcess(*argv, c.env, c.working_dir, c.log_path);
  if (!pid.ok()) {
    state.failed = true;
    state.reason = "ContainerCannotRun";
    state.message = "container \"" + c.name + "\": " + pid.status().message();
    ReportStatus(state);
    return false;
  }
  c.pid = *pid;
  c.waiting_restart = false;
  c.ready = !c.spec.contains("readinessProbe");
  c.consecutive_probe_failures = 0;
  long delay = c.spec.contains("readinessProbe")
                   ? c.spec["readinessProbe"].value("initialDelaySeconds", 0L)
                   : 0;
  c.next_probe = Clock::now() + std::chrono::seconds(delay);
  c.liveness_failures = 0;
  long live_delay = c.spec.contains("livenessProbe")
                        ? c.spec["livenessProbe"].value("initialDelaySeconds", 0L)
                        : 0;
  c.next_liveness = Clock::now() + std::chrono::seconds(live_delay);
  c.state = {{"running", {{"startedAt", Now()}}}};
  Emit(
      state.pod, "Normal", "Started",
      "Started container " + c.name + " as process " + std::to_string(*pid) + " on " + state.pod_ip,
      c.name);
  Log("started " + state.ns + "/" + state.name + "/" + c.name + " pid " + std::to_string(*pid) +
      " ip " + state.pod_ip);
  return true;
}

void ProcessKubelet::OnExit(PodState& state, ContainerState& c, int wait_status) {
  int exit_code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  std::string message = ReadTail(c.termination_file, 4096);
  if (message.empty() && exit_code != 0 &&
      c.spec.value("terminationMessagePolicy", "File") == "FallbackToLogsOnError") {
    message = ReadTail(c.log_path, 2048);
  }
  json terminated = {{"exitCode", exit_code},
                     {"reason", exit_code == 0 ? "Completed" : "Error"},
                     {"startedAt", c.state.value("/running/startedAt"_json_pointer, Now())},
                     {"finishedAt", Now()},
                     {"containerID", "process://" + std::to_string(c.pid)}};
  if (!message.empty()) terminated["message"] = message;
  if (!WIFEXITED(wait_status)) terminated["signal"] = WTERMSIG(wait_status);
  c.pid = -1;
  c.ready = false;
  std::string policy = state.pod.value("/spec/restartPolicy"_json_pointer, "Always");
  bool restart =
      !state.terminating && (policy == "Always" || (policy == "OnFailure" && exit_code != 0));
  Log(state.ns + "/" + state.name + "/" + c.name + " exited with " + std::to_string(exit_code) +
      (restart ? ", restarting" : ""));
  if (restart) {
    c.last_state = {{"terminated", terminated}};
    ++c.restart_count;
    int delay =
        std::min(options_.restart_backoff_max_seconds, 1 << std::min(c.restart_count - 1, 10));
    c.state = {{"waiting",
                {{"reason", "CrashLoopBackOff"},
                 {"message", "back-off " + std::to_string(delay) +
                                 "s restarting failed container=" + c.name + " pod=" + state.name +
                                 "_" + state.ns + "(" + state.uid + ")"}}}};
    c.waiting_restart = true;
    c.restart_at = Clock::now() + std::chrono::seconds(delay);
    Emit(state.pod, "Warning", "BackOff",
         "Back-off restarting failed container " + c.name + " (exit code " +
             std::to_string(exit_code) + ")",
         c.name);
  } else {
    c.state = {{"terminated", terminated}};
    c.terminated = true;
  }
}

void ProcessKubelet::KillAll(PodState& state, int signal) {
  for (auto& c : state.containers) {
    if (c.pid > 0) kill(-c.pid, signal);
    c.waiting_restart = false;
  }
}

void ProcessKubelet::Tick(PodState& state) {
  for (auto& c : state.containers) {
    if (c.pid <= 0) continue;
    int status = 0;
    if (waitpid(c.pid, &status, WNOHANG) == c.pid) OnExit(state, c, status);
  }
  if (state.terminating) {
    bool running = false;
    for (auto& c : state.containers) running |= c.pid > 0;
    if (running && Clock::now() > state.kill_deadline) KillAll(state, SIGKILL);
    if (!running && !state.delete_sent) {
      state.delete_sent = true;
      ReportStatus(state);
      k8s::DeleteOptions options;
      options.grace_period_seconds = 0;
      options.precondition_uid = state.uid;
      Status deleted = client_->Delete(k8s::resources::Pods(), state.ns, state.name, options);
      if (!deleted.ok() && !k8s::IsNotFound(deleted))
        Log("cannot delete pod: " + deleted.ToString());
    }
    return;
  }
  if (!state.started) {
    if (!state.failed && !state.containers.empty()) StartPod(state);  // e.g. a ConfigMap appeared
    return;
  }
  for (auto& c : state.containers) {
    if (c.waiting_restart && Clock::now() >= c.restart_at) StartContainer(state, c);
    if (c.pid > 0 && c.spec.contains("livenessProbe") && Clock::now() >= c.next_liveness) {
      // A failing liveness probe kills the process; its restart policy decides what comes next.
      const json& probe = c.spec["livenessProbe"];
      if (RunProbe(probe, c.spec, state.pod_ip, c.env, c.working_dir)) {
        c.liveness_failures = 0;
      } else if (++c.liveness_failures >= probe.value("failureThreshold", 3)) {
        Emit(state.pod, "Warning", "Unhealthy",
             "Liveness probe failed; killing container " + c.name, c.name);
        kill(-c.pid, SIGKILL);
        c.liveness_failures = 0;
      }
      c.next_liveness = Clock::now() + std::chrono::seconds(probe.value("periodSeconds", 10L));
    }
    if (c.pid > 0 && c.spec.contains("readinessProbe") && Clock::now() >= c.next_probe) {
      const json& probe = c.spec["readinessProbe"];
      bool ok = RunProbe(probe, c.spec, state.pod_ip, c.env, c.working_dir);
      if (ok) {
        c.consecutive_probe_failures = 0;
        c.ready = true;
      } else if (++c.consecutive_probe_failures >= probe.value("failureThreshold", 3) || !c.ready) {
        c.ready = false;
      }
      c.next_probe = Clock::now() + std::chrono::seconds(probe.value("periodSeconds", 10L));
    }
  }
  ReportStatus(state);
}

json ProcessKubelet::BuildStatus(const PodState& state) const {
  std::string phase = "Pending";
  bool all_ready = !state.containers.empty();
  bool all_done = !state.containers.empty(), all_zero = true;
  for (const auto& c : state.containers) {
    all_ready &= c.ready && c.pid > 0;
    all_done &= c.terminated;
    if (c.terminated && c.state["terminated"].value("exitCode", 0) != 0) all_zero = false;
  }
  if (state.failed)
    phase = "Failed";
  else if (state.started && all_done)
    phase = all_zero ? "Succeeded" : "Failed";
  else if (state.started)
    phase = "Running";
  auto condition = [&](const std::string& type, bool value) {
    std::string status = value ? "True" : "False";
    std::string since = Now();
    const json old_conditions = state.last_status.is_object()
                                    ? state.last_status.value("conditions", json::array())
                                    : json::array();
    for (const auto& old : old_conditions) {
      if (old.value("type", "") == type && old.value("status", "") == status)
        since = old.value("lastTransitionTime", since);
    }
    return json{{"type", type},
                {"status", status},
                {"lastProbeTime", nullptr},
                {"lastTransitionTime", since}};
  };
  json status = {
      {"phase", phase},
      {"hostIP", "127.0.0.1"},
      {"hostIPs", json::array({{{"ip", "127.0.0.1"}}})},
      {"qosClass", "BestEffort"},
      {"conditions",
       json::array({condition("PodScheduled", true), condition("Initialized", true),
                    condition("ContainersReady", all_ready), condition("Ready", all_ready)})}};
  if (!state.pod_ip.empty()) {
    status["podIP"] = state.pod_ip;
    status["podIPs"] = json::array({{{"ip", state.pod_ip}}});
  }
  if (!state.start_time.empty()) status["startTime"] = state.start_time;
  if (state.failed) {
    status["reason"] = state.reason;
    status["message"] = state.message;
  }
  json statuses = json::array();
  for (const auto& c : state.containers) {
    json cs = {{"name", c.name},
               {"image", c.spec.value("image", "")},
               {"imageID", ""},
               {"ready", c.ready},
               {"started", c.pid > 0},
               {"restartCount", c.restart_count},
               {"state", c.state},
               {"lastState", c.last_state.is_null() ? json::object() : c.last_state}};
    if (state.failed) {
      cs["state"] = {{"terminated",
                      {{"exitCode", 128},
                       {"reason", state.reason},
                       {"message", state.message},
                       {"finishedAt", Now()}}}};
    }
    if (c.pid > 0) cs["containerID"] = "process://" + std::to_string(c.pid);
    statuses.push_back(cs);
  }
  if (state.failed && statuses.empty()) {
    for (const auto& c : state.pod.value("/spec/containers"_json_pointer, json::array())) {
      json terminated = {{"exitCode", 128},
                         {"reason", state.reason},
                         {"message", state.message},
                         {"finishedAt", Now()}};
      json cs = {{"name", c.value("name", "")},
                 {"image", c.value("image", "")},
                 {"imageID", ""},
                 {"ready", false},
                 {"started", false},
                 {"restartCount", 0},
                 {"lastState", json::object()}};
      cs["state"] = {{"terminated", terminated}};
      statuses.push_back(cs);
    }
  }
  status["containerStatuses"] = statuses;
  return status;
}

void ProcessKubelet::ReportStatus(PodState& state) {
  json status = BuildStatus(state);
  if (status == state.last_status) return;
  auto patched = client_->Patch(k8s::resources::Pods(), state.ns, state.name,
                                k8s::PatchType::kMerge, {{"status", status}}, "status");
  if (patched.ok()) {
    state.last_status = status;
  } else if (!k8s::IsNotFound(patched.status())) {
    Log("cannot report status of " + state.ns + "/" + state.name + ": " +
        patched.status().ToString());
  }
}

}  // namespace ffharness::kubelet
