// S3ObjectStore: s3://bucket/key on AWS S3 or any S3-compatible server, over libcurl with
// Signature V4 and path-style addressing (<endpoint>/<bucket>/<key>).
//
// Retries: connection errors, timeouts, HTTP 500/502/503/504, 429 and S3's SlowDown /
// RequestTimeout / InternalError codes are retried up to `max_attempts` times in all, sleeping a
// capped exponential backoff with jitter between attempts. Other errors fail at once with a
// Status that names the operation, bucket, key, HTTP status and S3's error Code and Message.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "featureforge/objectstore/object_store.h"
#include "featureforge/objectstore/sigv4.h"

namespace featureforge {

struct S3Options {
  // "https://s3.us-east-1.amazonaws.com" or "http://127.0.0.1:9000" (scheme, host, port only).
  std::string endpoint;
  std::string region = "us-east-1";
  sigv4::Credentials credentials;

  // Multipart upload: objects larger than `multipart_threshold` bytes go up in parts of
  // `part_size` bytes (S3's minimum is 5 MiB except for the last part; tests use smaller parts
  // against s3rver, which does not enforce it). At most one part is held in memory.
  uint64_t part_size = 8ull << 20;
  uint64_t multipart_threshold = 8ull << 20;

  int max_attempts = 5;              // per request, first try included
  int64_t initial_backoff_ms = 100;  // sleep before the 2nd attempt (then doubling)
  int64_t max_backoff_ms = 10'000;   // cap of the doubling
  int64_t connect_timeout_ms = 10'000;
  // Whole-request deadline for every request except GetToFile's download, which may run long
  // and is instead cut when it stalls (fewer than 1 byte/s for `stall_timeout_ms`).
  int64_t request_timeout_ms = 120'000;
  int64_t stall_timeout_ms = 60'000;
  int list_page_size = 1000;  // max-keys of each ListObjectsV2 page

  // PutIfVersion sends If-Match / If-None-Match: * (AWS S3 honours both since 2024). Not every
  // S3-compatible server does (s3rver 3.7 ignores them and overwrites), so by default the first
  // conditional write to a bucket probes the server once per process with a sibling object
  // "<key>.ff-conditional-write-probe-<pid>-<random>" and returns NotSupported when the server
  // ignored the condition. kOn skips the probe; kOff always returns NotSupported.
  enum class ConditionalWrites { kAuto, kOn, kOff };
  ConditionalWrites conditional_writes = ConditionalWrites::kAuto;

  // Reads the standard AWS variables:
  //   endpoint    AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, else
  //   https://s3.<region>.amazonaws.com region      AWS_REGION, then AWS_DEFAULT_REGION, else
  //   us-east-1 credentials AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
  // and featureforge's tuning knobs FEATUREFORGE_S3_MAX_ATTEMPTS,
  // FEATUREFORGE_S3_PART_SIZE_BYTES, FEATUREFORGE_S3_REQUEST_TIMEOUT_MS and
  // FEATUREFORGE_S3_CONDITIONAL_WRITES (auto | on | off).
  // Missing credentials -> InvalidArgument naming the variables to set.
  static Result<S3Options> FromEnvironment();
  // Checks ranges and the endpoint's form.
  Status Validate() const;
};

class S3ObjectStore : public ObjectStore {
 public:
  static Result<std::shared_ptr<S3ObjectStore>> Create(S3Options options);
  ~S3ObjectStore() override;

  Result<std::string> Get(const std::string& uri) override;
  Status GetToFile(const std::string& uri, const std::string& local_path) override;
  Status Put(const std::string& uri, std::string_view data) override;
  Status PutFile(const std::string& uri, const std::string& local_path) override;
  Result<bool> Exists(const std::string& uri) override;
  Result<std::vector<std::string>> List(const std::string& prefix_uri) override;
  Status Delete(const std::string& uri) override;
  // Versions are ETags (GetObject / HeadObject). PutIfVersion: see S3Options::conditional_writes.
  // 412 PreconditionFailed and 409 ConditionalRequestConflict -> Conflict, except when a retried
  // attempt finds the object already holding exactly `data` (our own earlier attempt landed).
  Result<VersionedObject> GetVersioned(const std::string& uri) override;
  Result<std::optional<std::string>> CurrentVersion(const std::string& uri) override;
  Result<std::string> PutIfVersion(const std::string& uri, std::string_view data,
                                   const std::string& expected_version) override;

  const S3Options& options() const;
  // Requests sent so far, retries included (lets tests check retry behaviour).
  uint64_t requests_sent() const;

 private:
  class Impl;
  explicit S3ObjectStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace featureforge
