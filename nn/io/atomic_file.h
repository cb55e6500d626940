// Writing a file so that readers see either the old content or the new, never a mix: the
// data goes to a temporary file in the same folder, is flushed to disk (fsync), and is then
// renamed over the target (an atomic replacement on POSIX file systems); the folder is
// synced too, so the rename itself survives a crash.
//
//   nn::AtomicFile out("run/checkpoint.safetensors");
//   out.write(header.data(), header.size());
//   out.write(data, n);
//   out.commit();          // without commit (an exception, a crash), the target is untouched
#pragma once

#include <cstddef>
#include <string>

namespace ctdl::nn {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  // fsync, rename over the target, fsync the folder.
  void commit();
  const std::string& temporary_path() const { return temp_; }

 private:
  std::string path_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole content at once.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace ctdl::nn
