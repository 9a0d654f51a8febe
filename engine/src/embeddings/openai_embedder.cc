// Client of OpenAI-compatible embeddings endpoints (OpenAI, vLLM, TEI, Ollama, LiteLLM, ...).
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "featureforge/embeddings/embedder.h"

namespace featureforge::embeddings {
namespace {

struct HttpResponse {
  CURLcode curl_code = CURLE_OK;
  std::string curl_error;
  long status = 0;
  std::string body;
  int retry_after_seconds = -1;  // from a Retry-After header, -1 when absent
};

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

size_t ReadHeader(char* data, size_t size, size_t count, void* out) {
  std::string_view line(data, size * count);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == kName) {
      int seconds = std::atoi(std::string(line.substr(kName.size())).c_str());
      if (seconds >= 0) static_cast<HttpResponse*>(out)->retry_after_seconds = seconds;
    }
  }
  return size * count;
}

bool Retryable(const HttpResponse& r) {
  if (r.curl_code != CURLE_OK) {
    switch (r.curl_code) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_OPERATION_TIMEDOUT:
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
        return true;
      default:
        return false;
    }
  }
  return r.status == 429 || r.status >= 500;
}

// "HTTP 500: <server message>" or the curl error, for error texts.
std::string DescribeFailure(const HttpResponse& r) {
  if (r.curl_code != CURLE_OK) return r.curl_error;
  std::string message;
  auto json = nlohmann::json::parse(r.body, nullptr, false);
  if (json.is_object() && json.contains("error")) {
    const auto& error = json["error"];
    if (error.is_object() && error.contains("message") && error["message"].is_string()) {
      message = error["message"].get<std::string>();
    } else if (error.is_string()) {
      message = error.get<std::string>();
    }
  }
  if (message.empty()) message = r.body.substr(0, 200);
  return "HTTP " + std::to_string(r.status) + (message.empty() ? "" : ": " + message);
}

class OpenAiEmbedder : public Embedder {
 public:
  explicit OpenAiEmbedder(const OpenAiOptions& options) : options_(options) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    url_ = options_.endpoint;
    while (!url_.empty() && url_.back() == '/') url_.pop_back();
    constexpr std::string_view kPath = "/embeddings";
    if (url_.size() < kPath.size() ||
        url_.compare(url_.size() - kPath.size(), kPath.size(), kPath) != 0) {
      url_ += kPath;
    }
  }

  int dimension() const override { return options_.dimension; }

  std::string Describe() const override {
    return "openai(model=" + options_.model + ", url=" + url_ + ")";
  }

  Result<std::vector<Vector>> Embed(std::span<const std::string> texts) override {
    std::vector<Vector> out;
    out.reserve(texts.size());
    const size_t batch = static_cast<size_t>(std::max(1, options_.batch_size));
    for (size_t start = 0; start < texts.size(); start += batch) {
      auto part = texts.subspan(start, std::min(batch, texts.size() - start));
      FF_ASSIGN_OR_RETURN(std::vector<Vector> vectors, EmbedBatch(part, start));
      for (auto& v : vectors) out.push_back(std::move(v));
    }
    return out;
  }

 private:
  std::string Prefix() const {
    return (options_.context.empty() ? "" : options_.context + ": ") + "embedding endpoint " + url_;
  }

  HttpResponse Post(const std::string& body) const {
    HttpResponse response;
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
      response.curl_code = CURLE_FAILED_INIT;
      response.curl_error = "curl_easy_init failed";
      return response;
    }
    char error[CURL_ERROR_SIZE] = {0};
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    std::string auth;
    if (!options_.api_key.empty()) {
      auth = "Authorization: Bearer " + options_.api_key;
      headers = curl_slist_append(headers, auth.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_seconds) * 1000);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     std::min(10000L, static_cast<long>(options_.timeout_seconds) * 1000));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    response.curl_code = curl_easy_perform(curl);
    if (response.curl_code != CURLE_OK) {
      response.curl_error = error[0] ? error : curl_easy_strerror(response.curl_code);
    } else {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return response;
  }

  Result<std::vector<Vector>> EmbedBatch(std::span<const std::string> texts,
                                         size_t first_index) const {
    nlohmann::json request = {{"model", options_.model}, {"encoding_format", "float"}};
    request["input"] = nlohmann::json::array();
    for (const auto& t : texts) request["input"].push_back(t);
    const std::string body = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string what = Prefix() + ": texts " + std::to_string(first_index) + ".." +
                             std::to_string(first_index + texts.size() - 1);

    HttpResponse response;
    int backoff_ms = options_.initial_backoff_ms;
    for (int attempt = 0;; ++attempt) {
      response = Post(body);
      if (response.curl_code == CURLE_OK && response.status >= 200 && response.status < 300) {
        return Parse(response.body, texts.size(), what);
      }
      if (!Retryable(response) || attempt >= options_.max_retries) break;
      int wait_ms = std::min(backoff_ms, options_.max_backoff_ms);
      if (response.retry_after_seconds >= 0) {
        wait_ms = std::min(response.retry_after_seconds * 1000, options_.max_backoff_ms);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
      backoff_ms = std::min(backoff_ms * 2, options_.max_backoff_ms);
    }
    const std::string failure = DescribeFailure(response);
    if (!Retryable(response)) {
      return Status::InvalidArgument(what + ": request rejected: " + failure);
    }
    const std::string message = what + ": giving up after " +
                                std::to_string(options_.max_retries + 1) +
                                " attempts; last: " + failure;
    if (response.curl_code == CURLE_OPERATION_TIMEDOUT) return Status::Timeout(message);
    return Status::Unavailable(message);
  }

  Result<std::vector<Vector>> Parse(const std::string& body, size_t expected,
                                    const std::string& what) const {
    auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("data") ||
        !json["data"].is_array()) {
      return Status::IOError(what + ": response is not {\"data\": [...]}: " + body.substr(0, 200));
    }
    const auto& data = json["data"];
    if (data.size() != expected) {
      return Status::IOError(what + ": sent " + std::to_string(expected) + " texts, got " +
                             std::to_string(data.size()) + " embeddings");
    }
    std::vector<Vector> vectors(expected);
    std::vector<bool> seen(expected, false);
    for (size_t i = 0; i < data.size(); ++i) {
      const auto& item = data[i];
      size_t index = i;
      if (item.is_object() && item.contains("index") && item["index"].is_number_unsigned()) {
        index = item["index"].get<size_t>();
      }
      if (!item.is_object() || !item.contains("embedding") || !item["embedding"].is_array() ||
          index >= expected || seen[index]) {
        return Status::IOError(what + ": data[" + std::to_string(i) +
                               "] has no embedding list or a bad index");
      }
      seen[index] = true;
      const auto& embedding = item["embedding"];
      if (static_cast<int>(embedding.size()) != options_.dimension) {
        return Status::InvalidArgument(
            what + ": returned vectors of dimension " + std::to_string(embedding.size()) +
            " but embedding.dimension is " + std::to_string(options_.dimension) + " (model " +
            options_.model + ")");
      }
      Vector& v = vectors[index];
      v.reserve(embedding.size());
      for (const auto& x : embedding) {
        if (!x.is_number()) {
          return Status::IOError(what + ": data[" + std::to_string(i) + "] holds a non-number");
        }
        v.push_back(x.get<float>());
      }
    }
    return vectors;
  }

  OpenAiOptions options_;
  std::string url_;
};

}  // namespace

std::unique_ptr<Embedder> MakeOpenAiEmbedder(const OpenAiOptions& options) {
  return std::make_unique<OpenAiEmbedder>(options);
}

}  // namespace featureforge::embeddings
