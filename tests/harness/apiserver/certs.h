// Self-signed CA and server certificate for the harness API server, made with OpenSSL.
#pragma once

#include <string>

#include "featureforge/common/status.h"

namespace ffharness {

struct ServerCertificates {
  std::string ca_cert_pem;
  std::string server_cert_pem;  // signed by the CA; SANs 127.0.0.1, ::1, localhost
  std::string server_key_pem;
};

// Makes a fresh CA (EC P-256, 10 years) and a server certificate signed by it.
featureforge::Result<ServerCertificates> GenerateServerCertificates();

// 32 random bytes, hex encoded (bearer tokens, uids).
std::string RandomHex(size_t bytes);

// Standard base64 (no line breaks) and its inverse (returns false on bad input).
std::string Base64Encode(const std::string& data);
bool Base64Decode(const std::string& text, std::string* out);

}  // namespace ffharness
