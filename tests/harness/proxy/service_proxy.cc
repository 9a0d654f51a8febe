#include "service_proxy.h"

#include <boost/asio.hpp>
#include <iostream>
#include <set>

namespace ffharness::proxy {
namespace {

namespace net = boost::asio;
using featureforge::runtime::ObjectPtr;
using net::ip::tcp;

void Log(const std::string& message) { std::cerr << "ff-kube-proxy: " << message << std::endl; }

bool IsLoopback(const std::string& ip) {
  boost::system::error_code ec;
  auto address = net::ip::make_address_v4(ip, ec);
  return !ec && (address.to_uint() >> 24) == 127;
}

// Copies bytes one way until either side closes, then shuts the other side's writes.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket client, tcp::socket backend)
      : client_(std::move(client)), backend_(std::move(backend)) {}
  void Start() {
    Pump(client_, backend_, up_);
    Pump(backend_, client_, down_);
  }

 private:
  void Pump(tcp::socket& from, tcp::socket& to, std::array<char, 16384>& buffer) {
    auto self = shared_from_this();
    from.async_read_some(net::buffer(buffer), [this, self, &from, &to, &buffer](
                                                  boost::system::error_code ec, size_t n) {
      if (ec) {
        boost::system::error_code ignored;
        to.shutdown(tcp::socket::shutdown_send, ignored);
        if (++closed_ == 2) {
          from.close(ignored);
          to.close(ignored);
        }
        return;
      }
      net::async_write(to, net::buffer(buffer.data(), n),
                       [this, self, &from, &to, &buffer](boost::system::error_code wec, size_t) {
                         if (wec) {
                           boost::system::error_code ignored;
                           from.close(ignored);
                           to.close(ignored);
                           return;
                         }
                         Pump(from, to, buffer);
                       });
    });
  }

  tcp::socket client_;
  tcp::socket backend_;
  std::array<char, 16384> up_{};
  std::array<char, 16384> down_{};
  int closed_ = 0;
};

}  // namespace

std::vector<ServicePort> PortsOfService(const Json& service) {
  std::vector<ServicePort> out;
  const Json spec = service.value("spec", Json::object());
  const std::string ip = spec.value("clusterIP", "");
  const Json selector = spec.value("selector", Json::object());
  if (!IsLoopback(ip) || !selector.is_object() || selector.empty()) return out;
  const std::string ns = service["metadata"].value("namespace", "default");
  const std::string name = service["metadata"].value("name", "");
  for (const auto& p : spec.value("ports", Json::array())) {
    if (p.value("protocol", "TCP") != "TCP" || !p.contains("port")) continue;
    ServicePort sp;
    sp.service = ns + "/" + name;
    sp.ns = ns;
    sp.ip = ip;
    sp.port = p.value("port", 0);
    sp.target_port = p.contains("targetPort") ? p["targetPort"] : p["port"];
    for (const auto& [k, v] : selector.items()) {
      if (v.is_string()) sp.selector[k] = v.get<std::string>();
    }
    out.push_back(std::move(sp));
  }
  return out;
}

std::optional<std::string> PickEndpoint(const ServicePort& port,
                                        const std::vector<std::shared_ptr<const Json>>& pods,
                                        size_t cursor) {
  std::vector<std::string> endpoints;
  for (const auto& pod : pods) {
    const Json& metadata = (*pod)["metadata"];
    if (metadata.contains("deletionTimestamp") && !metadata["deletionTimestamp"].is_null()) {
      continue;
    }
    const Json labels = metadata.value("labels", Json::object());
    bool match = true;
    for (const auto& [k, v] : port.selector) {
      if (labels.value(k, std::string("\x01")) != v) match = false;
    }
    if (!match) continue;
    const Json status = pod->value("status", Json::object());
    if (status.value("phase", "") != "Running" || status.value("podIP", "").empty()) continue;
    bool ready = false;
    for (const auto& c : status.value("conditions", Json::array())) {
      if (c.value("type", "") == "Ready") ready = c.value("status", "") == "True";
    }
    if (!ready) continue;
    int target = 0;
    if (port.target_port.is_number_integer()) {
      target = port.target_port.get<int>();
    } else if (port.target_port.is_string()) {
      const std::string name = port.target_port.get<std::string>();
      for (const auto& c : pod->value("spec", Json::object()).value("containers", Json::array())) {
        for (const auto& cp : c.value("ports", Json::array())) {
          if (cp.value("name", "") == name) target = cp.value("containerPort", 0);
        }
      }
      if (target == 0 && !name.empty() &&
          name.find_first_not_of("0123456789") == std::string::npos) {
        target = std::stoi(name);
      }
    }
    if (target <= 0) continue;
    endpoints.push_back(status.value("podIP", "") + ":" + std::to_string(target));
  }
  if (endpoints.empty()) return std::nullopt;
  std::sort(endpoints.begin(), endpoints.end());
  return endpoints[cursor % endpoints.size()];
}

class ServiceProxy::Impl {
 public:
  explicit Impl(std::shared_ptr<featureforge::k8s::Client> client)
      : services_(featureforge::runtime::MakeClientListWatcher(
            client, featureforge::k8s::resources::Services())),
        pods_(featureforge::runtime::MakeClientListWatcher(client,
                                                           featureforge::k8s::resources::Pods())),
        work_(net::make_work_guard(io_)),
        timer_(io_) {}

  void Start() {
    featureforge::runtime::EventHandlers handlers;
    handlers.on_add = [this](const ObjectPtr&) { Resync(); };
    handlers.on_update = [this](const ObjectPtr&, const ObjectPtr&) { Resync(); };
    handlers.on_delete = [this](const ObjectPtr&) { Resync(); };
    services_.AddEventHandlers(handlers);
    pods_.Start();
    services_.Start();
    for (int i = 0; i < 1; ++i) threads_.emplace_back([this] { io_.run(); });
    Tick();
  }

  void Stop() {
    services_.Stop();
    pods_.Stop();
    net::post(io_, [this] {
      for (auto& [key, listener] : listeners_) {
        boost::system::error_code ignored;
        listener.acceptor->close(ignored);
      }
      listeners_.clear();
      timer_.cancel();
    });
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  struct Listener {
    ServicePort port;
    std::shared_ptr<tcp::acceptor> acceptor;
    std::shared_ptr<std::atomic<size_t>> cursor;
  };

  void Resync() {
    net::post(io_, [this] { SyncListeners(); });
  }

  // Retries binds that failed (a port briefly in use) every second.
  void Tick() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      SyncListeners();
      Tick();
    });
  }

  // On the io thread: listeners_ matches the Services' ports.
  void SyncListeners() {
    std::map<std::string, ServicePort> wanted;
    for (const auto& service : services_.store().List()) {
      for (auto& p : PortsOfService(*service)) {
        wanted[p.ip + ":" + std::to_string(p.port)] = p;
      }
    }
    for (auto it = listeners_.begin(); it != listeners_.end();) {
      auto w = wanted.find(it->first);
      if (w != wanted.end() && w->second == it->second.port) {
        ++it;
        continue;
      }
      boost::system::error_code ignored;
      it->second.acceptor->close(ignored);
      Log("stopped " + it->first + " (" + it->second.port.service + ")");
      it = listeners_.erase(it);
    }
    for (const auto& [key, port] : wanted) {
      if (listeners_.count(key)) continue;
      auto acceptor = std::make_shared<tcp::acceptor>(io_);
      boost::system::error_code ec;
      tcp::endpoint endpoint(net::ip::make_address(port.ip, ec), static_cast<uint16_t>(port.port));
      if (!ec) acceptor->open(endpoint.protocol(), ec);
      if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
      if (!ec) acceptor->bind(endpoint, ec);
      if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
      if (ec) {
        if (failed_.insert(key).second) {
          Log("cannot listen on " + key + " for " + port.service + ": " + ec.message() +
              " (retrying)");
        }
        continue;
      }
      failed_.erase(key);
      Log("serving " + key + " for " + port.service);
      Listener listener{port, acceptor, std::make_shared<std::atomic<size_t>>(0)};
      listeners_[key] = listener;
      Accept(listener);
    }
  }

  void Accept(Listener listener) {
    listener.acceptor->async_accept(
        [this, listener](boost::system::error_code ec, tcp::socket socket) {
          if (ec) {
            if (ec == net::error::operation_aborted || !listener.acceptor->is_open()) return;
          } else {
            Forward(listener, std::move(socket));
          }
          Accept(listener);
        });
  }

  void Forward(const Listener& listener, tcp::socket client) {
    auto endpoint = PickEndpoint(listener.port, pods_.store().ByNamespace(listener.port.ns),
                                 (*listener.cursor)++);
    if (!endpoint) {
      boost::system::error_code ignored;
      client.close(ignored);  // no ready endpoint: refuse, as kube-proxy's REJECT rule
      return;
    }
    auto colon = endpoint->rfind(':');
    boost::system::error_code ec;
    tcp::endpoint target(net::ip::make_address(endpoint->substr(0, colon), ec),
                         static_cast<uint16_t>(std::stoi(endpoint->substr(colon + 1))));
    auto client_ptr = std::make_shared<tcp::socket>(std::move(client));
    auto backend = std::make_shared<tcp::socket>(io_);
    backend->async_connect(target, [client_ptr, backend](boost::system::error_code cec) {
      if (cec) {
        boost::system::error_code ignored;
        client_ptr->close(ignored);
        return;
      }
      boost::system::error_code ignored;
      client_ptr->set_option(tcp::no_delay(true), ignored);
      backend->set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(*client_ptr), std::move(*backend))->Start();
    });
  }

  featureforge::runtime::Informer services_;
  featureforge::runtime::Informer pods_;
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  net::steady_timer timer_;
  std::vector<std::thread> threads_;           // one: listeners_ and sessions need no locks
  std::map<std::string, Listener> listeners_;  // by ip:port; io thread only
  std::set<std::string> failed_;
};

ServiceProxy::ServiceProxy(std::shared_ptr<featureforge::k8s::Client> client)
    : impl_(std::make_unique<Impl>(std::move(client))) {}
ServiceProxy::~ServiceProxy() = default;
void ServiceProxy::Start() { impl_->Start(); }
void ServiceProxy::Stop() { impl_->Stop(); }

}  // namespace ffharness::proxy
