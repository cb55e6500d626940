// Reading data files whole: plain, gzip-compressed, or members of a tar archive. Every
// malformed input is an Error naming the file and the byte offset at fault; nothing is read
// past what the file holds.
//
//   std::vector<uint8_t> bytes = nn::data::read_maybe_gzip("t10k-labels-idx1-ubyte.gz");
//   nn::data::TarArchive tar("cifar10-test-jpg.tar.gz");
//   for (const auto& m : tar.members()) std::cout << m.name << " " << m.size << "\n";
//   std::span<const uint8_t> jpeg = tar.data(tar.members()[2]);
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ctdl::nn::data {

std::vector<uint8_t> read_file(const std::string& path);
// Decompresses gzip data (all members of a multi-member stream). `name` is used in errors.
std::vector<uint8_t> gunzip(std::span<const uint8_t> compressed, const std::string& name);
// The file's content, decompressed if it starts with the gzip magic bytes.
std::vector<uint8_t> read_maybe_gzip(const std::string& path);

// A tar archive (POSIX ustar or GNU, optionally gzip-compressed) held in memory.
class TarArchive {
 public:
  struct Member {
    std::string name;  // path inside the archive, e.g. "test/airplane/0000.jpg"
    uint64_t offset;   // of the data, in the uncompressed archive
    uint64_t size;
  };
  explicit TarArchive(const std::string& path);
  // Regular files only, in archive order.
  const std::vector<Member>& members() const { return members_; }
  std::span<const uint8_t> data(const Member& member) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<uint8_t> bytes_;
  std::vector<Member> members_;
};

}  // namespace ctdl::nn::data
