// Redis-specific behaviour against a real redis-server: Feast's byte layout, key TTL, AUTH/db,
// script cache loss, and a server that dies in the middle of a write.
#include "featureforge/online/redis_store.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <atomic>
#include <future>
#include <thread>

#include "featureforge/online/serialization.h"
#include "featureforge/testutil/testutil.h"

namespace featureforge::online {
namespace {

using testutil::RedisServer;

constexpr TimestampMicros kT0 = 1'700'000'000'250'000;

// A raw hiredis connection for looking at what the store wrote.
class RawRedis {
 public:
  explicit RawRedis(int port, const std::string& password = "") {
    ctx_ = redisConnect("127.0.0.1", port);
    if (!password.empty()) Command({"AUTH", password});
  }
  ~RawRedis() { redisFree(ctx_); }
  bool ok() const { return ctx_ && !ctx_->err; }
  // Returns the reply; the caller frees it via the unique_ptr.
  std::unique_ptr<redisReply, void (*)(void*)> Command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    return {r, freeReplyObject};
  }

 private:
  redisContext* ctx_ = nullptr;
};

EntityKey Key(int64_t id) { return EntityKey{{"driver_id"}, {Value::Int64(id)}}; }

ViewSpec Stats() {
  return ViewSpec{
      "proj", "driver_stats", {"conv_rate", "trips"}, {ValueType::kDouble, ValueType::kInt64}};
}

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(redis_.Start(), ""); }

  std::unique_ptr<OnlineStore> Open(RedisStoreOptions options = {}) {
    options.port = redis_.port();
    auto store = OpenRedisOnlineStore(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  RedisServer redis_;
};

TEST_F(RedisStoreTest, WritesFeastsLayout) {
  auto store = Open();
  ASSERT_TRUE(store);
  WriteRow row{Key(1001), {Value::Double(0.5), Value::Int64(7)}, kT0, 0};
  ASSERT_TRUE(store->Write(Stats(), std::vector{row}).ok());

  RawRedis raw(redis_.port());
  ASSERT_TRUE(raw.ok());
  const std::string key = *SerializeEntityKey(Key(1001)) + "proj";
  auto reply = raw.Command({"HGETALL", key});
  ASSERT_EQ(reply->type, REDIS_REPLY_ARRAY);
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < reply->elements; i += 2) {
    fields[std::string(reply->element[i]->str, reply->element[i]->len)] =
        std::string(reply->element[i + 1]->str, reply->element[i + 1]->len);
  }
  EXPECT_EQ(fields.size(), 4u);  // 2 features, _ts:view, our order field
  EXPECT_EQ(fields[RedisFeatureField("driver_stats", "conv_rate")],
            EncodeValueProto(Value::Double(0.5)));
  EXPECT_EQ(fields[RedisFeatureField("driver_stats", "trips")], EncodeValueProto(Value::Int64(7)));
  EXPECT_EQ(fields["_ts:driver_stats"], EncodeTimestampProto(kT0));
  // kT0 ^ 2^63 and 0 ^ 2^63 in hex.
  EXPECT_EQ(fields["_ff_order:driver_stats"],
            "80060a2418221090"
            "8000000000000000");

  // And a row written the way Feast writes it (no order field) reads back.
  const std::string feast_key = *SerializeEntityKey(Key(2002)) + "proj";
  raw.Command({"HSET", feast_key, RedisFeatureField("driver_stats", "trips"),
               EncodeValueProto(Value::Int64(42)), "_ts:driver_stats", EncodeTimestampProto(kT0)});
  auto rows = store->Read(Stats(), std::vector{Key(2002)});
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE((*rows)[0].found);
  EXPECT_EQ((*rows)[0].event_ts, kT0);
  EXPECT_EQ((*rows)[0].values[1], Value::Int64(42));
  EXPECT_TRUE((*rows)[0].values[0].is_null());
  // Against Feast's row: older and equal (no created ts) rows are skipped, a created ts breaks
  // the tie.
  auto older = store->Write(
      Stats(), std::vector{WriteRow{Key(2002), {Value::Null(), Value::Int64(41)}, kT0 - 1, 9}});
  EXPECT_EQ(older->rows_skipped_stale, 1);
  auto equal = store->Write(
      Stats(), std::vector{WriteRow{Key(2002), {Value::Null(), Value::Int64(41)}, kT0, 0}});
  EXPECT_EQ(equal->rows_skipped_stale, 1);
  // An equal-ts row with a created ts is newer than Feast's row without one.
  auto stats = store->Write(
      Stats(), std::vector{WriteRow{Key(2002), {Value::Null(), Value::Int64(43)}, kT0, 1}});
  EXPECT_EQ(stats->rows_written, 1);
}

TEST_F(RedisStoreTest, KeyTtlIsSetOnWrittenKeys) {
  RedisStoreOptions options;
  options.key_ttl_seconds = 3600;
  auto store = Open(options);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store
                  ->Write(Stats(), std::vector{WriteRow{
                                       Key(1), {Value::Double(1), Value::Int64(1)}, kT0, 0}})
                  .ok());
  RawRedis raw(redis_.port());
  auto ttl = raw.Command({"TTL", *SerializeEntityKey(Key(1)) + "proj"});
  ASSERT_EQ(ttl->type, REDIS_REPLY_INTEGER);
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 3600);
}

TEST_F(RedisStoreTest, RecoversWhenTheServerForgetsTheScript) {
  auto store = Open();
  ASSERT_TRUE(store);
  RawRedis raw(redis_.port());
  raw.Command({"SCRIPT", "FLUSH"});
  auto stats = store->Write(
      Stats(), std::vector{WriteRow{Key(1), {Value::Double(1), Value::Int64(1)}, kT0, 0}});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows_written, 1);
}

TEST_F(RedisStoreTest, PasswordAndDatabaseFromTheConnectionString) {
  redis_.Kill();
  ASSERT_EQ(redis_.Start({"--requirepass", "s3cret"}), "");
  auto options = ParseRedisConnectionString("127.0.0.1:" + std::to_string(redis_.port()) +
                                            ",db=3,password=s3cret");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  auto store = OpenRedisOnlineStore(*options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)
                  ->Write(Stats(), std::vector{WriteRow{
                                       Key(1), {Value::Double(1), Value::Int64(5)}, kT0, 0}})
                  .ok());
  RawRedis raw(redis_.port(), "s3cret");
  raw.Command({"SELECT", "3"});
  auto exists = raw.Command({"EXISTS", *SerializeEntityKey(Key(1)) + "proj"});
  EXPECT_EQ(exists->integer, 1);

  options->password = "wrong";
  auto denied = OpenRedisOnlineStore(*options);
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.status().message().find("AUTH"), std::string::npos) << denied.status().message();
}

TEST_F(RedisStoreTest, ServerKilledMidWriteReportsUnavailableNamingTheServer) {
  auto store = Open();
  ASSERT_TRUE(store);
  std::vector<WriteRow> rows;
  const int kRows = 200'000;
  rows.reserve(kRows);
  for (int i = 0; i < kRows; ++i) {
    rows.push_back(WriteRow{Key(i), {Value::Double(i), Value::Int64(i)}, kT0, 0});
  }
  auto pending = std::async(std::launch::async, [&] { return store->Write(Stats(), rows); });
  // Kill the server once it has applied part of the chunk.
  RawRedis watcher(redis_.port());
  ASSERT_TRUE(watcher.ok());
  bool saw_progress = false;
  while (pending.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
    auto size = watcher.Command({"DBSIZE"});
    if (size && size->type == REDIS_REPLY_INTEGER && size->integer > 0) {
      saw_progress = true;
      break;
    }
  }
  ASSERT_TRUE(saw_progress) << "the write finished before the server could be killed";
  redis_.Kill();
  auto result = pending.get();
  ASSERT_FALSE(result.ok()) << "a write to a killed server reported success";
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable) << result.status().ToString();
  EXPECT_NE(result.status().message().find("127.0.0.1:" + std::to_string(redis_.port())),
            std::string::npos)
      << result.status().message();

  // Later calls fail the same way (reconnect refused) instead of hanging or crashing.
  auto again = store->Read(Stats(), std::vector{Key(1)});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kUnavailable);
}

TEST_F(RedisStoreTest, AStalledServerTimesOut) {
  RedisStoreOptions options;
  options.command_timeout = std::chrono::milliseconds(300);
  auto store = Open(options);
  ASSERT_TRUE(store);
  ASSERT_EQ(kill(redis_.pid(), SIGSTOP), 0);
  auto rows = store->Read(Stats(), std::vector{Key(1)});
  kill(redis_.pid(), SIGCONT);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kTimeout) << rows.status().ToString();
  EXPECT_NE(rows.status().message().find(redis_.address()), std::string::npos);
  // The store reconnects on the next call once the server answers again.
  auto again = store->Read(Stats(), std::vector{Key(1)});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE((*again)[0].found);
}

TEST_F(RedisStoreTest, DeleteViewLeavesProjectsWithASimilarNameAlone) {
  auto store = Open();
  ASSERT_TRUE(store);
  ViewSpec mine = Stats();
  ViewSpec theirs = Stats();
  theirs.project = "xproj";  // its keys also end in "proj"
  WriteRow row{Key(1), {Value::Double(1), Value::Int64(1)}, kT0, 0};
  ASSERT_TRUE(store->Write(mine, std::vector{row}).ok());
  ASSERT_TRUE(store->Write(theirs, std::vector{row}).ok());
  ASSERT_TRUE(store->DeleteView("proj", "driver_stats").ok());
  EXPECT_FALSE((*store->Read(mine, std::vector{Key(1)}))[0].found);
  EXPECT_TRUE((*store->Read(theirs, std::vector{Key(1)}))[0].found);
}

TEST(RedisConnectTest, NothingListeningIsUnavailable) {
  RedisStoreOptions options;
  options.port = testutil::PickFreePort();
  auto store = OpenRedisOnlineStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(store.status().message().find(std::to_string(options.port)), std::string::npos);
}

TEST(RedisConnectionStringTest, ParsesFeastsFormat) {
  auto plain = ParseRedisConnectionString("redis.example:6380");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "redis.example");
  EXPECT_EQ(plain->port, 6380);
  EXPECT_EQ(plain->db, 0);
  auto full = ParseRedisConnectionString("localhost:6379,db=2,password=a=b,ssl=false");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->db, 2);
  EXPECT_EQ(full->password, "a=b");
  auto default_port = ParseRedisConnectionString("cache");
  ASSERT_TRUE(default_port.ok());
  EXPECT_EQ(default_port->port, 6379);

  EXPECT_EQ(ParseRedisConnectionString("h:notaport").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRedisConnectionString("h:1,db=x").status().code(), StatusCode::kInvalidArgument);
  auto unknown = ParseRedisConnectionString("h:1,colour=blue");
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("colour"), std::string::npos);
  EXPECT_EQ(ParseRedisConnectionString("h:1,ssl=true").status().code(), StatusCode::kNotSupported);
  EXPECT_EQ(ParseRedisConnectionString("").status().code(), StatusCode::kInvalidArgument);

  // Errors name the address, never the password that shares the string.
  auto secret = ParseRedisConnectionString("h:1,password=hunter2,db=x");
  EXPECT_EQ(secret.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(secret.status().message().find("'h:1,...'"), std::string::npos)
      << secret.status().ToString();
  EXPECT_EQ(secret.status().message().find("hunter2"), std::string::npos)
      << secret.status().ToString();
}

}  // namespace
}  // namespace featureforge::online
