// S3ObjectStore: signed requests, retries, streaming downloads and multipart uploads.
#include "featureforge/objectstore/s3_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "featureforge/common/time.h"
#include "http_transport.h"
#include "s3_xml.h"

namespace featureforge {

using objectstore_internal::HttpRequest;
using objectstore_internal::HttpResponse;
using objectstore_internal::PerformHttp;
using objectstore_internal::XmlElements;
using objectstore_internal::XmlElementText;
using objectstore_internal::XmlEscape;

namespace {

constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

using Query = std::vector<std::pair<std::string, std::string>>;

struct Location {
  std::string bucket;
  std::string key;
  std::string Uri() const { return "s3://" + bucket + "/" + key; }
};

Result<Location> ParseS3Uri(const std::string& uri, bool key_required) {
  FF_ASSIGN_OR_RETURN(ObjectUri parsed, ParseObjectUri(uri));
  if (parsed.scheme != "s3") return Status::InvalidArgument("'" + uri + "' is not an s3:// URI");
  if (key_required && parsed.path.empty()) {
    return Status::InvalidArgument("S3 URI '" + uri + "' names a bucket but no key");
  }
  return Location{parsed.authority, parsed.path};
}

bool IsRetryableHttp(long status, const std::string& code) {
  return status == 500 || status == 502 || status == 503 || status == 504 || status == 429 ||
         code == "SlowDown" || code == "RequestTimeout" || code == "InternalError" ||
         code == "ServiceUnavailable" || code == "Throttling" || code == "ThrottlingException";
}

// S3's ETag of a single-part, unencrypted object: the quoted hex MD5 of its bytes.
std::string SinglePartEtag(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  return "\"" + sigv4::HexEncode(std::string_view(reinterpret_cast<char*>(digest), length)) + "\"";
}

// Whether a server honours If-Match on PUT, per "<endpoint>|<bucket>", probed once per process
// (S3ObjectStore instances come and go with OpenObjectStore).
struct ConditionalSupportCache {
  std::mutex mu;
  std::map<std::string, bool> by_bucket;
};
ConditionalSupportCache& ConditionalSupport() {
  static auto* cache = new ConditionalSupportCache();
  return *cache;
}

std::string ErrorCode(const HttpResponse& response) {
  return XmlElementText(response.body, "Code").value_or("");
}

class TempFile {
 public:
  ~TempFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  Status Open(const std::string& target) {
    std::filesystem::path parent = std::filesystem::path(target).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return Status::IOError("creating folder " + parent.string() + ": " + ec.message());
    std::string pattern = target + ".ff-tmp-XXXXXX";
    int fd = ::mkstemp(pattern.data());
    if (fd < 0)
      return Status::IOError("creating temp file for " + target + ": " + std::strerror(errno));
    path_ = pattern;
    file_ = ::fdopen(fd, "w+b");
    if (file_ == nullptr) {
      ::close(fd);
      return Status::IOError("opening " + path_ + ": " + std::strerror(errno));
    }
    return Status::OK();
  }
  Status Truncate() {
    std::fflush(file_);
    if (::ftruncate(::fileno(file_), 0) != 0 || std::fseek(file_, 0, SEEK_SET) != 0) {
      return Status::IOError("truncating " + path_ + ": " + std::strerror(errno));
    }
    return Status::OK();
  }
  Status CommitTo(const std::string& target) {
    if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
      return Status::IOError("writing " + path_ + ": " + std::strerror(errno));
    }
    std::fclose(file_);
    file_ = nullptr;
    if (::rename(path_.c_str(), target.c_str()) != 0) {
      return Status::IOError("renaming " + path_ + " to " + target + ": " + std::strerror(errno));
    }
    path_.clear();
    return Status::OK();
  }
  std::FILE* get() const { return file_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// Reads a local file one part at a time (the only buffer of a multipart upload).
class FileReader {
 public:
  ~FileReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Open(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return Status::IOError("opening " + path + ": " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd_, &st) != 0)
      return Status::IOError("stat " + path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + " is not a regular file");
    size_ = static_cast<uint64_t>(st.st_size);
    return Status::OK();
  }
  uint64_t size() const { return size_; }
  // Fills `buffer` with up to `max_bytes`; an empty buffer means end of file.
  Status Read(size_t max_bytes, std::string* buffer) {
    buffer->resize(max_bytes);
    size_t filled = 0;
    while (filled < max_bytes) {
      ssize_t n = ::read(fd_, buffer->data() + filled, max_bytes - filled);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("reading " + path_ + ": " + std::strerror(errno));
      }
      if (n == 0) break;
      filled += static_cast<size_t>(n);
    }
    buffer->resize(filled);
    return Status::OK();
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace

class S3ObjectStore::Impl {
 public:
  explicit Impl(S3Options options) : options_(std::move(options)) {
    size_t host_start = options_.endpoint.find("://") + 3;
    std::string base = options_.endpoint;
    if (!base.empty() && base.back() == '/') base.pop_back();
    base_url_ = base;
    host_ = base.substr(host_start);
    // curl omits a default port from Host; sign exactly what is sent.
    bool https = base.rfind("https://", 0) == 0;
    std::string default_port = https ? ":443" : ":80";
    if (host_.size() > default_port.size() &&
        host_.compare(host_.size() - default_port.size(), default_port.size(), default_port) == 0) {
      host_.resize(host_.size() - default_port.size());
    }
  }

  const S3Options& options() const { return options_; }
  uint64_t requests_sent() const { return requests_sent_.load(); }

  struct Reply {
    HttpResponse http;
    int attempts = 1;
  };

  struct Call {
    Call(std::string operation_name, std::string http_method, Location where,
         bool whole_bucket = false)
        : operation(std::move(operation_name)),
          method(std::move(http_method)),
          location(std::move(where)),
          bucket_level(whole_bucket) {}
    std::string operation;  // "GET", "PutObject", ... (for messages)
    std::string method;
    Location location;
    bool bucket_level = false;  // path is /bucket, not /bucket/key
    Query query;
    std::string_view body;
    TempFile* download = nullptr;
    // Sent as is, not signed (SigV4 requires only Host and x-amz-* to be signed).
    std::vector<std::pair<std::string, std::string>> extra_headers;
  };

  // Sends `call`, retrying transient failures. Returns the final HTTP response (any status);
  // an error only when no HTTP response could be had.
  Result<Reply> Execute(const Call& call) {
    std::string canonical_uri = "/" + sigv4::UriEncode(call.location.bucket, true);
    if (!call.bucket_level) canonical_uri += "/" + sigv4::UriEncode(call.location.key, false);
    sigv4::Request signing;
    signing.method = call.method;
    signing.canonical_uri = canonical_uri;
    signing.query = call.query;
    std::string query_string = sigv4::CanonicalQueryString(signing);
    std::string url = base_url_ + canonical_uri + (query_string.empty() ? "" : "?" + query_string);
    std::string payload_hash =
        call.body.empty() ? std::string(kEmptySha256) : sigv4::Sha256Hex(call.body);

    HttpResponse response;
    for (int attempt = 1;; ++attempt) {
      if (call.download != nullptr) FF_RETURN_IF_ERROR(call.download->Truncate());
      HttpRequest request;
      request.method = call.method;
      request.url = url;
      request.body = call.body;
      request.download = call.download != nullptr ? call.download->get() : nullptr;
      request.connect_timeout_ms = options_.connect_timeout_ms;
      if (call.download != nullptr) {
        request.stall_timeout_ms = options_.stall_timeout_ms;
      } else {
        request.total_timeout_ms = options_.request_timeout_ms;
      }
      request.headers = SignedHeaders(&signing, payload_hash);
      request.headers.insert(request.headers.end(), call.extra_headers.begin(),
                             call.extra_headers.end());
      ++requests_sent_;
      response = PerformHttp(request);

      bool retryable = false;
      if (response.transport_error != 0) {
        if (response.download_write_failed) {
          return Status::IOError(Describe(call) + ": writing the downloaded bytes failed: " +
                                 std::strerror(response.download_errno));
        }
        retryable = response.transport_retryable;
        if (!retryable || attempt >= options_.max_attempts) {
          std::string message = Describe(call) + ": " + response.transport_message + " (" +
                                options_.endpoint + ", attempt " + std::to_string(attempt) +
                                " of " + std::to_string(options_.max_attempts) + ")";
          if (response.transport_timeout) return Status::Timeout(message);
          return Status::Unavailable(message);
        }
      } else {
        retryable = IsRetryableHttp(response.status, ErrorCode(response));
        if (!retryable || attempt >= options_.max_attempts) {
          return Reply{std::move(response), attempt};
        }
      }
      SleepBeforeRetry(attempt);
    }
  }

  // A Status for a response that is not what the caller wanted.
  Status ErrorFor(const Call& call, const Reply& reply) const {
    const HttpResponse& response = reply.http;
    const int attempts = reply.attempts;
    std::string code = ErrorCode(response);
    std::string message = XmlElementText(response.body, "Message").value_or("");
    if (code.empty() && response.status == 404) code = "NotFound";
    std::string text = Describe(call) + ": HTTP " + std::to_string(response.status);
    if (!code.empty()) text += " " + code;
    if (!message.empty()) text += ": " + message;
    if (attempts > 1) text += " (after " + std::to_string(attempts) + " attempts)";
    if (response.status == 404) return Status::NotFound(text);
    if (IsRetryableHttp(response.status, code)) return Status::Unavailable(text);
    if (response.status == 401 || response.status == 403) return Status::FailedPrecondition(text);
    if (response.status == 409) return Status::Conflict(text);
    if (response.status == 400) return Status::InvalidArgument(text);
    return Status::IOError(text);
  }

  static bool Ok(const Reply& reply) { return reply.http.status >= 200 && reply.http.status < 300; }

  Result<std::string> Get(const std::string& uri) {
    FF_ASSIGN_OR_RETURN(Location location, ParseS3Uri(uri, true));
    Call call{"GetObject", "GET", location};
    FF_ASSIGN_OR_RETURN(Reply response, Execute(call));
    if (!Ok(response)) return ErrorFor(call, response);
    return std::move(response.http.body);
  }

  Status GetToFile(const std::string& uri, const std::string& local_path) {
    FF_ASSIGN_OR_RETURN(Location location, ParseS3Uri(uri, true));
    TempFile temp;
    FF_RETURN_IF_ERROR(temp.Open(local_path));
    Call call{"GetObject", "GET", location};
    call.download = &temp;
    FF_ASSIGN_OR_RETURN(Reply response, Execute(call));
    if (!Ok(response)) return ErrorFor(call, response);
    return temp.CommitTo(local_path);
  }

  Status Put(const std::string& uri, std::string_view data) {
    FF_ASSIGN_OR_RETURN(Location location, ParseS3Uri(uri, true));
    if (data.size() > options_.multipart_threshold) {
      size_t offset = 0;
      return PutMultipart(location, [&](std::string_view* part) -> Status {
        size_t n = std::min<size_t>(options_.part_size, data.size() - offset);
        *part = data.substr(offset, n);
        offset += n;
        return Status::OK();
      });
    }
    return PutSingle(location, data);
  }

  Status PutFile(const std::string& uri, const std::string& local_path) {
    FF_ASSIGN_OR_RETURN(Location location, ParseS3Uri(uri, true));
    FileReader reader;
    FF_RETURN_IF_ERROR(reader.Open(local_path));
    std::string buffer;
    if (reader.size() <= options_.multipart_threshold) {
      FF_RETURN_IF_ERROR(reader.Read(static_cast<size_t>(reader.size()), &buffer));
      return PutSingle(location, buffer);
    }
    return PutMultipart(location, [&](std::string_view* part) -> Status {
      FF_RETURN_IF_ERROR(reader.Read(static_cast<size_t>(options_.part_size), &buffer));
      *part = buffer;
      return Status::OK();
    });
  }

  Result<VersionedObject> GetVersioned(const std::string& uri) {
    FF_ASSIGN_OR_RETURN(Location location, ParseS3Uri(uri, true));
    Call call{"GetObject", "GET", location};
    FF_ASSIGN_OR_RETURN(Reply response, Execute(call));
    if (!Ok(response)) return ErrorFor(call, response);
    FF_ASSIGN_OR_RETURN(std::string etag, EtagOf(call, response));
    return VersionedObject{std::move(response.http.body), std::move(etag)};
  }

  Result<std::optional<std::string>> CurrentVersion(const std::string& uri) {
    FF_ASSIGN_OR_RETURN(Location location, ParseS3Uri(uri, true));
    Call call{"HeadObject", "HEAD", location};
    FF_ASSIGN_OR_RETURN(Reply response, Execute(call));
    if (response.http.status == 404) return std::optional<std::string>();
    if (!Ok(response)) return ErrorFor(call, response);
    FF_ASSIGN_OR_RETURN(std::string etag, EtagOf(call, response));
    return std::optional<std::string>(std::move(etag));
  }

  Result<std::string> PutIfVersion(const std::string& uri, std::string_view data,
                                   const std::string& expected_version) {
    FF_ASSIGN_OR_RETURN(Location location, ParseS3Uri(uri, true));
    FF_RETURN_IF_ERROR(CheckConditionalWrites(location));
    Call call{"PutObject (conditional)", "PUT", location};
    call.body = data;
    if (expected_version.empty()) {
      call.extra_headers.emplace_back("If-None-Match", "*");
    } else {
      call.extra_headers.emplace_back("If-Match", expected_version);
    }
    FF_ASSIGN_OR_RETURN(Reply response, Execute(call));
    if (Ok(response)) return EtagOf(call, response);
    const long status = response.http.status;
    const bool lost_race =
        status == 412 || status == 409 ||
        (status == 404 && !expected_version.empty() && ErrorCode(response.http) != "NoSuchBucket");
    if (!lost_race) return ErrorFor(call, response);
    if (response.attempts > 1) {
      // A retried request may have failed its condition against our own earlier attempt.
      auto current = CurrentVersion(uri);
      if (current.ok() && current->has_value() && **current == SinglePartEtag(data)) {
        return **current;
      }
    }
    return Status::Conflict(ErrorFor(call, response).message() +
                            (expected_version.empty()
                                 ? " (expected no object)"
                                 : " (expected version " + expected_version + ")"));
  }

  Result<bool> Exists(const std::string& uri) {
    FF_ASSIGN_OR_RETURN(Location location, ParseS3Uri(uri, true));
    Call call{"HeadObject", "HEAD", location};
    FF_ASSIGN_OR_RETURN(Reply response, Execute(call));
    if (Ok(response)) return true;
    if (response.http.status == 404) return false;
    return ErrorFor(call, response);
  }

  Result<std::vector<std::string>> List(const std::string& prefix_uri) {
    FF_ASSIGN_OR_RETURN(Location location, ParseS3Uri(prefix_uri, false));
    std::vector<std::string> out;
    std::string token;
    while (true) {
      Call call{"ListObjectsV2", "GET", location, true};
      call.query = {{"list-type", "2"},
                    {"prefix", location.key},
                    {"max-keys", std::to_string(options_.list_page_size)}};
      if (!token.empty()) call.query.emplace_back("continuation-token", token);
      FF_ASSIGN_OR_RETURN(Reply response, Execute(call));
      if (!Ok(response)) return ErrorFor(call, response);
      for (std::string_view contents : XmlElements(response.http.body, "Contents")) {
        std::optional<std::string> key = XmlElementText(contents, "Key");
        if (key) out.push_back("s3://" + location.bucket + "/" + *key);
      }
      bool truncated =
          XmlElementText(response.http.body, "IsTruncated").value_or("false") == "true";
      if (!truncated) break;
      std::string next = XmlElementText(response.http.body, "NextContinuationToken").value_or("");
      if (next.empty() || next == token) {
        return Status::Corruption(Describe(call) +
                                  ": truncated listing without a new "
                                  "NextContinuationToken");
      }
      token = next;
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Status Delete(const std::string& uri) {
    FF_ASSIGN_OR_RETURN(Location location, ParseS3Uri(uri, true));
    Call call{"DeleteObject", "DELETE", location};
    FF_ASSIGN_OR_RETURN(Reply response, Execute(call));
    if (Ok(response)) return Status::OK();
    if (response.http.status == 404 && ErrorCode(response.http) != "NoSuchBucket")
      return Status::OK();
    return ErrorFor(call, response);
  }

 private:
  std::vector<std::pair<std::string, std::string>> SignedHeaders(sigv4::Request* signing,
                                                                 const std::string& payload_hash) {
    std::string amz_date = sigv4::FormatAmzDate(SystemClock().Now());
    signing->payload_sha256_hex = payload_hash;
    signing->headers = {
        {"Host", host_}, {"x-amz-content-sha256", payload_hash}, {"x-amz-date", amz_date}};
    if (!options_.credentials.session_token.empty()) {
      signing->headers.emplace_back("x-amz-security-token", options_.credentials.session_token);
    }
    sigv4::Scope scope{amz_date, options_.region, "s3"};
    auto headers = signing->headers;
    headers.emplace_back("Authorization",
                         sigv4::AuthorizationHeader(*signing, scope, options_.credentials));
    return headers;
  }

  std::string Describe(const Call& call) const {
    std::string where = call.bucket_level ? "bucket '" + call.location.bucket + "' prefix '" +
                                                call.location.key + "'"
                                          : call.location.Uri();
    return "S3 " + call.operation + " " + where;
  }

  Result<std::string> EtagOf(const Call& call, const Reply& reply) const {
    auto etag = reply.http.headers.find("etag");
    if (etag == reply.http.headers.end() || etag->second.empty()) {
      return Status::Corruption(Describe(call) + ": reply has no ETag header");
    }
    return etag->second;
  }

  // OK when conditional writes to `location`'s bucket can be trusted (see S3Options).
  Status CheckConditionalWrites(const Location& location) {
    const std::string where = location.Uri();
    switch (options_.conditional_writes) {
      case S3Options::ConditionalWrites::kOn:
        return Status::OK();
      case S3Options::ConditionalWrites::kOff:
        return Status::NotSupported("conditional writes to " + where +
                                    " (FEATUREFORGE_S3_CONDITIONAL_WRITES=off)");
      case S3Options::ConditionalWrites::kAuto:
        break;
    }
    const std::string cache_key = options_.endpoint + "|" + location.bucket;
    ConditionalSupportCache& cache = ConditionalSupport();
    std::lock_guard<std::mutex> lock(cache.mu);  // one probe per bucket, also across threads
    auto known = cache.by_bucket.find(cache_key);
    if (known == cache.by_bucket.end()) {
      FF_ASSIGN_OR_RETURN(bool honoured, ProbeConditionalWrites(location));
      known = cache.by_bucket.emplace(cache_key, honoured).first;
    }
    if (known->second) return Status::OK();
    return Status::NotSupported("conditional writes to " + where + ": the S3 server at " +
                                options_.endpoint +
                                " ignores If-Match on PutObject (probed once per process); set "
                                "FEATUREFORGE_S3_CONDITIONAL_WRITES=on for servers known to "
                                "honour it");
  }

  // Writes a sibling probe object, then overwrites it with an If-Match that cannot match: a
  // server that checks answers 412, one that ignores the header answers 200.
  Result<bool> ProbeConditionalWrites(const Location& target) {
    // Unique per probe: processes probing side by side must not delete each other's object.
    thread_local std::mt19937_64 rng{std::random_device{}()};
    Location probe{target.bucket, target.key + ".ff-conditional-write-probe-" +
                                      std::to_string(::getpid()) + "-" + std::to_string(rng())};
    FF_RETURN_IF_ERROR(PutSingle(probe, "probe"));
    Call call{"PutObject (conditional-write probe)", "PUT", probe};
    call.body = "probe, overwritten";
    call.extra_headers.emplace_back("If-Match", "\"00000000000000000000000000000000\"");
    FF_ASSIGN_OR_RETURN(Reply response, Execute(call));
    Call cleanup{"DeleteObject", "DELETE", probe};
    (void)Execute(cleanup);  // best effort: a leftover probe object is harmless
    if (response.http.status == 412) return true;
    if (Ok(response)) return false;
    return ErrorFor(call, response);
  }

  void SleepBeforeRetry(int attempt) {
    int64_t delay = options_.initial_backoff_ms;
    for (int i = 1; i < attempt && delay < options_.max_backoff_ms; ++i) delay *= 2;
    delay = std::min(delay, options_.max_backoff_ms);
    thread_local std::mt19937_64 rng{std::random_device{}()};
    // "Equal jitter": at least half the backoff, so retries never stampede at zero delay.
    std::uniform_int_distribution<int64_t> jitter(delay / 2, std::max<int64_t>(delay, delay / 2));
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));
  }

  Status PutSingle(const Location& location, std::string_view data) {
    Call call{"PutObject", "PUT", location};
    call.body = data;
    FF_ASSIGN_OR_RETURN(Reply response, Execute(call));
    if (!Ok(response)) return ErrorFor(call, response);
    return Status::OK();
  }

  // `next_part` yields each part's bytes in order; an empty part ends the upload.
  Status PutMultipart(const Location& location,
                      const std::function<Status(std::string_view*)>& next_part) {
    Call create{"CreateMultipartUpload", "POST", location};
    create.query = {{"uploads", ""}};
    FF_ASSIGN_OR_RETURN(Reply created, Execute(create));
    if (!Ok(created)) return ErrorFor(create, created);
    std::string upload_id = XmlElementText(created.http.body, "UploadId").value_or("");
    if (upload_id.empty()) {
      return Status::Corruption(Describe(create) + ": reply has no UploadId");
    }
    Status status = UploadPartsAndComplete(location, upload_id, next_part);
    if (!status.ok()) {
      Call abort{"AbortMultipartUpload", "DELETE", location};
      abort.query = {{"uploadId", upload_id}};
      // Best effort: the original error is what the caller needs to see.
      (void)Execute(abort);
      return status.WithContext("multipart upload " + upload_id + " aborted");
    }
    return Status::OK();
  }

  Status UploadPartsAndComplete(const Location& location, const std::string& upload_id,
                                const std::function<Status(std::string_view*)>& next_part) {
    std::string complete_xml = "<CompleteMultipartUpload>";
    for (int part_number = 1;; ++part_number) {
      std::string_view part;
      FF_RETURN_IF_ERROR(next_part(&part));
      if (part.empty()) {
        if (part_number == 1) return Status::Internal("multipart upload without any part");
        break;
      }
      if (part_number > 10000) {
        return Status::InvalidArgument("object " + location.Uri() +
                                       " needs more than 10000 parts "
                                       "at part_size " +
                                       std::to_string(options_.part_size));
      }
      Call upload{"UploadPart " + std::to_string(part_number), "PUT", location};
      upload.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
      upload.body = part;
      FF_ASSIGN_OR_RETURN(Reply response, Execute(upload));
      if (!Ok(response)) return ErrorFor(upload, response);
      auto etag = response.http.headers.find("etag");
      if (etag == response.http.headers.end() || etag->second.empty()) {
        return Status::Corruption(Describe(upload) + ": reply has no ETag header");
      }
      complete_xml += "<Part><PartNumber>" + std::to_string(part_number) + "</PartNumber><ETag>" +
                      XmlEscape(etag->second) + "</ETag></Part>";
    }
    complete_xml += "</CompleteMultipartUpload>";
    Call complete{"CompleteMultipartUpload", "POST", location};
    complete.query = {{"uploadId", upload_id}};
    complete.body = complete_xml;
    FF_ASSIGN_OR_RETURN(Reply response, Execute(complete));
    // S3 may answer 200 and still report an error in the body.
    if (!Ok(response) || response.http.body.find("<Error>") != std::string::npos) {
      return ErrorFor(complete, response);
    }
    return Status::OK();
  }

  S3Options options_;
  std::string base_url_;
  std::string host_;
  std::atomic<uint64_t> requests_sent_{0};
};

Result<std::shared_ptr<S3ObjectStore>> S3ObjectStore::Create(S3Options options) {
  FF_RETURN_IF_ERROR(options.Validate());
  return std::shared_ptr<S3ObjectStore>(
      new S3ObjectStore(std::make_unique<Impl>(std::move(options))));
}

S3ObjectStore::S3ObjectStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
S3ObjectStore::~S3ObjectStore() = default;

Result<std::string> S3ObjectStore::Get(const std::string& uri) { return impl_->Get(uri); }
Status S3ObjectStore::GetToFile(const std::string& uri, const std::string& local_path) {
  return impl_->GetToFile(uri, local_path);
}
Status S3ObjectStore::Put(const std::string& uri, std::string_view data) {
  return impl_->Put(uri, data);
}
Status S3ObjectStore::PutFile(const std::string& uri, const std::string& local_path) {
  return impl_->PutFile(uri, local_path);
}
Result<bool> S3ObjectStore::Exists(const std::string& uri) { return impl_->Exists(uri); }
Result<VersionedObject> S3ObjectStore::GetVersioned(const std::string& uri) {
  return impl_->GetVersioned(uri);
}
Result<std::optional<std::string>> S3ObjectStore::CurrentVersion(const std::string& uri) {
  return impl_->CurrentVersion(uri);
}
Result<std::string> S3ObjectStore::PutIfVersion(const std::string& uri, std::string_view data,
                                                const std::string& expected_version) {
  return impl_->PutIfVersion(uri, data, expected_version);
}
Result<std::vector<std::string>> S3ObjectStore::List(const std::string& prefix_uri) {
  return impl_->List(prefix_uri);
}
Status S3ObjectStore::Delete(const std::string& uri) { return impl_->Delete(uri); }
const S3Options& S3ObjectStore::options() const { return impl_->options(); }
uint64_t S3ObjectStore::requests_sent() const { return impl_->requests_sent(); }

}  // namespace featureforge
