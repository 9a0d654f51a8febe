// S3Options from the standard AWS environment variables.
#include <cstdlib>
#include <string>

#include "featureforge/objectstore/s3_store.h"

namespace featureforge {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

Status ParseInt64Env(const char* name, int64_t minimum, int64_t* out) {
  std::string text = Env(name);
  if (text.empty()) return Status::OK();
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || value < minimum) {
    return Status::InvalidArgument("environment variable " + std::string(name) + "='" + text +
                                   "' must be an integer >= " + std::to_string(minimum));
  }
  *out = value;
  return Status::OK();
}

}  // namespace

Result<S3Options> S3Options::FromEnvironment() {
  S3Options options;
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (!Env(name).empty()) {
      options.region = Env(name);
      break;
    }
  }
  options.endpoint = Env("AWS_ENDPOINT_URL_S3");
  if (options.endpoint.empty()) options.endpoint = Env("AWS_ENDPOINT_URL");
  if (options.endpoint.empty())
    options.endpoint = "https://s3." + options.region + ".amazonaws.com";

  options.credentials.access_key_id = Env("AWS_ACCESS_KEY_ID");
  options.credentials.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
  options.credentials.session_token = Env("AWS_SESSION_TOKEN");
  if (options.credentials.access_key_id.empty() || options.credentials.secret_access_key.empty()) {
    std::string missing;
    if (options.credentials.access_key_id.empty()) missing = "AWS_ACCESS_KEY_ID";
    if (options.credentials.secret_access_key.empty()) {
      missing += std::string(missing.empty() ? "" : " and ") + "AWS_SECRET_ACCESS_KEY";
    }
    return Status::InvalidArgument(
        "S3 credentials missing: " + missing +
        " not set (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, plus AWS_SESSION_TOKEN for "
        "temporary credentials)");
  }

  int64_t max_attempts = options.max_attempts;
  FF_RETURN_IF_ERROR(ParseInt64Env("FEATUREFORGE_S3_MAX_ATTEMPTS", 1, &max_attempts));
  options.max_attempts = static_cast<int>(max_attempts);
  int64_t part_size = static_cast<int64_t>(options.part_size);
  FF_RETURN_IF_ERROR(ParseInt64Env("FEATUREFORGE_S3_PART_SIZE_BYTES", 1, &part_size));
  options.part_size = static_cast<uint64_t>(part_size);
  options.multipart_threshold = options.part_size;
  FF_RETURN_IF_ERROR(
      ParseInt64Env("FEATUREFORGE_S3_REQUEST_TIMEOUT_MS", 1, &options.request_timeout_ms));
  const std::string conditional = Env("FEATUREFORGE_S3_CONDITIONAL_WRITES");
  if (conditional == "on") {
    options.conditional_writes = ConditionalWrites::kOn;
  } else if (conditional == "off") {
    options.conditional_writes = ConditionalWrites::kOff;
  } else if (!conditional.empty() && conditional != "auto") {
    return Status::InvalidArgument("environment variable FEATUREFORGE_S3_CONDITIONAL_WRITES='" +
                                   conditional + "' must be auto, on or off");
  }
  FF_RETURN_IF_ERROR(options.Validate());
  return options;
}

Status S3Options::Validate() const {
  if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("S3 endpoint '" + endpoint +
                                   "' must start with http:// or https://");
  }
  size_t host_start = endpoint.find("://") + 3;
  size_t path = endpoint.find('/', host_start);
  if (endpoint.size() == host_start || path == host_start ||
      (path != std::string::npos && path + 1 != endpoint.size())) {
    return Status::InvalidArgument("S3 endpoint '" + endpoint +
                                   "' must be scheme://host[:port] with no path");
  }
  if (region.empty()) return Status::InvalidArgument("S3 region is empty");
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status::InvalidArgument(
        "S3 credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  if (part_size == 0) return Status::InvalidArgument("S3 part_size must be > 0");
  if (part_size > (5ull << 30)) {
    return Status::InvalidArgument("S3 part_size " + std::to_string(part_size) +
                                   " exceeds S3's 5 GiB part limit");
  }
  if (max_attempts < 1) return Status::InvalidArgument("S3 max_attempts must be >= 1");
  if (initial_backoff_ms < 0 || max_backoff_ms < initial_backoff_ms) {
    return Status::InvalidArgument(
        "S3 backoff must satisfy 0 <= initial_backoff_ms <= max_backoff_ms");
  }
  if (list_page_size < 1 || list_page_size > 1000) {
    return Status::InvalidArgument("S3 list_page_size must be within 1..1000");
  }
  return Status::OK();
}

}  // namespace featureforge
