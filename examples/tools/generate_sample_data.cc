// Generates the sample repo's data with DuckDB: hourly driver statistics over N days (with late
// corrections that share an event timestamp but carry a newer `created`), daily labels, and an
// entity dataframe for historical retrieval.
//
//   ff-sample-data --repo examples/driver_ranking [--drivers 500] [--days 30] [--end TS] [--seed 7]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

#include "featureforge/common/time.h"
#include "featureforge/offline/duckdb.h"

using featureforge::Status;
using featureforge::offline::DuckConnection;
using featureforge::offline::QuoteLiteral;

namespace {

struct Options {
  std::string repo;
  int drivers = 500;
  int days = 30;
  std::string end;  // default: the current hour
  double seed = 0.7;
};

Status Generate(const Options& options, featureforge::TimestampMicros end) {
  namespace fs = std::filesystem;
  fs::path data = fs::path(options.repo) / "data";
  std::error_code ec;
  fs::create_directories(data, ec);
  if (ec) return Status::IOError("cannot create " + data.string() + ": " + ec.message());

  auto conn = DuckConnection::Open();
  if (!conn.ok()) return conn.status();
  DuckConnection& db = **conn;
  const std::string end_sql =
      "make_timestamp(" + std::to_string(end) + ")";  // microseconds since epoch
  const std::string hours = std::to_string(options.days * 24);
  const std::string first_driver = "1001";
  const std::string last_driver = std::to_string(1000 + options.drivers);

  FF_RETURN_IF_ERROR(db.Execute("SELECT setseed(" + std::to_string(options.seed) + ")"));
  FF_RETURN_IF_ERROR(db.Execute(
      "CREATE TABLE stats AS "
      "SELECT d AS driver_id, "
      "       " + end_sql + " - to_hours(h) AS event_timestamp, "
      "       " + end_sql + " - to_hours(h) + to_seconds(CAST(floor(random() * 3000) AS BIGINT)) "
      "           AS created, "
      "       CAST(random() AS FLOAT) AS conv_rate, "
      "       CAST(random() AS FLOAT) AS acc_rate, "
      "       CAST(floor(random() * 1000) AS BIGINT) AS avg_daily_trips "
      "FROM range(" + first_driver + ", " + last_driver + " + 1) r(d), range(1, " + hours +
      " + 1) t(h)"));
  // About 1% late corrections: same driver and event time, newer created, new values.
  FF_RETURN_IF_ERROR(db.Execute(
      "INSERT INTO stats SELECT driver_id, event_timestamp, created + INTERVAL 2 HOUR, "
      "CAST(random() AS FLOAT), CAST(random() AS FLOAT), CAST(floor(random() * 1000) AS BIGINT) "
      "FROM stats WHERE random() < 0.01"));
  FF_RETURN_IF_ERROR(db.Execute("COPY (SELECT * FROM stats ORDER BY event_timestamp, driver_id) TO " +
                                QuoteLiteral((data / "driver_stats.parquet").string()) +
                                " (FORMAT parquet)"));
  FF_RETURN_IF_ERROR(db.Execute(
      "COPY (SELECT d AS driver_id, " + end_sql + " - to_days(day) AS event_timestamp, "
      "random() < 0.6 AS completed_next_trip "
      "FROM range(" + first_driver + ", " + last_driver + " + 1) r(d), range(0, " +
      std::to_string(options.days) + ") t(day) ORDER BY event_timestamp, driver_id) TO " +
      QuoteLiteral((data / "driver_labels.csv").string()) + " (FORMAT csv, HEADER)"));
  FF_RETURN_IF_ERROR(db.Execute(
      "COPY (SELECT CAST(" + first_driver + " + floor(random() * " +
      std::to_string(options.drivers) + ") AS BIGINT) AS driver_id, " + end_sql +
      " - to_seconds(CAST(floor(random() * " + hours + " * 3600) AS BIGINT)) AS event_timestamp "
      "FROM range(0, 1000)) TO " + QuoteLiteral((data / "driver_entities.parquet").string()) +
      " (FORMAT parquet)"));
  auto rows = db.QueryScalar("SELECT count(*) FROM stats");
  if (!rows.ok()) return rows.status();
  std::printf("wrote %s rows of driver stats for %d drivers over %d days ending %s into %s\n",
              rows->value_or("0").c_str(), options.drivers, options.days,
              featureforge::FormatTimestamp(end).c_str(), data.string().c_str());
  return Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Generates the sample feature repo's data (driver statistics) with DuckDB."};
  app.add_option("--repo", options.repo, "feature repo folder; data goes to <repo>/data")
      ->required();
  app.add_option("--drivers", options.drivers, "number of drivers")->check(CLI::Range(1, 10000000));
  app.add_option("--days", options.days, "days of hourly history")->check(CLI::Range(1, 3650));
  app.add_option("--end", options.end, "last event timestamp (UTC); default: the current hour");
  app.add_option("--seed", options.seed, "random seed in [0, 1]")->check(CLI::Range(0.0, 1.0));
  CLI11_PARSE(app, argc, argv);

  featureforge::TimestampMicros end;
  if (options.end.empty()) {
    const int64_t hour = 3600 * featureforge::kMicrosPerSecond;
    end = featureforge::SystemClock().Now() / hour * hour;
  } else {
    auto parsed = featureforge::ParseTimestamp(options.end);
    if (!parsed.ok()) {
      std::fprintf(stderr, "error: --end: %s\n", parsed.status().message().c_str());
      return 2;
    }
    end = *parsed;
  }
  Status status = Generate(options, end);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
