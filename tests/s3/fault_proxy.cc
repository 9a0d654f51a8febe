// FaultInjectingProxy: a loopback HTTP/1.1 forwarder that fails requests on demand.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "ff_s3_testutil/s3rver.h"

namespace featureforge::testing {
namespace {

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Reads one request (head + Content-Length body) from `fd`; false on EOF or error.
bool ReadRequest(int fd, std::string* head, std::string* body) {
  std::string buffer;
  char chunk[64 * 1024];
  size_t head_end;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  *head = buffer.substr(0, head_end + 2);  // keeps the last header's CRLF
  *body = buffer.substr(head_end + 4);
  size_t content_length = 0;
  std::string lower = Lower(*head);
  size_t at = lower.find("\r\ncontent-length:");
  if (at != std::string::npos) {
    content_length = std::stoul(lower.substr(at + 17));
  }
  while (body->size() < content_length) {
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    body->append(chunk, static_cast<size_t>(n));
  }
  return true;
}

// Drops any Connection header and asks for close, so one request maps to one connection.
std::string ForceConnectionClose(const std::string& head) {
  std::string out;
  size_t pos = 0;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    std::string line = head.substr(pos, end - pos);
    if (Lower(line).rfind("connection:", 0) != 0) out += line + "\r\n";
    pos = end + 2;
  }
  return out + "Connection: close\r\n\r\n";
}

}  // namespace

Result<std::unique_ptr<FaultInjectingProxy>> FaultInjectingProxy::Start(int upstream_port) {
  std::unique_ptr<FaultInjectingProxy> proxy(new FaultInjectingProxy());
  proxy->upstream_port_ = upstream_port;
  proxy->listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (proxy->listen_fd_ < 0)
    return Status::IOError("proxy socket: " + std::string(strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(proxy->listen_fd_, 64) != 0) {
    return Status::IOError("proxy bind/listen: " + std::string(strerror(errno)));
  }
  socklen_t length = sizeof(addr);
  ::getsockname(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length);
  proxy->port_ = ntohs(addr.sin_port);
  proxy->accept_thread_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

FaultInjectingProxy::~FaultInjectingProxy() {
  stopping_ = true;
  if (accept_thread_.joinable()) accept_thread_.join();
  for (auto& worker : workers_) worker.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void FaultInjectingProxy::FailNext(int count, Fault fault, const std::string& method) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_faults_ = count;
  pending_fault_ = fault;
  fault_method_ = method;
}

bool FaultInjectingProxy::TakeFault(const std::string& method, Fault* fault) {
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_faults_ <= 0) return false;
  if (!fault_method_.empty() && fault_method_ != method) return false;
  --pending_faults_;
  *fault = pending_fault_;
  return true;
}

std::vector<std::string> FaultInjectingProxy::request_heads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return request_heads_;
}

void FaultInjectingProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    workers_.emplace_back([this, client] { Serve(client); });
  }
}

void FaultInjectingProxy::Serve(int client_fd) {
  std::string head;
  std::string body;
  if (!ReadRequest(client_fd, &head, &body)) {
    ::close(client_fd);
    return;
  }
  ++requests_seen_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    request_heads_.push_back(head);
  }
  std::string method = head.substr(0, head.find(' '));
  Fault fault;
  if (TakeFault(method, &fault)) {
    ++faults_injected_;
    if (fault == Fault::kHang) {
      while (!stopping_) ::poll(nullptr, 0, 20);
    } else if (fault != Fault::kDropConnection) {
      bool slow = fault == Fault::kSlowDown503;
      std::string xml = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>") +
                        (slow ? "SlowDown" : "InternalError") +
                        "</Code><Message>injected by the test proxy</Message></Error>";
      std::string response =
          std::string("HTTP/1.1 ") + (slow ? "503 Slow Down" : "500 Internal Server Error") +
          "\r\nContent-Type: application/xml\r\nContent-Length: " + std::to_string(xml.size()) +
          "\r\nConnection: close\r\n\r\n" + xml;
      SendAll(client_fd, response);
    }
    ::close(client_fd);
    return;
  }
  int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
  if (upstream < 0 || ::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      !SendAll(upstream, ForceConnectionClose(head)) || !SendAll(upstream, body)) {
    if (upstream >= 0) ::close(upstream);
    ::close(client_fd);
    return;
  }
  char chunk[64 * 1024];
  while (true) {
    ssize_t n = ::recv(upstream, chunk, sizeof(chunk), 0);
    if (n <= 0 || !SendAll(client_fd, std::string_view(chunk, static_cast<size_t>(n)))) break;
  }
  ::close(upstream);
  ::close(client_fd);
}

}  // namespace featureforge::testing
