// Registry storage: the framed file format, local files (WriteFileAtomically: temp + fsync +
// rename; flock for Update) and object stores (one PUT, optimistic concurrency for Update).
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "featureforge/objectstore/local_store.h"
#include "featureforge/objectstore/object_store.h"
#include "featureforge/registry/registry.h"
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

// Where a registry lives: a local file (plain path or file://) or an object URI.
struct Location {
  bool local = true;
  std::string path;  // the local file path, or the object URI
};

Result<Location> Locate(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("registry path is empty");
  if (!IsLocalObjectUri(path)) return Location{false, path};
  auto local = LocalPathFromUri(path);
  if (!local.ok()) return local.status().WithContext("registry " + path);
  return Location{true, *local};
}

std::string ErrnoText() { return std::strerror(errno); }

// Holds an exclusive flock on a file for its lifetime.
class FileLock {
 public:
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  Status Acquire(const std::string& lock_path) {
    fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      return Status::IOError("cannot open registry lock " + lock_path + ": " + ErrnoText());
    }
    int rc;
    do {
      rc = ::flock(fd_, LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return Status::IOError("cannot lock " + lock_path + ": " + ErrnoText());
    return Status::OK();
  }

 private:
  int fd_ = -1;
};

// One mutex per object URI: threads of one process take turns instead of conflicting.
std::mutex& InProcessLock(const std::string& uri) {
  static std::mutex mu;
  static auto* locks = new std::map<std::string, std::unique_ptr<std::mutex>>();
  std::lock_guard<std::mutex> guard(mu);
  auto& slot = (*locks)[uri];
  if (!slot) slot = std::make_unique<std::mutex>();
  return *slot;
}

// Jittered, capped exponential backoff between optimistic attempts.
void SleepBeforeRetry(int attempt) {
  int64_t cap_ms = 5;
  for (int i = 1; i < attempt && cap_ms < 500; ++i) cap_ms *= 2;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> delay(1, std::min<int64_t>(cap_ms, 500));
  std::this_thread::sleep_for(std::chrono::milliseconds(delay(rng)));
}

void WarnUnconditionalOnce(const std::string& uri, const Status& why) {
  static std::mutex mu;
  static auto* warned = new std::map<std::string, bool>();
  std::lock_guard<std::mutex> guard(mu);
  if ((*warned)[uri]) return;
  (*warned)[uri] = true;
  spdlog::warn(
      "registry {}: {}; updates re-check the version and then write unconditionally, which "
      "is safe with one writer process per registry only",
      uri, why.message());
}

}  // namespace

std::string Registry::Encode() const {
  std::string payload;
  proto_->SerializeToString(&payload);
  std::string data(kMagic, kMagicSize);
  PutLittleEndian(payload.size(), 8, &data);
  PutLittleEndian(Crc32(payload), 4, &data);
  data += payload;
  return data;
}

Result<Registry> Registry::Decode(const std::string& data, const std::string& where) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption("registry " + where + " is corrupt: " + why);
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

Result<std::pair<Registry, std::string>> Registry::LoadVersioned(const std::string& path) {
  FF_ASSIGN_OR_RETURN(Location where, Locate(path));
  if (where.local) {
    std::error_code error;
    if (fs::is_directory(where.path, error)) {
      return Status::IOError("registry path " + path + " is a folder, not a file");
    }
  }
  std::shared_ptr<ObjectStore> store;
  if (where.local) {
    store = std::make_shared<LocalObjectStore>();
  } else {
    auto opened = OpenObjectStore(where.path);
    if (!opened.ok()) return opened.status().WithContext("registry " + path);
    store = *opened;
  }
  auto read = store->GetVersioned(where.path);
  if (!read.ok()) {
    if (read.status().code() == StatusCode::kNotFound) {
      return std::pair<Registry, std::string>(Registry(), "");
    }
    return read.status().WithContext("cannot read registry " + path);
  }
  FF_ASSIGN_OR_RETURN(Registry registry, Decode(read->data, path));
  return std::pair<Registry, std::string>(std::move(registry), std::move(read->version));
}

Result<Registry> Registry::Load(const std::string& path) {
  FF_ASSIGN_OR_RETURN(auto loaded, LoadVersioned(path));
  if (loaded.second.empty()) {
    return Status::NotFound(std::string(IsLocalObjectUri(path) ? "registry file" : "registry") +
                            " not found: " + path);
  }
  return std::move(loaded.first);
}

Result<Registry> Registry::LoadOrEmpty(const std::string& path) {
  FF_ASSIGN_OR_RETURN(auto loaded, LoadVersioned(path));
  return std::move(loaded.first);
}

Result<std::string> Registry::Version(const std::string& path) {
  FF_ASSIGN_OR_RETURN(Location where, Locate(path));
  Result<std::optional<std::string>> version = std::optional<std::string>();
  if (where.local) {
    version = LocalObjectStore().CurrentVersion(where.path);
  } else {
    auto store = OpenObjectStore(where.path);
    if (!store.ok()) return store.status().WithContext("registry " + path);
    version = (*store)->CurrentVersion(where.path);
  }
  if (!version.ok()) return version.status().WithContext("registry " + path);
  return version->value_or("");
}

Status Registry::Save(const std::string& path) const {
  FF_ASSIGN_OR_RETURN(Location where, Locate(path));
  const std::string data = Encode();
  if (where.local) {
    Status saved = WriteFileAtomically(where.path, data);
    if (!saved.ok()) return saved.WithContext("cannot save the registry to " + path);
    return Status::OK();
  }
  auto store = OpenObjectStore(where.path);
  if (!store.ok()) return store.status().WithContext("registry " + path);
  Status saved = (*store)->Put(where.path, data);
  if (!saved.ok()) return saved.WithContext("cannot save the registry to " + path);
  return Status::OK();
}

Status Registry::Update(const std::string& path, const std::function<Status(Registry&)>& mutate) {
  FF_ASSIGN_OR_RETURN(Location where, Locate(path));
  if (where.local) {
    const fs::path target(where.path);
    std::error_code error;
    if (!target.parent_path().empty()) fs::create_directories(target.parent_path(), error);
    FileLock lock;
    FF_RETURN_IF_ERROR(lock.Acquire(where.path + ".lock"));
    FF_ASSIGN_OR_RETURN(Registry registry, LoadOrEmpty(where.path));
    FF_RETURN_IF_ERROR(mutate(registry));
    return registry.Save(where.path);
  }

  std::lock_guard<std::mutex> in_process(InProcessLock(path));
  auto opened = OpenObjectStore(path);
  if (!opened.ok()) return opened.status().WithContext("registry " + path);
  ObjectStore& store = **opened;
  Status last_conflict;
  for (int attempt = 1; attempt <= kMaxUpdateAttempts; ++attempt) {
    if (attempt > 1) SleepBeforeRetry(attempt - 1);
    FF_ASSIGN_OR_RETURN(auto loaded, LoadVersioned(path));
    auto& [registry, version] = loaded;
    FF_RETURN_IF_ERROR(mutate(registry));
    const std::string data = registry.Encode();
    auto written = store.PutIfVersion(path, data, version);
    if (written.ok()) return Status::OK();
    if (written.status().code() == StatusCode::kConflict) {
      last_conflict = written.status();
      continue;
    }
    if (written.status().code() != StatusCode::kNotSupported) {
      return written.status().WithContext("cannot save the registry to " + path);
    }
    // No conditional writes here: narrow the window as far as a plain PUT allows.
    WarnUnconditionalOnce(path, written.status());
    auto current = store.CurrentVersion(path);
    if (!current.ok()) return current.status().WithContext("registry " + path);
    if (current->value_or("") != version) {
      last_conflict = Status::Conflict("registry " + path + " changed while it was updated");
      continue;
    }
    Status saved = store.Put(path, data);
    if (!saved.ok()) return saved.WithContext("cannot save the registry to " + path);
    return Status::OK();
  }
  return Status::Conflict(
      "registry " + path + ": gave up after " + std::to_string(kMaxUpdateAttempts) +
      " attempts, other writers kept changing it; last: " + last_conflict.message());
}

}  // namespace featureforge::registry
