// The process kubelet: a client of any API server (through the operator's ff_k8s client and
// informer) that binds unscheduled pods to its node and runs each container of a featureforge
// image as a local process with its own loopback IP.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "featureforge/k8s/client.h"
#include "featureforge/runtime/informer.h"
#include "process_util.h"
#include "volumes.h"

namespace ffharness::kubelet {

struct KubeletOptions {
  std::string node_name = "ff-node";
  std::string root_dir;             // pod logs, working dirs and termination messages live here
  std::string ip_prefix = "127.0";  // pod IPs are <prefix>.X.Y (X >= 1)
  RuntimeConfig runtime;
  int restart_backoff_max_seconds = 10;
  std::string api_server;      // https://host:port: KUBERNETES_SERVICE_HOST/PORT of every pod
  std::string pod_kubeconfig;  // exported as KUBECONFIG to every pod when set
};

class ProcessKubelet {
 public:
  ProcessKubelet(std::shared_ptr<featureforge::k8s::Client> client, KubeletOptions options);
  ~ProcessKubelet();
  // Registers the node and starts watching pods.
  featureforge::Status Start();
  // Kills every process (SIGTERM, then SIGKILL) and stops.
  void Stop();

 private:
  using Clock = std::chrono::steady_clock;
  struct ContainerState {
    std::string name;
    json spec;
    pid_t pid = -1;
    int restart_count = 0;
    bool ready = false;
    bool terminated = false;  // finished and will not restart
    int consecutive_probe_failures = 0;
    Clock::time_point next_probe{};
    Clock::time_point next_liveness{};
    int liveness_failures = 0;
    Clock::time_point restart_at{};
    bool waiting_restart = false;
    json state;       // current containerStatuses[].state
    json last_state;  // containerStatuses[].lastState
    std::string log_path;
    std::string working_dir;
    std::string termination_file;  // host path of terminationMessagePath
    std::map<std::string, std::string> env;
    MountMap mounts;  // mountPath -> host directory
  };
  struct PodState {
    std::string ns, name, uid;
    json pod;
    std::string pod_ip;
    std::string dir;
    std::string start_time;
    bool started = false;
    bool failed = false;  // the kubelet could not run it
    std::string reason, message;
    std::vector<ContainerState> containers;
    bool terminating = false;
    Clock::time_point kill_deadline{};
    bool delete_sent = false;
    json last_status;
  };

  void Loop();
  void SyncPod(const std::string& key);
  void StartPod(PodState& state);
  void Tick(PodState& state);
  bool StartContainer(PodState& state, ContainerState& c);
  void OnExit(PodState& state, ContainerState& c, int wait_status);
  void ReportStatus(PodState& state);
  json BuildStatus(const PodState& state) const;
  featureforge::Result<std::map<std::string, std::string>> ContainerEnv(const PodState& state,
                                                                        const json& container);
  std::string AllocateIp();
  void KillAll(PodState& state, int signal);
  void RegisterNode();
  // A core/v1 Event about a pod (what `kubectl describe pod` lists), best effort.
  void Emit(const json& pod, const std::string& type, const std::string& reason,
            const std::string& message, const std::string& container = "");

  std::shared_ptr<featureforge::k8s::Client> client_;
  KubeletOptions options_;
  std::unique_ptr<featureforge::runtime::Informer> pods_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> dirty_;
  std::map<std::string, PodState> states_;  // by "ns/name"
  std::set<std::string> used_ips_;
  uint32_t next_ip_ = 2;
  std::atomic<bool> stop_{false};
  std::thread loop_;
};

}  // namespace ffharness::kubelet
