// The harness's kube-proxy: a client of any API server (ff_k8s + informers) that makes Service
// cluster IPs work on one machine. For every port of every Service with a loopback clusterIP
// (the API server's --service-cluster-ip-range, 127.96.0.0/16 in tests) it listens on
// clusterIP:port and forwards each TCP connection to a Running and Ready pod of the Service's
// selector (round robin) at the port's targetPort (number or container port name). Endpoints
// are chosen per connection from the pod cache, so pods coming and going are followed at once.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "featureforge/k8s/client.h"
#include "featureforge/runtime/informer.h"

namespace ffharness::proxy {

using featureforge::k8s::Json;

// One Service port the proxy serves.
struct ServicePort {
  std::string service;  // ns/name
  std::string ns;
  std::string ip;
  int port = 0;
  Json target_port;  // number or name
  std::map<std::string, std::string> selector;
  bool operator==(const ServicePort& o) const {
    return service == o.service && ip == o.ip && port == o.port && target_port == o.target_port &&
           selector == o.selector;
  }
};

// The ports of a Service the proxy can serve: TCP ports of a Service with a selector and a
// clusterIP in 127.0.0.0/8 (other addresses cannot be bound here; they are skipped).
std::vector<ServicePort> PortsOfService(const Json& service);
// "ip:port" of a backend for `port` among `pods` (Running, Ready, podIP set, labels match the
// selector), or nullopt. `cursor` rotates among candidates.
std::optional<std::string> PickEndpoint(const ServicePort& port,
                                        const std::vector<std::shared_ptr<const Json>>& pods,
                                        size_t cursor);

class ServiceProxy {
 public:
  explicit ServiceProxy(std::shared_ptr<featureforge::k8s::Client> client);
  ~ServiceProxy();
  void Start();
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ffharness::proxy
