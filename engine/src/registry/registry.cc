#include "featureforge/registry/registry.h"

#include <fcntl.h>
#include <google/protobuf/util/message_differencer.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "registry.pb.h"
#include "registry_codec.h"

namespace featureforge::registry {
namespace {

namespace fs = std::filesystem;

// File layout: magic, payload length (u64 LE), CRC-32 of the payload (u32 LE), payload. Protobuf
// alone parses many truncated or garbled files without complaint; the frame makes them fail.
constexpr char kMagic[] = "FFREGPB1";
constexpr size_t kMagicSize = 8;
constexpr size_t kHeaderSize = kMagicSize + 8 + 4;

void PutLittleEndian(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t GetLittleEndian(const std::string& data, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(data[offset + i])) << (8 * i);
  }
  return value;
}

Status CheckLocalPath(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("registry path is empty");
  if (path.rfind("s3://", 0) == 0) {
    return Status::NotSupported("registry on S3 (" + path + "): use a local path for now");
  }
  if (path.find("://") != std::string::npos) {
    return Status::NotSupported("registry at " + path + ": only local files");
  }
  return Status::OK();
}

std::string ErrnoText() { return std::strerror(errno); }

Status WriteAll(int fd, const std::string& data) {
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError(ErrnoText());
    written += static_cast<size_t>(n);
  }
  return Status::OK();
}

template <typename Message>
bool SameDefinition(Message a, Message b) {
  // Moving a definition within its file is not a change.
  a.clear_location();
  b.clear_location();
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

void SortChanges(ObjectChanges* changes) {
  for (auto* names :
       {&changes->created, &changes->updated, &changes->deleted, &changes->unchanged}) {
    std::sort(names->begin(), names->end());
  }
}

// Replaces `stored` (entities, sources or services) with `models`, recording what changed.
template <typename Message, typename Model>
ObjectChanges ReplaceObjects(google::protobuf::RepeatedPtrField<Message>* stored,
                             const std::vector<Model>& models) {
  ObjectChanges changes;
  std::map<std::string, const Message*> old_by_name;
  for (const auto& message : *stored) old_by_name[message.name()] = &message;
  google::protobuf::RepeatedPtrField<Message> replacement;
  for (const auto& model : models) {
    Message message = ToProto(model);
    auto old = old_by_name.find(model.name);
    if (old == old_by_name.end()) {
      changes.created.push_back(model.name);
    } else {
      (SameDefinition(*old->second, message) ? changes.unchanged : changes.updated)
          .push_back(model.name);
      old_by_name.erase(old);
    }
    *replacement.Add() = std::move(message);
  }
  for (const auto& [name, message] : old_by_name) changes.deleted.push_back(name);
  stored->Swap(&replacement);
  SortChanges(&changes);
  return changes;
}

FeatureViewState ToState(const proto::FeatureView& stored) {
  FeatureViewState state;
  state.view = FromProto(stored.definition());
  for (const auto& interval : stored.intervals()) {
    state.intervals.push_back({interval.start_micros(), interval.end_micros(),
                               interval.rows_written(), interval.completed_at_micros()});
    state.rows_written += interval.rows_written();
    if (!state.last_materialized_end || interval.end_micros() > *state.last_materialized_end) {
      state.last_materialized_end = interval.end_micros();
    }
  }
  state.created_at = stored.created_at_micros();
  state.updated_at = stored.updated_at_micros();
  return state;
}

}  // namespace

Registry::Registry() : proto_(std::make_unique<proto::Registry>()) {}
Registry::~Registry() = default;
Registry::Registry(const Registry& other)
    : proto_(std::make_unique<proto::Registry>(*other.proto_)) {}
Registry& Registry::operator=(const Registry& other) {
  if (this != &other) *proto_ = *other.proto_;
  return *this;
}
// A moved-from registry stays usable (empty), so proto_ is never null.
Registry::Registry(Registry&& other) noexcept : proto_(std::make_unique<proto::Registry>()) {
  proto_.swap(other.proto_);
}
Registry& Registry::operator=(Registry&& other) noexcept {
  proto_.swap(other.proto_);
  return *this;
}

Result<Registry> Registry::Load(const std::string& path) {
  FF_RETURN_IF_ERROR(CheckLocalPath(path));
  std::error_code error;
  if (!fs::exists(path, error)) return Status::NotFound("registry file not found: " + path);
  if (fs::is_directory(path, error)) {
    return Status::IOError("registry path " + path + " is a folder, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot open registry file " + path + ": " + ErrnoText());
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read registry file " + path);
  const std::string data = buffer.str();

  auto corrupt = [&](const std::string& why) {
    return Status::Corruption("registry file " + path + " is corrupt: " + why);
  };
  if (data.size() < kHeaderSize || data.compare(0, kMagicSize, kMagic) != 0) {
    return corrupt("not a featureforge registry (bad header)");
  }
  const uint64_t length = GetLittleEndian(data, kMagicSize, 8);
  const uint32_t checksum = static_cast<uint32_t>(GetLittleEndian(data, kMagicSize + 8, 4));
  if (length != data.size() - kHeaderSize) {
    return corrupt("expected " + std::to_string(length) + " bytes of content, found " +
                   std::to_string(data.size() - kHeaderSize) + " (truncated or extended)");
  }
  const std::string payload = data.substr(kHeaderSize);
  if (Crc32(payload) != checksum) return corrupt("checksum mismatch");
  Registry registry;
  if (!registry.proto_->ParseFromString(payload)) return corrupt("content does not parse");
  return registry;
}

Result<Registry> Registry::LoadOrEmpty(const std::string& path) {
  auto loaded = Load(path);
  if (!loaded.ok() && loaded.status().code() == StatusCode::kNotFound) return Registry();
  return loaded;
}

Status Registry::Save(const std::string& path) const {
  FF_RETURN_IF_ERROR(CheckLocalPath(path));
  std::string payload;
  if (!proto_->SerializeToString(&payload)) {
    return Status::Internal("cannot serialize the registry for " + path);
  }
  std::string data(kMagic, kMagicSize);
  PutLittleEndian(payload.size(), 8, &data);
  PutLittleEndian(Crc32(payload), 4, &data);
  data += payload;

  const fs::path target(path);
  const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) {
    return Status::IOError("cannot create folder " + folder.string() +
                           " for the registry: " + error.message());
  }
  static std::atomic<uint64_t> counter{0};
  const std::string temp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError("cannot create " + temp + " to save the registry: " + ErrnoText());
  }
  Status status = WriteAll(fd, data);
  if (status.ok() && ::fsync(fd) != 0) status = Status::IOError(ErrnoText());
  if (::close(fd) != 0 && status.ok()) status = Status::IOError(ErrnoText());
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = Status::IOError(ErrnoText());
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return Status::IOError("cannot save the registry to " + path + ": " + status.message());
  }
  // Make the rename itself durable.
  int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Status::OK();
}

Status Registry::Update(const std::string& path, const std::function<Status(Registry&)>& mutate) {
  FF_RETURN_IF_ERROR(CheckLocalPath(path));
  const fs::path target(path);
  std::error_code error;
  if (!target.parent_path().empty()) fs::create_directories(target.parent_path(), error);
  const std::string lock_path = path + ".lock";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) {
    return Status::IOError("cannot open registry lock " + lock_path + ": " + ErrnoText());
  }
  int rc;
  do {
    rc = ::flock(lock_fd, LOCK_EX);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    Status status = Status::IOError("cannot lock " + lock_path + ": " + ErrnoText());
    ::close(lock_fd);
    return status;
  }
  Status status;
  auto loaded = LoadOrEmpty(path);
  if (!loaded.ok()) {
    status = loaded.status();
  } else {
    status = mutate(*loaded);
    if (status.ok()) status = loaded->Save(path);
  }
  ::close(lock_fd);  // releases the lock
  return status;
}

ApplyResult Registry::Apply(const repo::Repo& repo, TimestampMicros now) {
  ApplyResult result;
  if (!proto_->project().empty() && proto_->project() != repo.config.project) {
    result.project_changed = true;
    proto::Registry fresh;
    proto_->Swap(&fresh);
  }
  proto_->set_project(repo.config.project);
  result.entities = ReplaceObjects(proto_->mutable_entities(), repo.entities);
  result.sources = ReplaceObjects(proto_->mutable_sources(), repo.sources);
  result.feature_services =
      ReplaceObjects(proto_->mutable_feature_services(), repo.feature_services);

  // Views keep their intervals while they exist, whatever changed in their definition.
  std::map<std::string, proto::FeatureView*> old_views;
  for (auto& stored : *proto_->mutable_feature_views()) {
    old_views[stored.definition().name()] = &stored;
  }
  google::protobuf::RepeatedPtrField<proto::FeatureView> views;
  ObjectChanges& changes = result.feature_views;
  for (const auto& view : repo.feature_views) {
    proto::FeatureView* record = views.Add();
    *record->mutable_definition() = ToProto(view);
    auto old = old_views.find(view.name);
    if (old == old_views.end()) {
      changes.created.push_back(view.name);
      record->set_created_at_micros(now);
      record->set_updated_at_micros(now);
      continue;
    }
    const bool same = SameDefinition(old->second->definition(), record->definition());
    (same ? changes.unchanged : changes.updated).push_back(view.name);
    record->mutable_intervals()->Swap(old->second->mutable_intervals());
    record->set_created_at_micros(old->second->created_at_micros());
    record->set_updated_at_micros(same ? old->second->updated_at_micros() : now);
    old_views.erase(old);
  }
  for (const auto& [name, record] : old_views) changes.deleted.push_back(name);
  proto_->mutable_feature_views()->Swap(&views);
  SortChanges(&changes);
  if (result.changed() || proto_->last_updated_micros() == 0) proto_->set_last_updated_micros(now);
  return result;
}

Status Registry::RecordMaterialization(const std::string& view, TimestampMicros start,
                                       TimestampMicros end, int64_t rows_written,
                                       TimestampMicros completed_at) {
  if (start > end) {
    return Status::InvalidArgument("materialization of '" + view + "': start " +
                                   FormatTimestamp(start) + " is after end " +
                                   FormatTimestamp(end));
  }
  if (rows_written < 0) {
    return Status::InvalidArgument("materialization of '" + view + "': negative row count " +
                                   std::to_string(rows_written));
  }
  for (auto& stored : *proto_->mutable_feature_views()) {
    if (stored.definition().name() != view) continue;
    proto::MaterializationInterval* interval = stored.add_intervals();
    interval->set_start_micros(start);
    interval->set_end_micros(end);
    interval->set_rows_written(rows_written);
    interval->set_completed_at_micros(completed_at);
    proto_->set_last_updated_micros(std::max(proto_->last_updated_micros(), completed_at));
    return Status::OK();
  }
  return Status::NotFound("feature view '" + view + "' is not in the registry (run apply first)");
}

std::optional<TimestampMicros> Registry::LastMaterializedEnd(const std::string& view) const {
  auto state = feature_view(view);
  return state ? state->last_materialized_end : std::nullopt;
}

const std::string& Registry::project() const { return proto_->project(); }
bool Registry::empty() const { return proto_->project().empty(); }
TimestampMicros Registry::last_updated() const { return proto_->last_updated_micros(); }

std::vector<repo::Entity> Registry::entities() const {
  std::vector<repo::Entity> out;
  for (const auto& entity : proto_->entities()) out.push_back(FromProto(entity));
  return out;
}

std::vector<repo::DataSource> Registry::sources() const {
  std::vector<repo::DataSource> out;
  for (const auto& source : proto_->sources()) out.push_back(FromProto(source));
  return out;
}

std::vector<FeatureViewState> Registry::feature_views() const {
  std::vector<FeatureViewState> out;
  for (const auto& stored : proto_->feature_views()) out.push_back(ToState(stored));
  return out;
}

std::optional<FeatureViewState> Registry::feature_view(const std::string& name) const {
  for (const auto& stored : proto_->feature_views()) {
    if (stored.definition().name() == name) return ToState(stored);
  }
  return std::nullopt;
}

std::vector<repo::FeatureService> Registry::feature_services() const {
  std::vector<repo::FeatureService> out;
  for (const auto& service : proto_->feature_services()) out.push_back(FromProto(service));
  return out;
}

}  // namespace featureforge::registry
