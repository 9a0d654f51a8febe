// AWS Signature Version 4 (header-based), as documented in "Signing AWS API requests" and
// checked against AWS's published test suite and the S3 examples (tests/engine/objectstore/).
// Pure functions: no clock, no network.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "featureforge/common/time.h"

namespace featureforge::sigv4 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

struct Request {
  std::string method;         // "GET", "PUT", ...
  std::string canonical_uri;  // the path exactly as sent, already URI-encoded ("/b/a%20b")
  // Query parameters, NOT encoded; sorted and encoded while signing. A bare "?uploads" is
  // {"uploads", ""}.
  std::vector<std::pair<std::string, std::string>> query;
  // Every header to sign (Host and X-Amz-Date included), any case, values as sent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_sha256_hex;  // lower-case hex, or "UNSIGNED-PAYLOAD"
};

struct Scope {
  std::string amz_date;  // "20150830T123600Z"
  std::string region;    // "us-east-1"
  std::string service;   // "s3"
};

// RFC 3986 percent-encoding the way AWS wants it: unreserved A-Z a-z 0-9 - . _ ~ stay, every
// other byte becomes %XX (upper-case hex); '/' stays unless `encode_slash`.
std::string UriEncode(std::string_view text, bool encode_slash);
// "20150830T123600Z" for a UTC timestamp.
std::string FormatAmzDate(TimestampMicros ts);

std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string HexEncode(std::string_view bytes);

// The building blocks, exposed so tests can compare each step with AWS's .creq/.sts files.
std::string CanonicalQueryString(const Request& request);
std::string SignedHeaders(const Request& request);  // "host;x-amz-date"
std::string CanonicalRequest(const Request& request);
std::string StringToSign(const Request& request, const Scope& scope);
std::string Signature(const Request& request, const Scope& scope, const Credentials& credentials);
// "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=..."
std::string AuthorizationHeader(const Request& request, const Scope& scope,
                                const Credentials& credentials);

}  // namespace featureforge::sigv4
