// The registry: what `featureforge apply` stored (a snapshot of the repo's definitions) and what
// has been materialized since (per-view intervals, the watermarks incremental runs start from).
// Kept in one Protobuf file or object, replaced atomically on every save.
//
// Where it lives (the `registry:` of feature_store.yaml, resolved against the repo root):
//   data/registry.pb, /abs/registry.pb, file:///abs/registry.pb    a local file
//   s3://bucket/path/registry.pb                                     an S3 object (AWS_* env)
//   mem://bucket/registry.pb                                         the in-memory store (tests)
// plus any scheme registered with RegisterObjectStoreScheme.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/repo/model.h"

namespace featureforge::registry {

namespace proto {
class Registry;
}

// One committed materialization of [start, end] (inclusive, UTC).
struct MaterializationInterval {
  TimestampMicros start = 0;
  TimestampMicros end = 0;
  int64_t rows_written = 0;
  TimestampMicros completed_at = 0;
  bool operator==(const MaterializationInterval&) const = default;
};

struct FeatureViewState {
  repo::FeatureView view;
  std::vector<MaterializationInterval> intervals;        // in recording order
  std::optional<TimestampMicros> last_materialized_end;  // the latest end of any interval
  int64_t rows_written = 0;                              // over every interval
  TimestampMicros created_at = 0;                        // first applied
  TimestampMicros updated_at = 0;                        // definition last changed
};

// Names per kind; sorted.
struct ObjectChanges {
  std::vector<std::string> created;
  std::vector<std::string> updated;
  std::vector<std::string> deleted;
  std::vector<std::string> unchanged;
  bool changed() const { return !created.empty() || !updated.empty() || !deleted.empty(); }
};

struct ApplyResult {
  ObjectChanges entities;
  ObjectChanges sources;
  ObjectChanges feature_views;
  ObjectChanges feature_services;
  // The registry held another project: everything it had was replaced, watermarks included.
  bool project_changed = false;
  bool changed() const {
    return project_changed || entities.changed() || sources.changed() || feature_views.changed() ||
           feature_services.changed();
  }
};

class Registry {
 public:
  // An empty registry: no project, nothing applied.
  Registry();
  ~Registry();
  Registry(const Registry& other);
  Registry& operator=(const Registry& other);
  Registry(Registry&& other) noexcept;
  Registry& operator=(Registry&& other) noexcept;

  // A missing file or object is NotFound; one that is not a complete registry (bad header,
  // truncated, checksum, unparsable) is Corruption. Every error names the path or URI.
  static Result<Registry> Load(const std::string& path);
  // Load, or an empty registry when the file does not exist yet.
  static Result<Registry> LoadOrEmpty(const std::string& path);
  // The registry and the version it was read at (see Version); an empty registry with an empty
  // version when it does not exist yet.
  static Result<std::pair<Registry, std::string>> LoadVersioned(const std::string& path);
  // The stored version: changes whenever the registry is replaced (local: inode/mtime/size;
  // S3: the ETag, one HEAD request). Empty when it does not exist yet. Cheap enough to poll.
  static Result<std::string> Version(const std::string& path);
  // Replaces the registry atomically: local files are written to a temp file in the same
  // folder, fsynced and renamed over `path` (creating the folder if needed); objects with one
  // PUT. Readers see the old or the new registry, never a partial one, and a failed save leaves
  // the old one as it was. Last writer wins: concurrent writers use Update.
  Status Save(const std::string& path) const;
  // Load (empty when missing) + `mutate` + Save, so processes that record runs side by side
  // (the operator, `featureforge materialize`, the feature server's /materialize) never lose
  // each other's changes. Nothing is saved when `mutate` fails; its status is returned.
  //   local files: under an exclusive flock on `<path>.lock`; `mutate` runs once.
  //   objects: optimistic concurrency. Read with its version, mutate, write only if the version
  //     is unchanged (S3 If-Match / If-None-Match); on Conflict re-read and run `mutate` again
  //     (so `mutate` must be safe to re-run on a fresh registry), up to kMaxUpdateAttempts.
  //     Threads of one process also take turns on an in-process lock per URI. When the store
  //     cannot write conditionally (an S3-compatible server that ignores If-Match, see
  //     S3Options::conditional_writes), the write is unconditional after re-checking the
  //     version: that narrows but does not close the race between processes, and a warning is
  //     logged once; run a single writer per registry there (see engine/src/registry/README.md).
  static Status Update(const std::string& path, const std::function<Status(Registry&)>& mutate);
  static constexpr int kMaxUpdateAttempts = 50;

  // Replaces the stored definitions with `repo`'s. Views that still exist keep their
  // materialization intervals (also when their definition changed); deleted views lose them.
  // When the registry held another project, everything is replaced.
  ApplyResult Apply(const repo::Repo& repo, TimestampMicros now = SystemClock().Now());

  // Records a committed materialization of `view` (call only after the online write committed).
  // NotFound for a view that is not applied; InvalidArgument when start > end or rows < 0.
  Status RecordMaterialization(const std::string& view, TimestampMicros start, TimestampMicros end,
                               int64_t rows_written, TimestampMicros completed_at);
  // The latest end of any recorded interval of `view`; nullopt when none (or unknown view).
  std::optional<TimestampMicros> LastMaterializedEnd(const std::string& view) const;

  const std::string& project() const;
  bool empty() const;  // nothing applied yet
  TimestampMicros last_updated() const;
  std::vector<repo::Entity> entities() const;
  std::vector<repo::DataSource> sources() const;
  std::vector<FeatureViewState> feature_views() const;
  std::optional<FeatureViewState> feature_view(const std::string& name) const;
  std::vector<repo::FeatureService> feature_services() const;

 private:
  // The stored bytes: magic, payload length, CRC-32, Protobuf payload.
  std::string Encode() const;
  // `where` names the file or URI in errors.
  static Result<Registry> Decode(const std::string& data, const std::string& where);

  std::unique_ptr<proto::Registry> proto_;
};

}  // namespace featureforge::registry
