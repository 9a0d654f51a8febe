// AWS Signature Version 4 on OpenSSL's SHA-256 and HMAC.
#include "featureforge/objectstore/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

namespace featureforge::sigv4 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims both ends and collapses runs of spaces into one, as the canonical headers require.
std::string NormalizeHeaderValue(std::string_view value) {
  std::string out;
  bool in_space = false;
  for (char c : value) {
    bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (space) {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
  return out;
}

// name -> values in the order given (a repeated header is signed as "v1,v2").
std::map<std::string, std::vector<std::string>> CanonicalHeaderMap(const Request& request) {
  std::map<std::string, std::vector<std::string>> headers;
  for (const auto& [name, value] : request.headers) {
    headers[Lower(NormalizeHeaderValue(name))].push_back(NormalizeHeaderValue(value));
  }
  return headers;
}

std::string CredentialScope(const Scope& scope) {
  return scope.amz_date.substr(0, 8) + "/" + scope.region + "/" + scope.service + "/aws4_request";
}

}  // namespace

std::string UriEncode(std::string_view text, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string FormatAmzDate(TimestampMicros ts) {
  std::time_t seconds = static_cast<std::time_t>(ts / kMicrosPerSecond);
  if (ts < 0 && ts % kMicrosPerSecond != 0) --seconds;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y%m%dT%H%M%SZ", &utc);
  return buffer;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string CanonicalQueryString(const Request& request) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(request.query.size());
  for (const auto& [name, value] : request.query) {
    encoded.emplace_back(UriEncode(name, true), UriEncode(value, true));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

std::string SignedHeaders(const Request& request) {
  std::string out;
  for (const auto& [name, values] : CanonicalHeaderMap(request)) {
    if (!out.empty()) out.push_back(';');
    out += name;
  }
  return out;
}

std::string CanonicalRequest(const Request& request) {
  std::string out = request.method + "\n";
  out += request.canonical_uri.empty() ? "/" : request.canonical_uri;
  out += "\n" + CanonicalQueryString(request) + "\n";
  for (const auto& [name, values] : CanonicalHeaderMap(request)) {
    out += name + ":";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out.push_back(',');
      out += values[i];
    }
    out.push_back('\n');
  }
  out += "\n" + SignedHeaders(request) + "\n" + request.payload_sha256_hex;
  return out;
}

std::string StringToSign(const Request& request, const Scope& scope) {
  return std::string(kAlgorithm) + "\n" + scope.amz_date + "\n" + CredentialScope(scope) + "\n" +
         Sha256Hex(CanonicalRequest(request));
}

std::string Signature(const Request& request, const Scope& scope, const Credentials& credentials) {
  std::string key = HmacSha256("AWS4" + credentials.secret_access_key, scope.amz_date.substr(0, 8));
  key = HmacSha256(key, scope.region);
  key = HmacSha256(key, scope.service);
  key = HmacSha256(key, "aws4_request");
  return HexEncode(HmacSha256(key, StringToSign(request, scope)));
}

std::string AuthorizationHeader(const Request& request, const Scope& scope,
                                const Credentials& credentials) {
  return std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
         CredentialScope(scope) + ", SignedHeaders=" + SignedHeaders(request) +
         ", Signature=" + Signature(request, scope, credentials);
}

}  // namespace featureforge::sigv4
