// The raw Redis cost of what /get-online-features does for N entities x F features: one
// pipeline of N HMGETs (F feature fields + the row timestamp field each), over one connection,
// sequentially, like one feature server thread. Prints p50/p99/mean latency and requests/s.
#include <hiredis/hiredis.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "featureforge/online/serialization.h"

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string project = "bench";
  std::string view = "wide_stats";
  int features = 50;
  int entities = 1;
  int64_t first_driver = 1001;
  int iterations = 20000;
  CLI::App app{"Raw Redis round trip of the feature server's online read"};
  app.add_option("--host", host);
  app.add_option("--port", port);
  app.add_option("--project", project);
  app.add_option("--view", view);
  app.add_option("--features", features, "features f00.. per entity");
  app.add_option("--entities", entities, "entities per request (pipelined HMGETs)");
  app.add_option("--first-driver", first_driver);
  app.add_option("--iterations", iterations);
  CLI11_PARSE(app, argc, argv);

  using featureforge::EntityKey;
  using featureforge::Value;
  std::vector<std::string> keys;
  for (int i = 0; i < entities; ++i) {
    EntityKey key{{"driver_id"}, {Value::Int64(first_driver + i)}};
    std::string bytes;
    featureforge::online::SerializeEntityKeyTo(key, &bytes);
    keys.push_back(bytes + project);
  }
  std::vector<std::string> fields;
  for (int f = 0; f < features; ++f) {
    char name[16];
    std::snprintf(name, sizeof(name), "f%02d", f);
    fields.push_back(featureforge::online::RedisFeatureField(view, name));
  }
  fields.push_back(featureforge::online::RedisTimestampField(view));

  redisContext* ctx = redisConnect(host.c_str(), port);
  if (ctx == nullptr || ctx->err) {
    std::fprintf(stderr, "connect %s:%d failed\n", host.c_str(), port);
    return 1;
  }
  std::vector<const char*> argv_ptrs;
  std::vector<size_t> argv_lens;
  auto build = [&](const std::string& key) {
    argv_ptrs.assign({"HMGET", key.data()});
    argv_lens.assign({5, key.size()});
    for (const auto& f : fields) {
      argv_ptrs.push_back(f.data());
      argv_lens.push_back(f.size());
    }
  };
  std::vector<double> micros;
  micros.reserve(iterations);
  int64_t found = 0;
  auto all_start = std::chrono::steady_clock::now();
  for (int it = 0; it < iterations; ++it) {
    auto start = std::chrono::steady_clock::now();
    for (const auto& key : keys) {
      build(key);
      redisAppendCommandArgv(ctx, static_cast<int>(argv_ptrs.size()), argv_ptrs.data(),
                             argv_lens.data());
    }
    for (size_t k = 0; k < keys.size(); ++k) {
      void* reply = nullptr;
      if (redisGetReply(ctx, &reply) != REDIS_OK) {
        std::fprintf(stderr, "redis error: %s\n", ctx->errstr);
        return 1;
      }
      auto* r = static_cast<redisReply*>(reply);
      if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
          r->element[r->elements - 1]->type == REDIS_REPLY_STRING) {
        ++found;
      }
      freeReplyObject(reply);
    }
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
  }
  double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - all_start).count();
  std::sort(micros.begin(), micros.end());
  double sum = 0;
  for (double m : micros) sum += m;
  auto pct = [&](double p) { return micros[static_cast<size_t>(p * (micros.size() - 1))]; };
  std::printf(
      "redis_rtt entities=%d features=%d iterations=%d p50_us=%.1f p99_us=%.1f mean_us=%.1f "
      "req_per_s=%.0f found_rows=%lld\n",
      entities, features, iterations, pct(0.5), pct(0.99), sum / micros.size(),
      iterations / total_s, static_cast<long long>(found));
  redisFree(ctx);
  return found == static_cast<int64_t>(iterations) * entities ? 0 : 2;
}
