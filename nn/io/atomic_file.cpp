#include "ctdl/nn/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ctdl/tensor/error.h"

namespace ctdl::nn {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  temp_ = path_ + ".tmp." + std::to_string(getpid());
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  CTDL_CHECK(fd_ >= 0, "AtomicFile: cannot create '", temp_, "' (to write '", path_,
             "'): ", std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  CTDL_CHECK(!committed_, "AtomicFile: '", path_, "' was already committed");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    CTDL_CHECK(n > 0, "AtomicFile: writing '", temp_, "' failed: ", std::strerror(errno));
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  CTDL_CHECK(!committed_, "AtomicFile: '", path_, "' was already committed");
  CTDL_CHECK(::fsync(fd_) == 0, "AtomicFile: fsync of '", temp_,
             "' failed: ", std::strerror(errno));
  int rc = ::close(fd_);
  fd_ = -1;
  CTDL_CHECK(rc == 0, "AtomicFile: closing '", temp_, "' failed: ", std::strerror(errno));
  CTDL_CHECK(::rename(temp_.c_str(), path_.c_str()) == 0, "AtomicFile: renaming '", temp_, "' to '",
             path_, "' failed: ", std::strerror(errno));
  committed_ = true;
  // The rename lives in the folder's entry table: sync it too.
  std::string folder = std::filesystem::path(path_).parent_path().string();
  int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomically(const std::string& path, const std::string& content) {
  AtomicFile file(path);
  file.write(content.data(), content.size());
  file.commit();
}

}  // namespace ctdl::nn
