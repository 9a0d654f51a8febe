// libcurl easy handles, pooled so keep-alive connections survive between requests.
#include "http_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

namespace featureforge::objectstore_internal {
namespace {

constexpr size_t kMaxBufferedErrorBody = 1 << 20;
constexpr size_t kMaxPooledHandles = 16;

class HandlePool {
 public:
  static HandlePool& Instance() {
    static HandlePool* pool = new HandlePool();  // never destroyed: safe at exit
    return *pool;
  }
  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!handles_.empty()) {
        CURL* handle = handles_.back();
        handles_.pop_back();
        curl_easy_reset(handle);  // keeps the connection cache
        return handle;
      }
    }
    return curl_easy_init();
  }
  void Release(CURL* handle) {
    std::lock_guard<std::mutex> lock(mu_);
    if (handles_.size() < kMaxPooledHandles) {
      handles_.push_back(handle);
    } else {
      curl_easy_cleanup(handle);
    }
  }

 private:
  HandlePool() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  std::mutex mu_;
  std::vector<CURL*> handles_;
};

struct TransferState {
  CURL* handle = nullptr;
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  size_t upload_offset = 0;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<TransferState*>(user);
  size_t bytes = size * count;
  long status = 0;
  curl_easy_getinfo(state->handle, CURLINFO_RESPONSE_CODE, &status);
  if (state->request->download != nullptr && status >= 200 && status < 300) {
    if (std::fwrite(data, 1, bytes, state->request->download) != bytes) {
      state->response->download_write_failed = true;
      state->response->download_errno = errno;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    return bytes;
  }
  std::string& body = state->response->body;
  if (body.size() < kMaxBufferedErrorBody || state->request->download == nullptr) {
    body.append(data, bytes);
  }
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<TransferState*>(user);
  size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (line.rfind("HTTP/", 0) == 0) {
    state->response->headers.clear();  // a new response (after 100 Continue or a redirect)
    return bytes;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  state->response->headers[name] = std::string(value);
  return bytes;
}

size_t OnUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* state = static_cast<TransferState*>(user);
  std::string_view body = state->request->body;
  size_t n = std::min(size * count, body.size() - state->upload_offset);
  std::copy_n(body.data() + state->upload_offset, n, buffer);
  state->upload_offset += n;
  return n;
}

// Lets curl rewind the upload when it must resend the body (e.g. after a redirect or auth).
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* state = static_cast<TransferState*>(user);
  if (origin != SEEK_SET || offset < 0 ||
      static_cast<size_t>(offset) > state->request->body.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  state->upload_offset = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

bool IsRetryableTransportError(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

}  // namespace

HttpResponse PerformHttp(const HttpRequest& request) {
  HttpResponse response;
  HandlePool& pool = HandlePool::Instance();
  CURL* handle = pool.Acquire();
  if (handle == nullptr) {
    response.transport_error = CURLE_FAILED_INIT;
    response.transport_message = "curl_easy_init failed";
    return response;
  }
  TransferState state{handle, &request, &response, 0};
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_PATH_AS_IS, 1L);  // keys may contain "./" or "../"
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout_ms));
  if (request.total_timeout_ms > 0) {
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout_ms));
  }
  if (request.stall_timeout_ms > 0) {
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, static_cast<long>(request.stall_timeout_ms / 1000)));
  }
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &state);

  if (request.method == "GET") {
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(handle, CURLOPT_READFUNCTION, OnUpload);
    curl_easy_setopt(handle, CURLOPT_READDATA, &state);
    curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(handle, CURLOPT_SEEKDATA, &state);
    curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  // No "Expect: 100-continue" round trip, and no default content type on uploads.
  headers = curl_slist_append(headers, "Expect:");
  headers = curl_slist_append(headers, "Transfer-Encoding:");
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);

  CURLcode code = curl_easy_perform(handle);
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
  if (code != CURLE_OK) {
    response.transport_error = code;
    response.transport_message = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    response.transport_retryable =
        !response.download_write_failed && IsRetryableTransportError(code);
    response.transport_timeout = code == CURLE_OPERATION_TIMEDOUT;
  }
  curl_slist_free_all(headers);
  pool.Release(handle);
  return response;
}

}  // namespace featureforge::objectstore_internal
