// Kubernetes API errors on top of Status.
//
// Every failed call returns a Status whose code is the closest generic code (NotFound, Conflict,
// AlreadyExists, InvalidArgument, Timeout, Unavailable, FailedPrecondition) and whose message
// starts with a machine-readable tag "k8s[<http>/<Reason>] " followed by the verb, the path and
// the server's own Status message. K8sErrorOf() recovers the HTTP code and reason even after
// callers added context with Status::WithContext().
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "featureforge/common/status.h"

namespace featureforge::k8s {

// The StatusReason values of the Kubernetes API that callers act on.
enum class K8sReason {
  kUnknown,
  kBadRequest,        // 400
  kUnauthorized,      // 401
  kForbidden,         // 403
  kNotFound,          // 404
  kMethodNotAllowed,  // 405
  kAlreadyExists,     // 409, reason AlreadyExists
  kConflict,          // 409
  kGone,              // 410 (reason "Expired" or "Gone"): resourceVersion too old
  kInvalid,           // 422
  kTooManyRequests,   // 429
  kInternalError,     // 500
  kUnavailable,       // 503, or no connection at all (http_code 0)
  kTimeout,           // 504, reason Timeout, or a client-side deadline
  kTlsError,          // certificate verification or handshake failure (http_code 0)
};

std::string_view K8sReasonName(K8sReason reason);

struct K8sError {
  int http_code = 0;  // 0 when no HTTP response arrived (connection, TLS, timeout)
  K8sReason reason = K8sReason::kUnknown;
  std::string message;  // the whole Status message, including the tag
};

// Builds the Status for an API failure. `server_reason` is the Status.reason string of the
// response body when there was one ("NotFound", "AlreadyExists", "Expired", ...).
Status MakeK8sStatus(int http_code, std::string_view server_reason, std::string_view what,
                     std::string_view server_message);
// A failure before any HTTP response: connection refused, DNS, TLS, client timeout.
Status MakeTransportStatus(K8sReason reason, std::string_view what, std::string_view detail);

// The HTTP code and reason of a Status produced by this library; nullopt for other statuses.
std::optional<K8sError> K8sErrorOf(const Status& status);
K8sReason ReasonOf(const Status& status);

inline bool IsNotFound(const Status& s) { return ReasonOf(s) == K8sReason::kNotFound; }
inline bool IsAlreadyExists(const Status& s) { return ReasonOf(s) == K8sReason::kAlreadyExists; }
inline bool IsConflict(const Status& s) { return ReasonOf(s) == K8sReason::kConflict; }
inline bool IsGone(const Status& s) { return ReasonOf(s) == K8sReason::kGone; }
inline bool IsInvalid(const Status& s) { return ReasonOf(s) == K8sReason::kInvalid; }
inline bool IsForbidden(const Status& s) { return ReasonOf(s) == K8sReason::kForbidden; }
inline bool IsUnauthorized(const Status& s) { return ReasonOf(s) == K8sReason::kUnauthorized; }
inline bool IsTimeout(const Status& s) { return ReasonOf(s) == K8sReason::kTimeout; }
// Unavailable, 429, 500, 503, 504, timeouts: a later retry may succeed.
bool IsRetryable(const Status& s);

}  // namespace featureforge::k8s
