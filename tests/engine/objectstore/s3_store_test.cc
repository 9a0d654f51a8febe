// S3ObjectStore against a real s3rver on loopback, and through a fault-injecting proxy for the
// retry, timeout and abort paths.
#include "featureforge/objectstore/s3_store.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "featureforge/objectstore/staging.h"
#include "ff_s3_testutil/s3rver.h"

namespace featureforge {
namespace {

namespace fs = std::filesystem;
using testing::FaultInjectingProxy;
using testing::S3rverProcess;

constexpr char kBucket[] = "ff-test";

std::string Pattern(size_t size, int seed) {
  std::string data(size, '\0');
  uint32_t x = 2463534242u + static_cast<uint32_t>(seed);
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    data[i] = static_cast<char>(x & 0xFF);
  }
  return data;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class S3StoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = S3rverProcess::Start({kBucket});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    std::string pattern = (fs::temp_directory_path() / "ff-s3test-XXXXXX").string();
    local_dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(local_dir_, ec);
  }

  std::shared_ptr<S3ObjectStore> Store(S3Options options) {
    auto store = S3ObjectStore::Create(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? *store : nullptr;
  }
  std::shared_ptr<S3ObjectStore> Store() { return Store(server_->Options()); }
  // A unique prefix per test so tests never see each other's objects.
  std::string Uri(const std::string& name) const {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string("s3://") + kBucket + "/" + info->name() + "/" + name;
  }
  std::string Local(const std::string& name) const { return local_dir_ + "/" + name; }

  static S3rverProcess* server_;
  std::string local_dir_;
};

S3rverProcess* S3StoreTest::server_ = nullptr;

TEST_F(S3StoreTest, PutGetExistsListDeleteRoundTrip) {
  auto store = Store();
  const std::string data = Pattern(1000, 1);
  ASSERT_TRUE(store->Put(Uri("a/one.bin"), data).ok());
  ASSERT_TRUE(store->Put(Uri("a/two words & more.txt"), "two").ok());
  ASSERT_TRUE(store->Put(Uri("a/caf\xC3\xA9+x=y.txt"), "three").ok());
  ASSERT_TRUE(store->Put(Uri("b/empty"), "").ok());

  auto got = store->Get(Uri("a/one.bin"));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data);
  EXPECT_EQ(*store->Get(Uri("a/two words & more.txt")), "two");
  EXPECT_EQ(*store->Get(Uri("a/caf\xC3\xA9+x=y.txt")), "three");
  EXPECT_EQ(*store->Get(Uri("b/empty")), "");
  EXPECT_TRUE(*store->Exists(Uri("a/one.bin")));
  EXPECT_FALSE(*store->Exists(Uri("a/none")));

  auto listed = store->List(Uri("a/"));
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(*listed, (std::vector<std::string>{Uri("a/caf\xC3\xA9+x=y.txt"), Uri("a/one.bin"),
                                               Uri("a/two words & more.txt")}));

  ASSERT_TRUE(store->Delete(Uri("a/one.bin")).ok());
  EXPECT_FALSE(*store->Exists(Uri("a/one.bin")));
  EXPECT_TRUE(store->Delete(Uri("a/one.bin")).ok()) << "deleting a missing key is OK";
  EXPECT_EQ(store->List(Uri("a/"))->size(), 2u);
}

TEST_F(S3StoreTest, MissingKeyAndBucketAreNotFoundNamingThem) {
  auto store = Store();
  auto got = store->Get(Uri("no/such/key"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_NE(got.status().message().find(Uri("no/such/key")), std::string::npos);
  EXPECT_NE(got.status().message().find("NoSuchKey"), std::string::npos);
  EXPECT_EQ(store->GetToFile(Uri("no/such/key"), Local("out")).code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(Local("out")));
  for (const auto& entry : fs::directory_iterator(local_dir_)) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }

  auto no_bucket = store->Get("s3://no-such-bucket/k");
  ASSERT_FALSE(no_bucket.ok());
  EXPECT_EQ(no_bucket.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_bucket.status().message().find("NoSuchBucket"), std::string::npos);
  EXPECT_FALSE(store->Delete("s3://no-such-bucket/k").ok());
  EXPECT_EQ(store->Get("s3://" + std::string(kBucket)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(S3StoreTest, MultipartUploadFromMemoryAndFile) {
  S3Options options = server_->Options();
  options.part_size = 64 * 1024;
  options.multipart_threshold = 64 * 1024;
  auto store = Store(options);
  const std::string data = Pattern(5 * 64 * 1024 + 123, 2);  // 6 parts, the last one short

  uint64_t before = store->requests_sent();
  ASSERT_TRUE(store->Put(Uri("mem.bin"), data).ok());
  // Create + 6 parts + Complete: proof that it went up in parts.
  EXPECT_EQ(store->requests_sent() - before, 8u);
  EXPECT_EQ(*store->Get(Uri("mem.bin")), data);

  std::ofstream(Local("in.bin"), std::ios::binary) << data;
  before = store->requests_sent();
  ASSERT_TRUE(store->PutFile(Uri("file.bin"), Local("in.bin")).ok());
  EXPECT_EQ(store->requests_sent() - before, 8u);
  ASSERT_TRUE(store->GetToFile(Uri("file.bin"), Local("sub/out.bin")).ok());
  EXPECT_EQ(ReadFile(Local("sub/out.bin")), data);

  // At or below the threshold: a single PUT.
  before = store->requests_sent();
  ASSERT_TRUE(store->Put(Uri("small.bin"), data.substr(0, 64 * 1024)).ok());
  EXPECT_EQ(store->requests_sent() - before, 1u);
}

TEST_F(S3StoreTest, ListFollowsContinuationTokens) {
  S3Options options = server_->Options();
  options.list_page_size = 2;
  auto store = Store(options);
  std::vector<std::string> expected;
  for (int i = 0; i < 7; ++i) {
    expected.push_back(Uri("k" + std::to_string(i)));
    ASSERT_TRUE(store->Put(expected.back(), std::to_string(i)).ok());
  }
  uint64_t before = store->requests_sent();
  auto listed = store->List(Uri(""));
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(*listed, expected);
  EXPECT_EQ(store->requests_sent() - before, 4u) << "7 keys at 2 per page";
}

TEST_F(S3StoreTest, StreamsLargeObjectToFile) {
  auto store = Store();
  const std::string data = Pattern(3 << 20, 3);
  ASSERT_TRUE(store->Put(Uri("large.bin"), data).ok());
  ASSERT_TRUE(store->GetToFile(Uri("large.bin"), Local("large.bin")).ok());
  EXPECT_EQ(ReadFile(Local("large.bin")), data);
  // Replacing an existing local file is atomic too.
  ASSERT_TRUE(store->Put(Uri("large.bin"), "short now").ok());
  ASSERT_TRUE(store->GetToFile(Uri("large.bin"), Local("large.bin")).ok());
  EXPECT_EQ(ReadFile(Local("large.bin")), "short now");
}

TEST_F(S3StoreTest, UnknownAccessKeyIsRejectedLikeS3rverDoes) {
  // s3rver knows one access key id (S3RVER) and does not verify SigV4 signatures, so a wrong
  // key id is rejected (403 InvalidAccessKeyId) while a wrong secret is not detectable there.
  S3Options options = server_->Options();
  options.credentials.access_key_id = "WRONG-KEY";
  auto store = Store(options);
  uint64_t before = store->requests_sent();
  Status put = store->Put(Uri("denied"), "x");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(put.message().find("403"), std::string::npos) << put.message();
  EXPECT_NE(put.message().find("InvalidAccessKeyId"), std::string::npos) << put.message();
  EXPECT_NE(put.message().find(Uri("denied")), std::string::npos) << put.message();
  EXPECT_EQ(store->requests_sent() - before, 1u) << "auth errors are not retried";
  EXPECT_FALSE(*Store()->Exists(Uri("denied")));
}

TEST_F(S3StoreTest, OpenObjectStoreReadsTheAwsEnvironment) {
  ::setenv("AWS_ENDPOINT_URL_S3", server_->endpoint().c_str(), 1);
  ::setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);  // the S3-specific one wins
  ::setenv("AWS_ACCESS_KEY_ID", testing::kS3rverAccessKeyId, 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", testing::kS3rverSecretAccessKey, 1);
  ::setenv("AWS_REGION", "eu-west-1", 1);
  auto store = OpenObjectStore(Uri("env.txt"));
  ::unsetenv("AWS_ENDPOINT_URL_S3");
  ::unsetenv("AWS_ENDPOINT_URL");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto* s3 = dynamic_cast<S3ObjectStore*>(store->get());
  ASSERT_NE(s3, nullptr);
  EXPECT_EQ(s3->options().region, "eu-west-1");
  EXPECT_EQ(s3->options().endpoint, server_->endpoint());
  ASSERT_TRUE((*store)->Put(Uri("env.txt"), "from env").ok());
  EXPECT_EQ(*Store()->Get(Uri("env.txt")), "from env");
  ::unsetenv("AWS_REGION");
  auto defaults = S3Options::FromEnvironment();
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->endpoint, "https://s3.us-east-1.amazonaws.com");
}

TEST_F(S3StoreTest, ConcurrentRequestsFromOneStore) {
  S3Options options = server_->Options();
  options.part_size = 32 * 1024;
  options.multipart_threshold = 32 * 1024;
  auto store = Store(options);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        std::string uri = Uri("t" + std::to_string(t) + "/" + std::to_string(i));
        std::string data = Pattern(static_cast<size_t>(10'000 * (i + 1)), t * 10 + i);
        ASSERT_TRUE(store->Put(uri, data).ok());
        auto got = store->Get(uri);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        EXPECT_EQ(*got, data);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(store->List(Uri(""))->size(), 20u);
}

TEST_F(S3StoreTest, StagesAndPublishesThroughS3) {
  auto store = Store();
  fs::create_directories(Local("out/part"));
  std::ofstream(Local("out/part/0.parquet")) << "zero";
  std::ofstream(Local("out/part/1.parquet")) << "one";
  ASSERT_TRUE(PublishFromLocal(*store, Local("out"), Uri("view")).ok());
  ASSERT_TRUE(store->Put(Uri("view/.keep"), "").ok());
  auto files = StageToLocal(*store, Uri("view/part/*.parquet"), Local("stage"));
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ(ReadFile((*files)[1]), "one");
  auto folder = StageToLocal(*store, Uri("view"), Local("stage2"));
  ASSERT_TRUE(folder.ok()) << folder.status().ToString();
  EXPECT_EQ(folder->size(), 2u) << "the .keep placeholder is not staged";
}

class S3RetryTest : public S3StoreTest {
 protected:
  void SetUp() override {
    S3StoreTest::SetUp();
    auto proxy = FaultInjectingProxy::Start(server_->port());
    ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
    proxy_ = std::move(proxy).value();
  }
  S3Options ProxiedOptions() const {
    S3Options options = server_->Options();
    options.endpoint = proxy_->endpoint();
    return options;
  }
  std::unique_ptr<FaultInjectingProxy> proxy_;
};

TEST_F(S3RetryTest, ServerErrorsThenSuccessAreRetried) {
  auto store = Store(ProxiedOptions());
  proxy_->FailNext(2, FaultInjectingProxy::Fault::kInternalError500);
  ASSERT_TRUE(store->Put(Uri("retried"), "payload").ok());
  EXPECT_EQ(proxy_->faults_injected(), 2);
  EXPECT_EQ(store->requests_sent(), 3u);

  proxy_->FailNext(2, FaultInjectingProxy::Fault::kSlowDown503, "GET");
  auto got = store->Get(Uri("retried"));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "payload");
  EXPECT_EQ(proxy_->faults_injected(), 4);

  proxy_->FailNext(1, FaultInjectingProxy::Fault::kDropConnection, "GET");
  ASSERT_TRUE(store->GetToFile(Uri("retried"), Local("retried")).ok());
  EXPECT_EQ(ReadFile(Local("retried")), "payload");
  EXPECT_EQ(proxy_->faults_injected(), 5);
}

TEST_F(S3RetryTest, MultipartPartFailureIsRetried) {
  S3Options options = ProxiedOptions();
  options.part_size = 16 * 1024;
  options.multipart_threshold = 16 * 1024;
  auto store = Store(options);
  const std::string data = Pattern(50 * 1024, 4);
  proxy_->FailNext(2, FaultInjectingProxy::Fault::kInternalError500, "PUT");
  ASSERT_TRUE(store->Put(Uri("multi"), data).ok());
  EXPECT_EQ(proxy_->faults_injected(), 2);
  EXPECT_EQ(*Store()->Get(Uri("multi")), data);
}

TEST_F(S3RetryTest, GivesUpAfterMaxAttemptsNamingTheError) {
  S3Options options = ProxiedOptions();
  options.max_attempts = 3;
  auto store = Store(options);
  proxy_->FailNext(100, FaultInjectingProxy::Fault::kInternalError500);
  Status put = store->Put(Uri("never"), "x");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.code(), StatusCode::kUnavailable);
  EXPECT_NE(put.message().find("InternalError"), std::string::npos) << put.message();
  EXPECT_NE(put.message().find("after 3 attempts"), std::string::npos) << put.message();
  EXPECT_NE(put.message().find(Uri("never")), std::string::npos) << put.message();
  EXPECT_EQ(proxy_->requests_seen(), 3);
}

TEST_F(S3RetryTest, FailedMultipartUploadIsAbortedAndLeavesNoObject) {
  S3Options options = ProxiedOptions();
  options.part_size = 16 * 1024;
  options.multipart_threshold = 16 * 1024;
  options.max_attempts = 2;
  auto store = Store(options);
  proxy_->FailNext(100, FaultInjectingProxy::Fault::kInternalError500, "PUT");
  Status put = store->Put(Uri("aborted"), Pattern(40 * 1024, 5));
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.message().find("aborted"), std::string::npos) << put.message();
  EXPECT_NE(put.message().find("UploadPart 1"), std::string::npos) << put.message();
  EXPECT_FALSE(*Store()->Exists(Uri("aborted")));
}

TEST_F(S3RetryTest, HungServerTimesOut) {
  S3Options options = ProxiedOptions();
  options.request_timeout_ms = 300;
  options.max_attempts = 2;
  auto store = Store(options);
  proxy_->FailNext(2, FaultInjectingProxy::Fault::kHang);
  Status put = store->Put(Uri("hung"), "x");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.code(), StatusCode::kTimeout) << put.ToString();
  EXPECT_NE(put.message().find("attempt 2 of 2"), std::string::npos) << put.message();
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexDigit(text[i + 1]) >= 0 &&
        HexDigit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(text[i + 1]) * 16 + HexDigit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Recomputes the SigV4 signature of a request exactly as it went over the wire (method, path,
// query, the headers it lists as signed) and returns it with the one the request carries.
std::pair<std::string, std::string> WireSignature(const std::string& head,
                                                  const std::string& secret) {
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < head.size();) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    if (end > pos) lines.push_back(head.substr(pos, end - pos));
    pos = end + 2;
  }
  std::istringstream request_line(lines.at(0));
  std::string method, target;
  request_line >> method >> target;
  sigv4::Request request;
  request.method = method;
  size_t question = target.find('?');
  request.canonical_uri = target.substr(0, question);
  if (question != std::string::npos) {
    std::string query = target.substr(question + 1);
    for (size_t pos = 0; pos <= query.size();) {
      size_t amp = query.find('&', pos);
      if (amp == std::string::npos) amp = query.size();
      std::string pair = query.substr(pos, amp - pos);
      size_t eq = pair.find('=');
      request.query.emplace_back(PercentDecode(pair.substr(0, eq)),
                                 eq == std::string::npos ? "" : PercentDecode(pair.substr(eq + 1)));
      pos = amp + 1;
    }
  }
  std::map<std::string, std::string> headers;
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    std::string name = lines[i].substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = lines[i].substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    headers[name] = value;
  }
  const std::string& authorization = headers.at("authorization");
  std::smatch match;
  std::regex form(
      "Credential=([^/]+)/([0-9]{8})/([^/]+)/s3/aws4_request, SignedHeaders=([^,]+), "
      "Signature=([0-9a-f]{64})");
  if (!std::regex_search(authorization, match, form)) return {"unparsable", authorization};
  std::string signed_headers = match[4];
  for (size_t pos = 0; pos <= signed_headers.size();) {
    size_t semi = signed_headers.find(';', pos);
    if (semi == std::string::npos) semi = signed_headers.size();
    std::string name = signed_headers.substr(pos, semi - pos);
    if (!headers.count(name)) return {"signed header missing on the wire: " + name, ""};
    request.headers.emplace_back(name, headers[name]);
    pos = semi + 1;
  }
  request.payload_sha256_hex = headers.at("x-amz-content-sha256");
  sigv4::Scope scope{headers.at("x-amz-date"), match[3], "s3"};
  return {sigv4::Signature(request, scope, {match[1], secret, ""}), match[5]};
}

TEST_F(S3RetryTest, WhatIsSentIsWhatIsSigned) {
  // s3rver checks the access key id only; verify the signatures of real requests here.
  S3Options options = ProxiedOptions();
  options.part_size = 16 * 1024;
  options.multipart_threshold = 16 * 1024;
  options.list_page_size = 1;
  options.credentials.session_token = "session/token+with=odd chars";
  auto store = Store(options);
  ASSERT_TRUE(store->Put(Uri("dir/a b+c=d&e~f.txt"), "x").ok());
  ASSERT_TRUE(store->Put(Uri("dir/multi"), Pattern(40 * 1024, 6)).ok());
  ASSERT_TRUE(store->Get(Uri("dir/a b+c=d&e~f.txt")).ok());
  ASSERT_TRUE(store->Exists(Uri("dir/multi")).ok());
  ASSERT_EQ(store->List(Uri("dir/"))->size(), 2u);
  ASSERT_TRUE(store->Delete(Uri("dir/multi")).ok());
  auto heads = proxy_->request_heads();
  ASSERT_GE(heads.size(), 11u);
  for (const auto& head : heads) {
    auto [computed, sent] = WireSignature(head, testing::kS3rverSecretAccessKey);
    EXPECT_EQ(computed, sent) << head;
    EXPECT_NE(head.find("x-amz-security-token: session/token+with=odd chars"), std::string::npos);
  }
}

TEST(S3ConnectionTest, RefusedConnectionIsRetriedThenUnavailable) {
  // A port that was free a moment ago: nothing listens there.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t length = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  S3Options options;
  options.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  options.credentials = {"id", "secret", ""};
  options.max_attempts = 3;
  options.initial_backoff_ms = 1;
  options.max_backoff_ms = 5;
  auto store = S3ObjectStore::Create(options);
  ASSERT_TRUE(store.ok());
  auto got = (*store)->Get("s3://bucket/key");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(got.status().message().find("s3://bucket/key"), std::string::npos);
  EXPECT_EQ((*store)->requests_sent(), 3u);
}

TEST(S3OptionsTest, ValidateRejectsBadSettings) {
  S3Options options;
  options.endpoint = "http://127.0.0.1:9000";
  options.credentials = {"id", "secret", ""};
  EXPECT_TRUE(options.Validate().ok());
  S3Options bad = options;
  bad.endpoint = "127.0.0.1:9000";
  EXPECT_EQ(bad.Validate().code(), StatusCode::kInvalidArgument);
  bad = options;
  bad.endpoint = "http://host/path";
  EXPECT_EQ(bad.Validate().code(), StatusCode::kInvalidArgument);
  bad = options;
  bad.part_size = 0;
  EXPECT_EQ(bad.Validate().code(), StatusCode::kInvalidArgument);
  bad = options;
  bad.credentials = {};
  EXPECT_NE(bad.Validate().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

}  // namespace
}  // namespace featureforge
