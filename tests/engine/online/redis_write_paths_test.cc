// The two Redis write paths against a real redis-server: new keys are created with RESTORE
// (never replacing anything), existing keys go through the compare-and-set script, and the
// never-older-over-newer rule holds against concurrent writers of the same keys.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <thread>

#include "featureforge/online/redis_store.h"
#include "featureforge/online/serialization.h"
#include "featureforge/testutil/testutil.h"
#include "redis_dump.h"

namespace featureforge::online {
namespace {

using testutil::RedisServer;

constexpr TimestampMicros kT0 = 1'700'000'000'250'000;

class Raw {
 public:
  explicit Raw(int port) : ctx_(redisConnect("127.0.0.1", port)) {}
  ~Raw() { redisFree(ctx_); }
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
  redisContext* ctx_;
};

EntityKey Key(int64_t id) { return EntityKey{{"driver_id"}, {Value::Int64(id)}}; }
std::string RedisKey(int64_t id) { return *SerializeEntityKey(Key(id)) + "proj"; }

ViewSpec Stats(const std::string& view = "driver_stats") {
  return ViewSpec{"proj", view, {"conv_rate", "trips"}, {ValueType::kDouble, ValueType::kInt64}};
}

WriteRow Row(int64_t id, double rate, TimestampMicros ts, TimestampMicros created = 0) {
  return WriteRow{Key(id), {Value::Double(rate), Value::Int64(id)}, ts, created};
}

class RedisWritePathsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(redis_.Start({"--sanitize-dump-payload", "yes"}), ""); }
  std::unique_ptr<OnlineStore> Open() {
    RedisStoreOptions options;
    options.port = redis_.port();
    auto store = OpenRedisOnlineStore(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  double StoredRate(OnlineStore& store, int64_t id, const std::string& view = "driver_stats") {
    auto rows = store.Read(Stats(view), std::vector{Key(id)});
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok() || !(*rows)[0].found) return -1;
    return std::get<double>((*rows)[0].values[0].data);
  }
  RedisServer redis_;
};

TEST_F(RedisWritePathsTest, DumpPayloadIsWhatTheServerDumpsForTheSameHash) {
  Raw raw(redis_.port());
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"_ts:view", std::string("\x08\x80\xe4\xc1\xa7\x06", 6)},
      {"field-a", "value one"},
      {std::string("\x01\x02\x03\xff", 4), std::string("\x2d\x00\x00\x80\x3f", 5)},
      {"empty", ""}};
  std::vector<std::string> hset = {"HSET", "k"};
  std::vector<std::pair<std::string_view, std::string_view>> views;
  for (const auto& [f, v] : pairs) {
    hset.push_back(f);
    hset.push_back(v);
    views.emplace_back(f, v);
  }
  raw.Command(hset);
  auto dump = raw.Command({"DUMP", "k"});
  ASSERT_EQ(dump->type, REDIS_REPLY_STRING);
  std::string server(dump->str, dump->len);
  // The trailer is the server's RDB version (2 bytes) and the CRC; build ours with that version.
  const uint16_t version = static_cast<uint8_t>(server[server.size() - 10]) |
                           static_cast<uint16_t>(static_cast<uint8_t>(server[server.size() - 9]))
                               << 8;
  std::string ours, scratch;
  AppendHashDumpPayload(views, &ours, &scratch, version);
  EXPECT_EQ(ours, server);
}

TEST_F(RedisWritePathsTest, LongFieldsAndValuesRoundTripThroughRestore) {
  // Entries of 2- and 5-byte listpack encodings, and multi-byte backlens; the server validates
  // the payload deeply (sanitize-dump-payload yes).
  Raw raw(redis_.port());
  const std::string medium(100, 'm'), large(5000, 'L');
  std::vector<std::pair<std::string_view, std::string_view>> pairs = {
      {"a", medium}, {medium, "b"}, {"c", large}, {"d", ""}};
  std::string payload, scratch;
  AppendHashDumpPayload(pairs, &payload, &scratch);
  auto restored = raw.Command({"RESTORE", "long", "0", payload});
  ASSERT_EQ(restored->type, REDIS_REPLY_STATUS) << (restored->str ? restored->str : "");
  for (const auto& [field, value] : pairs) {
    auto got = raw.Command({"HGET", "long", std::string(field)});
    ASSERT_EQ(got->type, REDIS_REPLY_STRING) << field;
    EXPECT_EQ(std::string(got->str, got->len), value);
  }
  EXPECT_EQ(raw.Command({"HLEN", "long"})->integer, 4);
  // Redis's own commands keep working on the restored hash.
  raw.Command({"HSET", "long", "e", "1234"});
  EXPECT_EQ(raw.Command({"HLEN", "long"})->integer, 5);
  EXPECT_EQ(std::string(raw.Command({"HGET", "long", "a"})->str), medium);
}

TEST_F(RedisWritePathsTest, ExistingKeysAreComparedNotReplaced) {
  auto store = Open();
  ASSERT_TRUE(store);
  // Another view of the same entity already lives in the key: both must survive.
  ASSERT_TRUE(store->Write(Stats("other_view"), std::vector{Row(1, 7.0, kT0)}).ok());
  auto first = store->Write(Stats(), std::vector{Row(1, 1.0, kT0), Row(2, 2.0, kT0)});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->rows_written, 2);
  EXPECT_EQ(StoredRate(*store, 1), 1.0);
  EXPECT_EQ(StoredRate(*store, 1, "other_view"), 7.0);
  // Older and equal rows for existing keys are skipped; a newer one (by created ts) is written.
  auto second = store->Write(Stats(), std::vector{Row(1, 9.0, kT0 - 1), Row(2, 9.0, kT0),
                                                  Row(3, 3.0, kT0), Row(2, 5.0, kT0, 1)});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->rows_written, 2);
  EXPECT_EQ(second->rows_skipped_stale, 2);
  EXPECT_EQ(StoredRate(*store, 1), 1.0);
  EXPECT_EQ(StoredRate(*store, 2), 5.0);
  EXPECT_EQ(StoredRate(*store, 3), 3.0);
}

TEST_F(RedisWritePathsTest, ARowFeastWroteWithANewerTimestampIsKept) {
  auto store = Open();
  ASSERT_TRUE(store);
  Raw raw(redis_.port());
  // Feast's layout without our order field, event time kT0 + 1 s.
  raw.Command({"HSET", RedisKey(1), RedisTimestampField("driver_stats"),
               EncodeTimestampProto(kT0 + 1'000'000),
               RedisFeatureField("driver_stats", "conv_rate"),
               EncodeValueProto(Value::Double(42))});
  auto stats = store->Write(Stats(), std::vector{Row(1, 1.0, kT0)});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows_skipped_stale, 1);
  EXPECT_EQ(StoredRate(*store, 1), 42.0);
}

TEST_F(RedisWritePathsTest, DuplicateKeysInOneCallKeepTheNewest) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto stats = store->Write(
      Stats(), std::vector{Row(1, 2.0, kT0 + 2), Row(1, 1.0, kT0 + 1), Row(1, 3.0, kT0 + 3)});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(StoredRate(*store, 1), 3.0);
  EXPECT_EQ(stats->rows_written, 2);
  EXPECT_EQ(stats->rows_skipped_stale, 1);
}

TEST_F(RedisWritePathsTest, ConcurrentWritersNeverLetAnOlderRowWin) {
  // Two stores (two connections) write the same keys at the same time, one with newer rows.
  // Whatever the interleaving — RESTORE racing RESTORE, RESTORE racing the script — every key
  // must end with the newer row, and every newer row must count as written.
  auto newer_store = Open();
  auto older_store = Open();
  ASSERT_TRUE(newer_store && older_store);
  constexpr int kKeys = 20'000, kChunk = 500;
  for (int round = 0; round < 3; ++round) {
    const int64_t base = static_cast<int64_t>(round) * kKeys;
    int64_t newer_written = 0, older_total = 0;
    Status newer_status, older_status;
    auto writer = [&](OnlineStore& store, TimestampMicros ts, double rate, bool reverse,
                      int64_t* counted, Status* status, bool count_all) {
      for (int c = 0; c < kKeys / kChunk; ++c) {
        std::vector<WriteRow> rows;
        for (int i = 0; i < kChunk; ++i) {
          int k = c * kChunk + i;
          rows.push_back(Row(base + (reverse ? kKeys - 1 - k : k), rate, ts));
        }
        auto stats = store.Write(Stats(), rows);
        if (!stats.ok()) {
          *status = stats.status();
          return;
        }
        *counted += stats->rows_written + (count_all ? stats->rows_skipped_stale : 0);
      }
    };
    std::thread a(writer, std::ref(*newer_store), kT0 + 1, 2.0, round % 2 == 0, &newer_written,
                  &newer_status, false);
    std::thread b(writer, std::ref(*older_store), kT0, 1.0, round % 2 == 1, &older_total,
                  &older_status, true);
    a.join();
    b.join();
    ASSERT_TRUE(newer_status.ok()) << newer_status.ToString();
    ASSERT_TRUE(older_status.ok()) << older_status.ToString();
    EXPECT_EQ(newer_written, kKeys);
    EXPECT_EQ(older_total, kKeys);
    std::vector<EntityKey> keys;
    for (int k = 0; k < kKeys; ++k) keys.push_back(Key(base + k));
    auto rows = newer_store->Read(Stats(), keys);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    int wrong = 0;
    for (const ReadRow& row : *rows) {
      if (!row.found || row.event_ts != kT0 + 1 || row.values[0] != Value::Double(2.0)) ++wrong;
    }
    EXPECT_EQ(wrong, 0) << "round " << round;
  }
}

TEST_F(RedisWritePathsTest, AServerThatRefusesRestoreStillGetsEveryRow) {
  auto store = Open();
  ASSERT_TRUE(store);
  Raw raw(redis_.port());
  // What a managed Redis without RESTORE looks like: the command is not allowed.
  auto acl = raw.Command({"ACL", "SETUSER", "default", "-restore"});
  ASSERT_EQ(acl->type, REDIS_REPLY_STATUS);
  std::vector<WriteRow> rows;
  for (int i = 0; i < 300; ++i) rows.push_back(Row(i, i, kT0));
  auto stats = store->Write(Stats(), rows);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows_written, 300);
  EXPECT_EQ(StoredRate(*store, 299), 299.0);
  auto again = store->Write(Stats(), std::vector{Row(1, 5.0, kT0 + 1), Row(1000, 6.0, kT0)});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows_written, 2);
  EXPECT_EQ(StoredRate(*store, 1), 5.0);
}

}  // namespace
}  // namespace featureforge::online
