// Engine benchmarks for materialization and historical retrieval. Every figure is printed
// beside a limit measured in the same run on the same machine:
//   throughput  featureforge materialize into SQLite and Redis (1M entities x 10 features), vs
//               redis-benchmark pipelined SETs of the same payload per entity
//   rss         peak RSS of featureforge materialize with a small chunk size at 1M and 10M rows,
//               vs the same run over one chunk's worth of rows
//   pit         featureforge get-historical-features (1M entity rows x 5 views x 10 features),
//               vs the hand-written DuckDB ASOF query on the same data
// Run by hand (not by ctest): build/bench/materialize/ff-bench-engine [--quick]
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "featureforge/offline/duckdb.h"
#include "featureforge/testutil/testutil.h"
#include "measured_process.h"

namespace featureforge::bench {
namespace {

namespace fs = std::filesystem;
using offline::DuckConnection;

struct Options {
  int64_t entities = 1'000'000;
  std::vector<int64_t> rss_rows = {1'000'000, 10'000'000};
  int64_t chunk_size = 1000;
  int64_t pit_entity_rows = 1'000'000;
  int64_t pit_feature_entities = 100'000;
  std::string only;
  std::string workdir;
  std::string binary_dir;
};

constexpr int kFeatures = 10;

// "load average: 1.19, 1.10, 1.49" — printed next to every figure (the machine is shared).
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double one = 0, five = 0, fifteen = 0;
  in >> one >> five >> fifteen;
  char text[96];
  std::snprintf(text, sizeof(text), "load average %.2f, %.2f, %.2f", one, five, fifteen);
  return text;
}

// CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat.
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void Die(const std::string& message) {
  std::fprintf(stderr, "ff-bench-engine: %s\n", message.c_str());
  std::exit(1);
}

void Check(const Status& status, const std::string& what) {
  if (!status.ok()) Die(what + ": " + status.ToString());
}

std::string FeatureColumnsSql() {
  std::string cols;
  for (int f = 0; f < kFeatures; ++f) cols += ", CAST(random() AS FLOAT) AS f" + std::to_string(f);
  return cols;
}

// Writes <repo>/data/<name>.parquet with `entities` x `rows_per_entity` rows, hourly.
void WriteSource(DuckConnection& db, const std::string& path, int64_t entities,
                 int64_t rows_per_entity) {
  Check(db.Execute("COPY (SELECT e AS entity_id, TIMESTAMP '2024-01-01' + to_hours(h) AS "
                   "event_timestamp" +
                   FeatureColumnsSql() + " FROM range(1, " + std::to_string(entities) +
                   " + 1) a(e), range(0, " + std::to_string(rows_per_entity) + ") b(h)) TO " +
                   offline::QuoteLiteral(path) + " (FORMAT parquet)"),
        "write " + path);
}

// A repo with one entity and the given views (name -> source path).
void WriteRepo(const std::string& root, const std::string& online_store_yaml,
               const std::vector<std::pair<std::string, std::string>>& views, int64_t chunk_size) {
  fs::create_directories(root + "/data");
  std::ofstream(root + "/feature_store.yaml")
      << "project: bench\nregistry: data/registry.pb\nprovider: local\n"
      << "offline_store:\n  type: duckdb\n"
      << online_store_yaml << "batch_engine:\n  type: local\n  chunk_size: " << chunk_size
      << "\nentity_key_serialization_version: 3\n";
  std::string sources, fviews;
  for (const auto& [name, path] : views) {
    sources += "  - name: " + name + "_source\n    path: " + path +
               "\n    timestamp_field: event_timestamp\n";
    std::string schema = "      - {name: entity_id, dtype: Int64}\n";
    for (int f = 0; f < kFeatures; ++f) {
      schema += "      - {name: f" + std::to_string(f) + ", dtype: Float32}\n";
    }
    fviews += "  - name: " + name + "\n    entities: [entity]\n    ttl: 30d\n    source: " + name +
              "_source\n    schema:\n" + schema;
  }
  std::ofstream(root + "/definitions.yaml")
      << "entities:\n  - name: entity\n    join_keys: [entity_id]\n    value_type: INT64\n"
      << "sources:\n"
      << sources << "feature_views:\n"
      << fviews;
}

std::string SqliteStore() { return "online_store:\n  type: sqlite\n  path: data/online.db\n"; }
std::string RedisStore(const testutil::RedisServer& redis) {
  return "online_store:\n  type: redis\n  connection_string: \"" + redis.address() + "\"\n";
}

Measurement Featureforge(const Options& o, const std::string& repo, std::vector<std::string> args) {
  std::vector<std::string> argv = {o.binary_dir + "/worker/featureforge", "--repo", repo};
  argv.insert(argv.end(), args.begin(), args.end());
  Measurement m = RunMeasured(argv);
  if (m.exit_code != 0) Die("featureforge failed:\n" + m.output);
  return m;
}

struct Limit {
  double rps = 0;
  double server_cpu_us_per_op = 0;
};

Limit RedisBenchmarkSet(const testutil::RedisServer& redis, int64_t requests, int payload,
                        int clients) {
  const double cpu_before = ProcessCpuSeconds(redis.pid());
  Measurement m =
      RunMeasured({"redis-benchmark", "-h", redis.host(), "-p", std::to_string(redis.port()), "-t",
                   "set", "-n", std::to_string(requests), "-P", "64", "-c", std::to_string(clients),
                   "-d", std::to_string(payload), "-r", std::to_string(requests), "--csv", "-q"});
  if (m.exit_code != 0) Die("redis-benchmark failed:\n" + m.output);
  // "SET","512345.67",...
  std::smatch match;
  if (!std::regex_search(m.output, match, std::regex("\"SET\",\"([0-9.]+)\""))) {
    Die("cannot parse redis-benchmark output:\n" + m.output);
  }
  Limit limit;
  limit.rps = std::stod(match[1]);
  limit.server_cpu_us_per_op = (ProcessCpuSeconds(redis.pid()) - cpu_before) * 1e6 / requests;
  return limit;
}

// Bytes of one stored entity (key + every field and value), from a random key.
int RedisPayloadBytes(const testutil::RedisServer& redis) {
  Measurement m =
      RunMeasured({"redis-cli", "-h", redis.host(), "-p", std::to_string(redis.port()), "EVAL",
                   "local k = redis.call('RANDOMKEY'); local t = redis.call('HGETALL', k); "
                   "local n = #k; for i = 1, #t do n = n + #t[i] end; return n",
                   "0"});
  if (m.exit_code != 0) Die("redis-cli failed:\n" + m.output);
  return std::stoi(m.output);
}

void Throughput(const Options& o) {
  std::string repo = o.workdir + "/throughput";
  auto db = DuckConnection::Open();
  Check(db.status(), "duckdb");
  fs::create_directories(repo + "/data");
  WriteSource(**db, repo + "/data/bench_view.parquet", o.entities, 1);
  // A second day with a newer row per entity: materializing it updates every existing key.
  Check((*db)->Execute("COPY (SELECT entity_id, event_timestamp + INTERVAL 1 DAY AS "
                       "event_timestamp, * EXCLUDE (entity_id, event_timestamp) FROM " +
                       offline::QuoteLiteral(repo + "/data/bench_view.parquet") + ") TO " +
                       offline::QuoteLiteral(repo + "/data/bench_view_day2.parquet") +
                       " (FORMAT parquet)"),
        "day 2 source");
  WriteRepo(repo, SqliteStore(), {{"bench_view", "data/bench_view*.parquet"}}, 10000);
  Featureforge(o, repo, {"apply"});
  const std::vector<std::string> day1 = {"materialize", "2024-01-01", "2024-01-01T23:59:59", "-q"};
  const std::vector<std::string> day2 = {"materialize", "2024-01-02", "2024-01-02T23:59:59", "-q"};
  const std::string load_start = LoadAverage();
  Measurement sqlite = Featureforge(o, repo, day1);

  testutil::RedisServer redis;
  if (std::string error = redis.Start(); !error.empty()) Die(error);
  WriteRepo(repo, RedisStore(redis), {{"bench_view", "data/bench_view*.parquet"}}, 10000);
  double cpu = ProcessCpuSeconds(redis.pid());
  Measurement ours = Featureforge(o, repo, day1);
  const double ours_server_us = (ProcessCpuSeconds(redis.pid()) - cpu) * 1e6 / o.entities;
  cpu = ProcessCpuSeconds(redis.pid());
  Measurement update = Featureforge(o, repo, day2);
  const double update_server_us = (ProcessCpuSeconds(redis.pid()) - cpu) * 1e6 / o.entities;
  int payload = RedisPayloadBytes(redis);
  Limit limit_50 = RedisBenchmarkSet(redis, o.entities, payload, 50);
  Limit limit_1 = RedisBenchmarkSet(redis, o.entities, payload, 1);
  const std::string load_end = LoadAverage();
  auto rate = [&](const Measurement& m) { return o.entities / m.wall_seconds; };
  auto client_us = [&](const Measurement& m) {
    return (m.user_seconds + m.sys_seconds) * 1e6 / o.entities;
  };
  std::printf("\n## Materialization throughput (%lld entities x %d features)\n\n",
              static_cast<long long>(o.entities), kFeatures);
  std::printf("%s at the start, %s at the end.\n\n", load_start.c_str(), load_end.c_str());
  std::printf(
      "| run | wall s | entities/s | featureforge CPU us/entity | redis-server CPU us/entity | "
      "vs limit |\n|---|---|---|---|---|---|\n");
  std::printf("| featureforge -> SQLite (new keys) | %.2f | %.0f | %.1f | | |\n",
              sqlite.wall_seconds, rate(sqlite), client_us(sqlite));
  std::printf(
      "| featureforge -> Redis (new keys) | %.2f | %.0f | %.1f | %.2f | **%.2f** of the 50-client "
      "limit, %.2f of the 1-client limit |\n",
      ours.wall_seconds, rate(ours), client_us(ours), ours_server_us, rate(ours) / limit_50.rps,
      rate(ours) / limit_1.rps);
  std::printf(
      "| featureforge -> Redis (every key exists, newer rows) | %.2f | %.0f | %.1f | %.2f | %.2f "
      "of the 50-client limit, %.2f of the 1-client limit |\n",
      update.wall_seconds, rate(update), client_us(update), update_server_us,
      rate(update) / limit_50.rps, rate(update) / limit_1.rps);
  std::printf("| redis-benchmark SET -P 64 -c 50, %d B values | | %.0f | | %.2f | limit |\n",
              payload, limit_50.rps, limit_50.server_cpu_us_per_op);
  std::printf("| redis-benchmark SET -P 64 -c 1, %d B values | | %.0f | | %.2f | limit |\n",
              payload, limit_1.rps, limit_1.server_cpu_us_per_op);
  std::printf(
      "\nPayload: %d B = key + every field name and value of one stored entity (HGETALL of a "
      "random key); redis-benchmark sends that many value bytes per SET plus its 16 B key, over "
      "%lld requests on random keys (-r).\nTarget: Redis (new keys) >= 0.50 of the limit.\n",
      payload, static_cast<long long>(o.entities));
  std::printf("Output of the update run: %s\n", update.output.c_str());
}

// One row per store of the peak-RSS table.
void PeakMemoryFor(const Options& o, const std::string& store_name, DuckConnection& db,
                   const testutil::RedisServer* redis) {
  std::vector<int64_t> sizes = {o.chunk_size};
  sizes.insert(sizes.end(), o.rss_rows.begin(), o.rss_rows.end());
  long baseline = 0;
  for (int64_t rows : sizes) {
    std::string repo = o.workdir + "/rss_" + std::to_string(rows);
    if (!fs::exists(repo + "/data/bench_view.parquet")) {
      fs::create_directories(repo + "/data");
      WriteSource(db, repo + "/data/bench_view.parquet", std::max<int64_t>(1, rows / 10), 10);
    }
    fs::remove(repo + "/data/online.db");
    fs::remove(repo + "/data/online.db-wal");
    fs::remove(repo + "/data/online.db-shm");
    fs::remove(repo + "/data/registry.pb");
    WriteRepo(repo, redis ? RedisStore(*redis) : SqliteStore(),
              {{"bench_view", "data/bench_view.parquet"}}, o.chunk_size);
    Featureforge(o, repo, {"apply"});
    Measurement m = Featureforge(o, repo, {"materialize", "2024-01-01", "2024-01-02", "-q"});
    if (baseline == 0) baseline = m.max_rss_kib;
    std::printf("| %s | %lld | %.2f | %.1f | %.2fx | %s |\n", store_name.c_str(),
                static_cast<long long>(rows), m.wall_seconds, m.max_rss_kib / 1024.0,
                static_cast<double>(m.max_rss_kib) / baseline, LoadAverage().c_str());
    std::fflush(stdout);
  }
}

void PeakMemory(const Options& o) {
  auto db = DuckConnection::Open();
  Check(db.status(), "duckdb");
  std::printf("\n## Peak RSS, chunk size %lld (10 rows per entity, 10 features)\n\n",
              static_cast<long long>(o.chunk_size));
  std::printf(
      "Peak RSS of the whole featureforge process (wait4 ru_maxrss). The first row of each store "
      "is the one-chunk run (%lld rows): the chunk-size footprint.\n\n",
      static_cast<long long>(o.chunk_size));
  std::printf("| store | rows | wall s | peak RSS MiB | vs one-chunk run | load |\n");
  std::printf("|---|---|---|---|---|---|\n");
  testutil::RedisServer redis;
  if (std::string error = redis.Start(); !error.empty()) Die(error);
  PeakMemoryFor(o, "Redis", **db, &redis);
  PeakMemoryFor(o, "SQLite", **db, nullptr);
  std::printf("\nTarget: within 2x of the one-chunk run, flat from 1M to 10M rows.\n");
}

void PointInTime(const Options& o) {
  std::string repo = o.workdir + "/pit";
  fs::create_directories(repo + "/data");
  auto db = DuckConnection::Open();
  Check(db.status(), "duckdb");
  std::vector<std::pair<std::string, std::string>> views;
  for (int v = 1; v <= 5; ++v) {
    std::string name = "view" + std::to_string(v);
    WriteSource(**db, repo + "/data/" + name + ".parquet", o.pit_feature_entities, 10);
    views.emplace_back(name, "data/" + name + ".parquet");
  }
  Check((*db)->Execute(
            "COPY (SELECT CAST(1 + floor(random() * " + std::to_string(o.pit_feature_entities) +
            ") AS BIGINT) AS entity_id, TIMESTAMP '2024-01-01' + "
            "to_seconds(CAST(floor(random() * 12 * 3600) AS BIGINT)) AS "
            "event_timestamp FROM range(0, " +
            std::to_string(o.pit_entity_rows) + ")) TO " +
            offline::QuoteLiteral(repo + "/data/entities.parquet") + " (FORMAT parquet)"),
        "entities");
  WriteRepo(repo, SqliteStore(), views, 10000);
  Featureforge(o, repo, {"apply"});
  std::string features;
  for (const auto& [name, path] : views) features += (features.empty() ? "" : ",") + name;
  Measurement ours = Featureforge(
      o, repo,
      {"get-historical-features", "--entities", repo + "/data/entities.parquet", "--features",
       features, "--full-feature-names", "--output", repo + "/data/ours.parquet", "--show", "0"});

  // The hand-written query: chained ASOF joins, ttl applied to the matched row.
  auto fresh = DuckConnection::Open();
  Check(fresh.status(), "duckdb");
  std::string select = "e.entity_id, e.event_timestamp";
  std::string joins;
  for (const auto& [name, path] : views) {
    for (int f = 0; f < kFeatures; ++f) {
      select += ", CASE WHEN " + name +
                ".event_timestamp >= e.event_timestamp - INTERVAL 30 DAY "
                "THEN " +
                name + ".f" + std::to_string(f) + " END AS " + name + "__f" + std::to_string(f);
    }
    joins += " ASOF LEFT JOIN read_parquet(" + offline::QuoteLiteral(repo + "/" + path) + ") " +
             name + " ON e.entity_id = " + name + ".entity_id AND e.event_timestamp >= " + name +
             ".event_timestamp";
  }
  auto start = std::chrono::steady_clock::now();
  Check((*fresh)->Execute("COPY (SELECT " + select + " FROM read_parquet(" +
                          offline::QuoteLiteral(repo + "/data/entities.parquet") + ") e" + joins +
                          ") TO " + offline::QuoteLiteral(repo + "/data/baseline.parquet") +
                          " (FORMAT parquet)"),
        "baseline ASOF query");
  double baseline = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("\n## Point-in-time retrieval (%lld entity rows x 5 views x %d features)\n\n",
              static_cast<long long>(o.pit_entity_rows), kFeatures);
  std::printf("%s\n\n| run | wall s | ratio |\n|---|---|---|\n", LoadAverage().c_str());
  std::printf("| featureforge get-historical-features | %.2f | %.2fx |\n", ours.wall_seconds,
              ours.wall_seconds / baseline);
  std::printf("| hand-written DuckDB ASOF query | %.2f | limit |\n", baseline);
  std::printf("\nTarget: <= 1.5x.\n");
}

}  // namespace
}  // namespace featureforge::bench

int main(int argc, char** argv) {
  using featureforge::bench::Options;
  Options o;
  bool quick = false;
  CLI::App app{"featureforge engine benchmarks (materialization throughput, peak RSS, PIT)"};
  app.add_flag("--quick", quick, "small sizes, to check the benchmark itself runs");
  app.add_option("--entities", o.entities, "entities for the throughput run");
  app.add_option("--rss-rows", o.rss_rows, "row counts for the peak-RSS runs")->delimiter(',');
  app.add_option("--chunk-size", o.chunk_size, "chunk size for the peak-RSS runs");
  app.add_option("--pit-entity-rows", o.pit_entity_rows, "entity rows for the PIT run");
  app.add_option("--only", o.only, "throughput | rss | pit");
  app.add_option("--workdir", o.workdir, "where data goes (default: a temp dir, removed)");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    o.entities = 20000;
    o.rss_rows = {100000, 200000};
    o.pit_entity_rows = 20000;
    o.pit_feature_entities = 2000;
  }
  o.binary_dir = std::filesystem::canonical("/proc/self/exe")
                     .parent_path()
                     .parent_path()
                     .parent_path()
                     .string();
  std::unique_ptr<featureforge::testutil::TempDir> tmp;
  if (o.workdir.empty()) {
    tmp = std::make_unique<featureforge::testutil::TempDir>("ff-bench");
    o.workdir = tmp->path();
  }
  if (o.only.empty() || o.only == "throughput") featureforge::bench::Throughput(o);
  if (o.only.empty() || o.only == "rss") featureforge::bench::PeakMemory(o);
  if (o.only.empty() || o.only == "pit") featureforge::bench::PointInTime(o);
  return 0;
}
