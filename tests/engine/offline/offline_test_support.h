// Shared by the offline, materialize and retrieval tests: a scratch repo folder, data files
// written by DuckDB, and an in-memory OnlineStore test double.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "featureforge/offline/duck_values.h"
#include "featureforge/offline/duckdb.h"
#include "featureforge/online/online_store.h"
#include "featureforge/repo/model.h"

namespace featureforge {
// Readable gtest failure messages for values.
inline void PrintTo(const Value& value, std::ostream* os) {
  *os << ValueTypeName(value.type) << "(" << value.ToString() << ")";
}
}  // namespace featureforge

namespace featureforge::testing {

#define FF_ASSERT_OK(expr)                                  \
  do {                                                      \
    ::featureforge::Status _s = (expr);                     \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

template <typename T>
T ValueOrDie(Result<T> result) {
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) std::abort();
  return std::move(result).value();
}

// A fresh folder under the system temp dir, removed when the object goes away.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ =
        (std::filesystem::temp_directory_path() / ("ff_offline_test_" + std::to_string(::getpid()) +
                                                   "_" + std::to_string(counter.fetch_add(1))))
            .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_ + "/data");
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& relative) const { return path_ + "/" + relative; }

 private:
  std::string path_;
};

// A DuckDB connection for writing and reading test files.
inline offline::DuckConnection& TestDb() {
  static std::unique_ptr<offline::DuckConnection> db = [] {
    auto conn = ValueOrDie(offline::DuckConnection::Open());
    EXPECT_TRUE(conn->Execute("SET TimeZone = 'UTC'").ok());
    return conn;
  }();
  return *db;
}

// COPY (select_sql) TO path, as Parquet or (for .csv) CSV with a header.
inline void WriteFile(const std::string& path, const std::string& select_sql) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const bool csv = path.size() > 4 && path.substr(path.size() - 4) == ".csv";
  Status status = TestDb().Execute("COPY (" + select_sql + ") TO " + offline::QuoteLiteral(path) +
                                   (csv ? " (FORMAT CSV, HEADER)" : " (FORMAT PARQUET)"));
  ASSERT_TRUE(status.ok()) << status.ToString();
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Reads every row of `sql`, converting column i with types[i].
inline std::vector<std::vector<Value>> ReadRows(offline::DuckConnection& db, const std::string& sql,
                                                const std::vector<ValueType>& types) {
  std::vector<std::vector<Value>> rows;
  auto result = db.Query(sql);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) return rows;
  EXPECT_EQ((*result)->column_count(), types.size()) << sql;
  while (true) {
    auto chunk = (*result)->Next();
    EXPECT_TRUE(chunk.ok()) << chunk.status().ToString();
    if (!chunk.ok() || *chunk == nullptr) break;
    const uint64_t n = (*chunk)->size();
    std::vector<std::vector<Value>> columns(types.size());
    for (size_t c = 0; c < types.size(); ++c) {
      Status s = offline::AppendVectorValues((*chunk)->column(c), n, types[c],
                                             "column " + std::to_string(c), &columns[c]);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok()) return rows;
    }
    for (uint64_t r = 0; r < n; ++r) {
      std::vector<Value> row;
      for (size_t c = 0; c < types.size(); ++c) row.push_back(columns[c][r]);
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

// A repo with one INT64 entity "driver" (join key driver_id), rooted at `root`.
inline repo::Repo MakeRepo(const std::string& root) {
  repo::Repo repo;
  repo.root = root;
  repo.config.project = "test_project";
  repo::Entity driver;
  driver.name = "driver";
  driver.join_keys = {"driver_id"};
  driver.value_type = ValueType::kInt64;
  repo.entities.push_back(driver);
  return repo;
}

inline repo::DataSource MakeSource(const std::string& name, const std::string& path,
                                   const std::string& created_column = "") {
  repo::DataSource source;
  source.name = name;
  source.path = path;
  source.format = path.size() > 4 && path.substr(path.size() - 4) == ".csv"
                      ? repo::FileFormat::kCsv
                      : repo::FileFormat::kParquet;
  source.timestamp_field = "event_timestamp";
  source.created_timestamp_column = created_column;
  return source;
}

inline repo::FeatureView MakeView(const std::string& name, const std::string& source,
                                  std::vector<repo::Field> features, DurationMicros ttl = 0) {
  repo::FeatureView view;
  view.name = name;
  view.entities = {"driver"};
  view.source = source;
  view.features = std::move(features);
  view.ttl = ttl;
  return view;
}

inline repo::Field MakeField(const std::string& name, ValueType type) {
  repo::Field field;
  field.name = name;
  field.type = type;
  return field;
}

// An in-memory OnlineStore with the contract of the real ones (a write never replaces a value
// with an older or equally old one) that records the size of every Write call.
class InMemoryOnlineStore : public online::OnlineStore {
 public:
  struct Stored {
    TimestampMicros event_ts = 0;
    TimestampMicros created_ts = 0;
    std::vector<Value> values;
  };

  Result<online::WriteStats> Write(const online::ViewSpec& view,
                                   std::span<const online::WriteRow> rows) override {
    if (fail_after_writes_ >= 0 && static_cast<int>(batch_sizes_.size()) >= fail_after_writes_) {
      return Status::Unavailable("in-memory store: injected failure");
    }
    batch_sizes_.push_back(static_cast<int64_t>(rows.size()));
    online::WriteStats stats;
    auto& table = data_[view.project + "/" + view.view];
    for (const auto& row : rows) {
      EXPECT_EQ(row.values.size(), view.feature_names.size());
      const std::string key = row.entity_key.ToString();
      auto it = table.find(key);
      if (it != table.end() && it->second.event_ts >= row.event_ts) {
        stats.rows_skipped_stale++;
        continue;
      }
      table[key] = Stored{row.event_ts, row.created_ts, row.values};
      stats.rows_written++;
    }
    return stats;
  }

  Result<std::vector<online::ReadRow>> Read(const online::ViewSpec& view,
                                            std::span<const EntityKey> keys) override {
    std::vector<online::ReadRow> out;
    auto& table = data_[view.project + "/" + view.view];
    for (const auto& key : keys) {
      online::ReadRow row;
      auto it = table.find(key.ToString());
      if (it != table.end()) {
        row.found = true;
        row.event_ts = it->second.event_ts;
        row.values = it->second.values;
      }
      out.push_back(std::move(row));
    }
    return out;
  }

  Status DeleteView(const std::string& project, const std::string& view) override {
    data_.erase(project + "/" + view);
    return Status::OK();
  }
  std::string Describe() const override { return "memory:"; }

  // key ("driver_id=7") -> stored row, for one view.
  const std::map<std::string, Stored>& Table(const std::string& project, const std::string& view) {
    return data_[project + "/" + view];
  }
  const std::vector<int64_t>& batch_sizes() const { return batch_sizes_; }
  // Every Write after the first `n` fails.
  void FailAfterWrites(int n) { fail_after_writes_ = n; }

 private:
  std::map<std::string, std::map<std::string, Stored>> data_;
  std::vector<int64_t> batch_sizes_;
  int fail_after_writes_ = -1;
};

}  // namespace featureforge::testing
