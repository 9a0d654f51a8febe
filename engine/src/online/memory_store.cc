#include "featureforge/online/memory_store.h"

#include <map>
#include <mutex>

#include "featureforge/online/serialization.h"
#include "store_util.h"

namespace featureforge::online {
namespace {

class MemoryOnlineStore final : public OnlineStore {
 public:
  Result<WriteStats> Write(const ViewSpec& view, std::span<const WriteRow> rows) override {
    FF_RETURN_IF_ERROR(ValidateWriteRows(view, rows));
    std::lock_guard lock(mu_);
    auto& table = tables_[{view.project, view.view}];
    WriteStats stats;
    for (const WriteRow& row : rows) {
      std::string key;
      SerializeEntityKeyTo(row.entity_key, &key);
      auto it = table.find(key);
      if (it != table.end() &&
          !(row.event_ts > it->second.event_ts ||
            (row.event_ts == it->second.event_ts && row.created_ts > it->second.created_ts))) {
        ++stats.rows_skipped_stale;
        continue;
      }
      StoredRow stored{row.event_ts, row.created_ts, {}};
      for (size_t i = 0; i < view.feature_names.size(); ++i) {
        stored.values[view.feature_names[i]] = row.values[i];
      }
      table[key] = std::move(stored);
      ++stats.rows_written;
    }
    return stats;
  }

  Result<std::vector<ReadRow>> Read(const ViewSpec& view,
                                    std::span<const EntityKey> keys) override {
    std::vector<ReadRow> out(keys.size());
    std::lock_guard lock(mu_);
    auto table = tables_.find({view.project, view.view});
    for (size_t i = 0; i < keys.size(); ++i) {
      FF_ASSIGN_OR_RETURN(std::string key, SerializeEntityKey(keys[i]));
      out[i].values.assign(view.feature_names.size(), Value::Null());
      if (table == tables_.end()) continue;
      auto it = table->second.find(key);
      if (it == table->second.end()) continue;
      out[i].found = true;
      out[i].event_ts = it->second.event_ts;
      for (size_t f = 0; f < view.feature_names.size(); ++f) {
        auto v = it->second.values.find(view.feature_names[f]);
        if (v != it->second.values.end()) out[i].values[f] = v->second;
      }
    }
    return out;
  }

  Status DeleteView(const std::string& project, const std::string& view) override {
    std::lock_guard lock(mu_);
    tables_.erase({project, view});
    return Status::OK();
  }

  std::string Describe() const override { return "memory:"; }

 private:
  struct StoredRow {
    TimestampMicros event_ts = 0;
    TimestampMicros created_ts = 0;
    std::map<std::string, Value> values;
  };
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::map<std::string, StoredRow>> tables_;
};

}  // namespace

std::unique_ptr<OnlineStore> NewMemoryOnlineStore() {
  return std::make_unique<MemoryOnlineStore>();
}

}  // namespace featureforge::online
