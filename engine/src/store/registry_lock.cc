#include "registry_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace featureforge::store {

Result<RegistryLock> RegistryLock::Acquire(const std::string& registry_path) {
  std::string lock_path = registry_path + ".lock";
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(lock_path).parent_path(), ec);
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError("cannot open registry lock " + lock_path + ": " + std::strerror(errno));
  }
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return Status::IOError("cannot lock " + lock_path + ": " + std::strerror(err));
  }
  return RegistryLock(fd);
}

RegistryLock::RegistryLock(RegistryLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

RegistryLock::~RegistryLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

}  // namespace featureforge::store
