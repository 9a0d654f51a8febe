// Offline push: the pushed rows become one new Parquet file in the source's folder. Sources read
// as a folder (or "<folder>/*.parquet") pick it up on their next scan (union_by_name); a source
// that is one file cannot be appended to without rewriting it, so that is NotSupported.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "featureforge/offline/duckdb.h"
#include "server_internal.h"

namespace featureforge::worker::server {
namespace {

namespace fs = std::filesystem;

std::string SqlType(ValueType type) {
  switch (type) {
    case ValueType::kInt64:
      return "BIGINT";
    case ValueType::kInt32:
      return "INTEGER";
    case ValueType::kFloat:
      return "FLOAT";
    case ValueType::kDouble:
      return "DOUBLE";
    case ValueType::kBool:
      return "BOOLEAN";
    case ValueType::kString:
      return "VARCHAR";
    case ValueType::kBytes:
      return "BLOB";
    case ValueType::kUnixTimestamp:
      return "TIMESTAMP";
    default:
      if (IsListType(type)) return SqlType(ElementType(type)) + "[]";
      return "VARCHAR";
  }
}

std::string Quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string Number(double v) {
  if (std::isnan(v)) return "'NaN'";
  if (std::isinf(v)) return v > 0 ? "'Infinity'" : "'-Infinity'";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// Renders a value as a SQL literal of its column type (the caller casts it).
struct LiteralVisitor {
  ValueType type;
  std::string operator()(std::monostate) const { return "NULL"; }
  std::string operator()(bool b) const { return b ? "true" : "false"; }
  std::string operator()(int32_t i) const { return std::to_string(i); }
  std::string operator()(int64_t i) const {
    if (type == ValueType::kUnixTimestamp) return "make_timestamp(" + std::to_string(i) + ")";
    return std::to_string(i);
  }
  std::string operator()(float f) const { return Number(f); }
  std::string operator()(double d) const { return Number(d); }
  std::string operator()(const std::string& s) const {
    return type == ValueType::kBytes ? "unhex(" + Quote(Hex(s)) + ")" : Quote(s);
  }
  template <typename T>
  std::string operator()(const std::vector<T>& items) const {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += ", ";
      if constexpr (std::is_same_v<T, std::string>) {
        out += Quote(items[i]);
      } else if constexpr (std::is_same_v<T, bool>) {
        out += items[i] ? "true" : "false";
      } else if constexpr (std::is_floating_point_v<T>) {
        out += Number(items[i]);
      } else if (type == ValueType::kUnixTimestampList) {
        out += "make_timestamp(" + std::to_string(items[i]) + ")";
      } else {
        out += std::to_string(items[i]);
      }
    }
    return out + "]";
  }
};

std::string Literal(const Value& v) { return std::visit(LiteralVisitor{v.type}, v.data); }

// The folder new files go to, or NotSupported explaining why the source cannot take them.
Result<std::string> AppendFolder(const repo::Repo& repo, const repo::DataSource& source) {
  const std::string path = repo.ResolvePath(source.path);
  auto not_appendable = [&](const std::string& why) {
    return Status::NotSupported("offline push to source '" + source.name + "' (" + source.path +
                                "): " + why +
                                "; point the source at a folder of Parquet files to push offline");
  };
  if (path.find("://") != std::string::npos) return not_appendable("not a local path");
  if (source.format != repo::FileFormat::kParquet) return not_appendable("not a Parquet source");
  std::error_code ec;
  if (fs::is_directory(path, ec)) return path;
  fs::path p(path);
  const std::string name = p.filename().string();
  if ((name == "*.parquet" || name == "**/*.parquet") &&
      p.parent_path().string().find_first_of("*?[") == std::string::npos) {
    return p.parent_path().string();
  }
  if (path.find_first_of("*?[") != std::string::npos) {
    return not_appendable("a glob other than <folder>/*.parquet");
  }
  return not_appendable("it is a single file");
}

}  // namespace

Status AppendToOfflineSource(const repo::Repo& repo, const repo::DataSource& source,
                             const nlohmann::json& df, const std::vector<std::string>& columns,
                             const std::vector<ValueType>& types) {
  FF_ASSIGN_OR_RETURN(std::string folder, AppendFolder(repo, source));
  size_t rows = 0;
  for (const auto& col : columns) {
    if (!df.contains(col) || !df[col].is_array()) {
      return Status::InvalidArgument("df: missing column '" + col + "' for source '" + source.name +
                                     "'");
    }
    rows = df[col].size();
  }
  if (rows == 0) return Status::OK();

  std::string values;
  for (size_t r = 0; r < rows; ++r) {
    values += r ? ", (" : "(";
    for (size_t c = 0; c < columns.size(); ++c) {
      Value v;
      std::string problem;
      const nlohmann::json& cell = df[columns[c]][r];
      if (types[c] == ValueType::kUnixTimestamp && !cell.is_null()) {
        TimestampMicros ts = 0;
        if (!JsonToTimestamp(cell, &ts, &problem)) {
          return Status::InvalidArgument("df." + columns[c] + "[" + std::to_string(r) +
                                         "]: " + problem);
        }
        v = Value::UnixTimestamp(ts);
      } else if (!JsonToValue(cell, types[c], &v, &problem)) {
        return Status::InvalidArgument("df." + columns[c] + "[" + std::to_string(r) +
                                       "]: " + problem);
      }
      values +=
          (c ? ", " : "") + std::string("CAST(") + Literal(v) + " AS " + SqlType(types[c]) + ")";
    }
    values += ")";
  }
  std::string names;
  for (size_t c = 0; c < columns.size(); ++c) {
    names += (c ? ", " : "") + std::string("\"") + columns[c] + "\"";
  }
  static std::atomic<int> counter{0};
  const std::string stem = "push-" + std::to_string(SystemClock().Now()) + "-" +
                           std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const std::string tmp = folder + "/." + stem + ".parquet.tmp";
  const std::string final_path = folder + "/" + stem + ".parquet";
  FF_ASSIGN_OR_RETURN(auto conn, offline::DuckConnection::Open());
  FF_RETURN_IF_ERROR(conn->Execute("COPY (SELECT * FROM (VALUES " + values + ") AS t(" + names +
                                   ")) TO " + Quote(tmp) + " (FORMAT parquet)"));
  std::error_code ec;
  fs::rename(tmp, final_path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::IOError("publish offline push file " + final_path + ": " + ec.message());
  }
  return Status::OK();
}

}  // namespace featureforge::worker::server
