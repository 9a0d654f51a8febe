// LocalObjectStore: files on the local filesystem, written atomically (temp + fsync + rename).
#include "featureforge/objectstore/local_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace featureforge {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTempMarker = ".ff-tmp-";
constexpr size_t kCopyBufferBytes = 1 << 20;

std::string ErrnoText(int err) { return std::strerror(err); }

// Closes the descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

std::string TempPathFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  fs::path target(path);
  std::string name = "." + target.filename().string() + std::string(kTempMarker) +
                     std::to_string(::getpid()) + "-" + std::to_string(counter++);
  return (target.parent_path() / name).string();
}

Status EnsureParentExists(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) return Status::OK();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) return Status::IOError("creating folder " + parent.string() + ": " + ec.message());
  return Status::OK();
}

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("writing " + path + ": " + ErrnoText(errno));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::OK();
}

// Opens a fresh temp file next to `path`; `fill` writes its content; then fsync + rename.
template <typename Fill>
Status WriteViaTemp(const std::string& path, Fill fill) {
  if (path.empty()) return Status::InvalidArgument("file path is empty");
  FF_RETURN_IF_ERROR(EnsureParentExists(path));
  std::string temp = TempPathFor(path);
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Status::IOError("creating " + temp + ": " + ErrnoText(errno));
  Status status = fill(fd.get(), temp);
  if (status.ok() && ::fsync(fd.get()) != 0) {
    status = Status::IOError("syncing " + temp + ": " + ErrnoText(errno));
  }
  if (::close(fd.Release()) != 0 && status.ok()) {
    status = Status::IOError("closing " + temp + ": " + ErrnoText(errno));
  }
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = Status::IOError("renaming " + temp + " to " + path + ": " + ErrnoText(errno));
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  // Make the rename itself durable (best effort: some filesystems refuse to fsync a folder).
  std::string folder = fs::path(path).parent_path().string();
  Fd dir_fd(::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return Status::OK();
}

Result<int> OpenForRead(const std::string& path, const std::string& uri) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound("object not found: " + uri);
    return Status::IOError("opening " + path + ": " + ErrnoText(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(uri + " is a folder, not an object");
  }
  return fd;
}

// Reads the rest of `fd` into `out`.
Status ReadAll(int fd, const std::string& path, std::string* out) {
  char buffer[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("reading " + path + ": " + ErrnoText(errno));
    }
    if (n == 0) return Status::OK();
    out->append(buffer, static_cast<size_t>(n));
  }
}

// Copies `source_fd` to `path` atomically.
Status CopyToFile(int source_fd, const std::string& source_name, const std::string& path) {
  return WriteViaTemp(path, [&](int out_fd, const std::string& temp) -> Status {
    std::string buffer(kCopyBufferBytes, '\0');
    while (true) {
      ssize_t n = ::read(source_fd, buffer.data(), buffer.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("reading " + source_name + ": " + ErrnoText(errno));
      }
      if (n == 0) return Status::OK();
      FF_RETURN_IF_ERROR(WriteAll(out_fd, buffer.data(), static_cast<size_t>(n), temp));
    }
  });
}

}  // namespace

Result<std::string> LocalPathFromUri(std::string_view uri) {
  FF_ASSIGN_OR_RETURN(ObjectUri parsed, ParseObjectUri(uri));
  if (!parsed.scheme.empty() && parsed.scheme != "file") {
    return Status::InvalidArgument("'" + std::string(uri) + "' is not a local path or file:// URI");
  }
  if (parsed.path.empty()) return Status::InvalidArgument("local path is empty");
  return parsed.path;
}

Status WriteFileAtomically(const std::string& path, std::string_view data) {
  return WriteViaTemp(path, [&](int fd, const std::string& temp) {
    return WriteAll(fd, data.data(), data.size(), temp);
  });
}

Result<std::string> LocalObjectStore::Get(const std::string& uri) {
  FF_ASSIGN_OR_RETURN(std::string path, LocalPathFromUri(uri));
  FF_ASSIGN_OR_RETURN(int raw_fd, OpenForRead(path, uri));
  Fd fd(raw_fd);
  std::string out;
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  FF_RETURN_IF_ERROR(ReadAll(fd.get(), path, &out));
  return out;
}

namespace {

// Writes replace the file by rename, so a new write always means a new inode.
std::string FileVersion(const struct stat& st) {
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_size);
}

}  // namespace

Result<VersionedObject> LocalObjectStore::GetVersioned(const std::string& uri) {
  FF_ASSIGN_OR_RETURN(std::string path, LocalPathFromUri(uri));
  FF_ASSIGN_OR_RETURN(int raw_fd, OpenForRead(path, uri));
  Fd fd(raw_fd);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return Status::IOError("checking " + path + ": " + ErrnoText(errno));
  }
  VersionedObject out;
  out.version = FileVersion(st);
  out.data.reserve(static_cast<size_t>(st.st_size));
  FF_RETURN_IF_ERROR(ReadAll(fd.get(), path, &out.data));
  return out;
}

Result<std::optional<std::string>> LocalObjectStore::CurrentVersion(const std::string& uri) {
  FF_ASSIGN_OR_RETURN(std::string path, LocalPathFromUri(uri));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return Status::IOError("checking " + path + ": " + ErrnoText(errno));
  }
  return std::optional<std::string>(FileVersion(st));
}

Status LocalObjectStore::GetToFile(const std::string& uri, const std::string& local_path) {
  FF_ASSIGN_OR_RETURN(std::string path, LocalPathFromUri(uri));
  FF_ASSIGN_OR_RETURN(int raw_fd, OpenForRead(path, uri));
  Fd fd(raw_fd);
  return CopyToFile(fd.get(), path, local_path);
}

Status LocalObjectStore::Put(const std::string& uri, std::string_view data) {
  FF_ASSIGN_OR_RETURN(std::string path, LocalPathFromUri(uri));
  return WriteFileAtomically(path, data);
}

Status LocalObjectStore::PutFile(const std::string& uri, const std::string& local_path) {
  FF_ASSIGN_OR_RETURN(std::string path, LocalPathFromUri(uri));
  Fd fd(::open(local_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::IOError("opening " + local_path + ": " + ErrnoText(errno));
  return CopyToFile(fd.get(), local_path, path);
}

Result<bool> LocalObjectStore::Exists(const std::string& uri) {
  FF_ASSIGN_OR_RETURN(std::string path, LocalPathFromUri(uri));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return Status::IOError("checking " + path + ": " + ErrnoText(errno));
  }
  return S_ISREG(st.st_mode);
}

Result<std::vector<std::string>> LocalObjectStore::List(const std::string& prefix_uri) {
  FF_ASSIGN_OR_RETURN(std::string prefix, LocalPathFromUri(prefix_uri));
  const bool as_file_uri = ObjectUriScheme(prefix_uri) == "file";
  fs::path folder = prefix.back() == '/' ? fs::path(prefix) : fs::path(prefix).parent_path();
  if (folder.empty()) folder = ".";
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return out;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec);
  if (ec) return Status::IOError("listing " + folder.string() + ": " + ec.message());
  const bool implicit_dot = prefix.back() != '/' && fs::path(prefix).parent_path().empty();
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IOError("listing " + folder.string() + ": " + ec.message());
    std::string path = it->path().string();
    // "x" as prefix walks "." but paths must come back as "x...", not "./x...".
    if (implicit_dot && path.rfind("./", 0) == 0) path.erase(0, 2);
    if (it->is_directory(ec)) {
      // Only descend where matches can be: the folder is inside the prefix or leads to it.
      std::string as_folder = path + "/";
      bool relevant = as_folder.rfind(prefix, 0) == 0 || prefix.rfind(as_folder, 0) == 0;
      if (!relevant) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    if (path.rfind(prefix, 0) != 0) continue;
    if (it->path().filename().string().find(kTempMarker) != std::string::npos) continue;
    out.push_back(as_file_uri ? "file://" + path : path);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status LocalObjectStore::Delete(const std::string& uri) {
  FF_ASSIGN_OR_RETURN(std::string path, LocalPathFromUri(uri));
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(uri + " is a folder, not an object");
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
    return Status::IOError("deleting " + path + ": " + ErrnoText(errno));
  }
  return Status::OK();
}

}  // namespace featureforge
