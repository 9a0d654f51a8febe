#include "featureforge/k8s/errors.h"

#include <array>
#include <charconv>

namespace featureforge::k8s {
namespace {

constexpr std::string_view kTagStart = "k8s[";

struct ReasonEntry {
  K8sReason reason;
  std::string_view name;
};
constexpr std::array<ReasonEntry, 15> kReasons = {{
    {K8sReason::kUnknown, "Unknown"},
    {K8sReason::kBadRequest, "BadRequest"},
    {K8sReason::kUnauthorized, "Unauthorized"},
    {K8sReason::kForbidden, "Forbidden"},
    {K8sReason::kNotFound, "NotFound"},
    {K8sReason::kMethodNotAllowed, "MethodNotAllowed"},
    {K8sReason::kAlreadyExists, "AlreadyExists"},
    {K8sReason::kConflict, "Conflict"},
    {K8sReason::kGone, "Gone"},
    {K8sReason::kInvalid, "Invalid"},
    {K8sReason::kTooManyRequests, "TooManyRequests"},
    {K8sReason::kInternalError, "InternalError"},
    {K8sReason::kUnavailable, "ServiceUnavailable"},
    {K8sReason::kTimeout, "Timeout"},
    {K8sReason::kTlsError, "TLSError"},
}};

K8sReason ReasonFromHttp(int http_code, std::string_view server_reason) {
  if (server_reason == "AlreadyExists") return K8sReason::kAlreadyExists;
  if (server_reason == "Expired" || server_reason == "Gone") return K8sReason::kGone;
  if (server_reason == "Timeout" && http_code != 409) return K8sReason::kTimeout;
  switch (http_code) {
    case 400:
      return K8sReason::kBadRequest;
    case 401:
      return K8sReason::kUnauthorized;
    case 403:
      return K8sReason::kForbidden;
    case 404:
      return K8sReason::kNotFound;
    case 405:
      return K8sReason::kMethodNotAllowed;
    case 409:
      return K8sReason::kConflict;
    case 410:
      return K8sReason::kGone;
    case 422:
      return K8sReason::kInvalid;
    case 429:
      return K8sReason::kTooManyRequests;
    case 500:
      return K8sReason::kInternalError;
    case 502:
    case 503:
      return K8sReason::kUnavailable;
    case 504:
      return K8sReason::kTimeout;
    default:
      return K8sReason::kUnknown;
  }
}

StatusCode GenericCode(K8sReason reason, int http_code) {
  switch (reason) {
    case K8sReason::kNotFound:
      return StatusCode::kNotFound;
    case K8sReason::kAlreadyExists:
      return StatusCode::kAlreadyExists;
    case K8sReason::kConflict:
      return StatusCode::kConflict;
    case K8sReason::kBadRequest:
    case K8sReason::kInvalid:
      return StatusCode::kInvalidArgument;
    case K8sReason::kTimeout:
      return StatusCode::kTimeout;
    case K8sReason::kTooManyRequests:
    case K8sReason::kInternalError:
    case K8sReason::kUnavailable:
    case K8sReason::kTlsError:
      return StatusCode::kUnavailable;
    case K8sReason::kGone:
    case K8sReason::kUnauthorized:
    case K8sReason::kForbidden:
    case K8sReason::kMethodNotAllowed:
      return StatusCode::kFailedPrecondition;
    case K8sReason::kUnknown:
      break;
  }
  return http_code >= 500 ? StatusCode::kUnavailable : StatusCode::kInternal;
}

Status Build(int http_code, K8sReason reason, std::string_view what, std::string_view detail) {
  std::string message(kTagStart);
  message += std::to_string(http_code);
  message += '/';
  message += K8sReasonName(reason);
  message += "] ";
  message += what;
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  return Status(GenericCode(reason, http_code), std::move(message));
}

}  // namespace

std::string_view K8sReasonName(K8sReason reason) {
  for (const auto& entry : kReasons) {
    if (entry.reason == reason) return entry.name;
  }
  return "Unknown";
}

Status MakeK8sStatus(int http_code, std::string_view server_reason, std::string_view what,
                     std::string_view server_message) {
  std::string detail = "HTTP " + std::to_string(http_code);
  if (!server_reason.empty()) detail += " " + std::string(server_reason);
  if (!server_message.empty()) detail += ": " + std::string(server_message);
  return Build(http_code, ReasonFromHttp(http_code, server_reason), what, detail);
}

Status MakeTransportStatus(K8sReason reason, std::string_view what, std::string_view detail) {
  return Build(0, reason, what, detail);
}

std::optional<K8sError> K8sErrorOf(const Status& status) {
  if (status.ok()) return std::nullopt;
  const std::string& msg = status.message();
  size_t pos = msg.find(kTagStart);
  if (pos == std::string::npos) return std::nullopt;
  size_t code_begin = pos + kTagStart.size();
  size_t slash = msg.find('/', code_begin);
  size_t close = msg.find(']', code_begin);
  if (slash == std::string::npos || close == std::string::npos || slash > close) {
    return std::nullopt;
  }
  K8sError error;
  auto [ptr, ec] = std::from_chars(msg.data() + code_begin, msg.data() + slash, error.http_code);
  if (ec != std::errc() || ptr != msg.data() + slash) return std::nullopt;
  std::string_view name(msg.data() + slash + 1, close - slash - 1);
  for (const auto& entry : kReasons) {
    if (entry.name == name) error.reason = entry.reason;
  }
  error.message = msg;
  return error;
}

K8sReason ReasonOf(const Status& status) {
  auto error = K8sErrorOf(status);
  return error ? error->reason : K8sReason::kUnknown;
}

bool IsRetryable(const Status& s) {
  switch (ReasonOf(s)) {
    case K8sReason::kTooManyRequests:
    case K8sReason::kInternalError:
    case K8sReason::kUnavailable:
    case K8sReason::kTimeout:
      return true;
    default:
      return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kTimeout;
  }
}

}  // namespace featureforge::k8s
