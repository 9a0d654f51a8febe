#include "http_transport.h"

#include "featureforge/k8s/errors.h"

namespace featureforge::k8s {
namespace {

constexpr size_t kMaxIdleHandles = 16;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct TransferState {
  const ChunkHandler* on_chunk = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  std::string body;
  long status = 0;
  bool stopped_by_handler = false;
  CURL* handle = nullptr;
};

size_t WriteCallback(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<TransferState*>(user);
  size_t bytes = size * count;
  if (state->on_chunk != nullptr && *state->on_chunk) {
    if (state->status == 0)
      curl_easy_getinfo(state->handle, CURLINFO_RESPONSE_CODE, &state->status);
    if (state->status >= 200 && state->status < 300) {
      if (!(*state->on_chunk)(std::string_view(data, bytes))) {
        state->stopped_by_handler = true;
        return 0;  // aborts the transfer
      }
      return bytes;
    }
  }
  state->body.append(data, bytes);
  return bytes;
}

int ProgressCallback(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* state = static_cast<TransferState*>(user);
  return (state->cancel != nullptr && state->cancel->load()) ? 1 : 0;
}

curl_blob Blob(const std::string& pem) {
  return curl_blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_NOCOPY};
}

}  // namespace

HttpTransport::HttpTransport(RestConfig config) : config_(std::move(config)) { GlobalInitOnce(); }

HttpTransport::~HttpTransport() {
  for (CURL* handle : idle_) curl_easy_cleanup(handle);
}

CURL* HttpTransport::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      CURL* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void HttpTransport::Release(CURL* handle) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < kMaxIdleHandles) {
    idle_.push_back(handle);
  } else {
    curl_easy_cleanup(handle);
  }
}

Result<HttpResponse> HttpTransport::Perform(const HttpRequest& request,
                                            const ChunkHandler& on_chunk,
                                            const std::atomic<bool>* cancel) {
  std::string what = request.method + " " + config_.server + request.path_and_query;
  auto token = config_.CurrentToken();
  if (!token.ok())
    return MakeTransportStatus(K8sReason::kUnauthorized, what, token.status().message());
  CURL* handle = Acquire();
  if (handle == nullptr) return Status::Internal("curl_easy_init failed");
  // reset keeps live connections and the TLS session cache: that is the reuse we want.
  curl_easy_reset(handle);

  std::string url = config_.server + request.path_and_query;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  TransferState state;
  state.on_chunk = &on_chunk;
  state.cancel = cancel;
  state.handle = handle;

  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_USERAGENT, config_.user_agent.c_str());
  curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, config_.connect_timeout_ms);
  long timeout = request.timeout_ms > 0 ? request.timeout_ms
                 : request.streaming    ? 0L
                                        : config_.request_timeout_ms;
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, WriteCallback);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, ProgressCallback);
  curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &state);

  // TLS: verify against the configured CA (or the system store) unless insecure is set.
  if (config_.insecure_skip_tls_verify) {
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!config_.ca_pem.empty()) {
      curl_blob ca = Blob(config_.ca_pem);
      curl_easy_setopt(handle, CURLOPT_CAINFO_BLOB, &ca);
    }
  }
  if (!config_.client_cert_pem.empty()) {
    curl_blob cert = Blob(config_.client_cert_pem);
    curl_blob key = Blob(config_.client_key_pem);
    curl_easy_setopt(handle, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(handle, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(handle, CURLOPT_SSLKEYTYPE, "PEM");
    curl_easy_setopt(handle, CURLOPT_SSLKEY_BLOB, &key);
  }

  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  std::string auth;
  if (!token->empty()) {
    auth = "Authorization: Bearer " + *token;
    headers = curl_slist_append(headers, auth.c_str());
  }
  std::string content_type;
  if (!request.content_type.empty()) {
    content_type = "Content-Type: " + request.content_type;
    headers = curl_slist_append(headers, content_type.c_str());
  }
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);

  if (request.method == "GET") {
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (!request.body.empty() || request.method != "DELETE") {
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
  }

  CURLcode code = curl_easy_perform(handle);
  long http_status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &http_status);
  long new_connections = 0;
  if (curl_easy_getinfo(handle, CURLINFO_NUM_CONNECTS, &new_connections) == CURLE_OK) {
    connections_opened_ += static_cast<uint64_t>(new_connections);
  }
  curl_slist_free_all(headers);
  Release(handle);

  bool cancelled = cancel != nullptr && cancel->load();
  if (code != CURLE_OK && !(state.stopped_by_handler || (cancelled && http_status != 0))) {
    std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    switch (code) {
      case CURLE_ABORTED_BY_CALLBACK:
        return MakeTransportStatus(K8sReason::kUnavailable, what, "cancelled");
      case CURLE_OPERATION_TIMEDOUT:
        return MakeTransportStatus(K8sReason::kTimeout, what, detail);
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_ISSUER_ERROR:
        return MakeTransportStatus(K8sReason::kTlsError, what,
                                   "TLS handshake/verification failed: " + detail);
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
        return MakeTransportStatus(K8sReason::kUnavailable, what,
                                   "cannot connect to the API server: " + detail);
      default:
        // A stream that broke after the response started (server restart) lands here too.
        return MakeTransportStatus(K8sReason::kUnavailable, what, detail);
    }
  }
  HttpResponse response;
  response.status = http_status;
  response.body = std::move(state.body);
  return response;
}

}  // namespace featureforge::k8s
