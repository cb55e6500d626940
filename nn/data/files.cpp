#include "ctdl/nn/data/files.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "ctdl/tensor/error.h"

namespace ctdl::nn::data {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  CTDL_CHECK(in.good(), "read_file: cannot open '", path, "': ", std::strerror(errno));
  std::streamoff size = in.tellg();
  CTDL_CHECK(size >= 0, "read_file: cannot tell the size of '", path, "'");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  CTDL_CHECK(in.good() || size == 0, "read_file: reading '", path, "' failed");
  return bytes;
}

std::vector<uint8_t> gunzip(std::span<const uint8_t> compressed, const std::string& name) {
  // Decompressed data is refused beyond this: a corrupt length must not exhaust memory.
  constexpr uint64_t kLimit = uint64_t(16) << 30;
  std::vector<uint8_t> out;
  z_stream z{};
  CTDL_CHECK(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK, "gunzip: cannot initialize zlib");
  z.next_in = const_cast<Bytef*>(compressed.data());
  z.avail_in = static_cast<uInt>(std::min<size_t>(compressed.size(), UINT32_MAX));
  size_t fed = z.avail_in;
  uint8_t chunk[1 << 16];
  for (;;) {
    z.next_out = chunk;
    z.avail_out = sizeof(chunk);
    int rc = inflate(&z, Z_NO_FLUSH);
    size_t produced = sizeof(chunk) - z.avail_out;
    out.insert(out.end(), chunk, chunk + produced);
    size_t offset = fed - z.avail_in;  // compressed bytes consumed so far
    if (rc == Z_STREAM_END) {
      // Another gzip member may follow (multi-member files, e.g. from concatenation).
      size_t rest = compressed.size() - offset;
      if (rest == 0) break;
      if (rest >= 2 && compressed[offset] == 0x1f && compressed[offset + 1] == 0x8b) {
        inflateReset(&z);
        continue;
      }
      inflateEnd(&z);
      fail("gunzip: ", name, ": ", rest,
           " bytes of trailing garbage after the gzip stream at compressed "
           "offset ",
           offset);
    }
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && produced > 0)) {
      std::string reason = z.msg ? z.msg
                                 : (rc == Z_BUF_ERROR ? "the data ends before the stream does"
                                                      : "zlib error " + std::to_string(rc));
      inflateEnd(&z);
      if (rc == Z_BUF_ERROR)
        fail("gunzip: ", name, ": truncated gzip data: it ends at compressed offset ", offset,
             " after ", out.size(), " decompressed bytes, before the end of the stream");
      fail("gunzip: ", name, ": corrupt gzip data near compressed offset ", offset, ": ", reason);
    }
    if (out.size() > kLimit) {
      inflateEnd(&z);
      fail("gunzip: ", name, ": more than ", kLimit, " bytes decompressed; refusing to go on");
    }
    if (z.avail_in == 0 &&
        fed < compressed.size()) {  // more than 4 GiB of input: feed the next part
      z.avail_in = static_cast<uInt>(std::min<size_t>(compressed.size() - fed, UINT32_MAX));
      fed += z.avail_in;
    }
  }
  inflateEnd(&z);
  return out;
}

std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return gunzip(bytes, path);
  return bytes;
}

// ---- tar ----------------------------------------------------------------------------------------

namespace {

constexpr size_t kBlock = 512;

// An octal field (or GNU base-256 for large values), NUL- or space-terminated.
uint64_t parse_number(const uint8_t* field, size_t length, const std::string& path, uint64_t offset,
                      const char* what) {
  if (field[0] & 0x80) {  // base-256
    uint64_t v = field[0] & 0x7f;
    for (size_t i = 1; i < length; ++i) {
      CTDL_CHECK(v < (uint64_t(1) << 55), "tar: ", path, ": the ", what, " field at offset ",
                 offset, " is too large");
      v = (v << 8) | field[i];
    }
    return v;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < length && field[i] == ' ') ++i;
  for (; i < length && field[i] != 0 && field[i] != ' '; ++i) {
    CTDL_CHECK(field[i] >= '0' && field[i] <= '7', "tar: ", path, ": the ", what,
               " field at offset ", offset,
               " is not an octal number (not a tar archive, or a corrupt header)");
    CTDL_CHECK(v < (uint64_t(1) << 60), "tar: ", path, ": the ", what, " field at offset ", offset,
               " is too large");
    v = v * 8 + (field[i] - '0');
  }
  return v;
}

std::string field_string(const uint8_t* field, size_t length) {
  size_t n = 0;
  while (n < length && field[n] != 0) ++n;
  return std::string(reinterpret_cast<const char*>(field), n);
}

}  // namespace

TarArchive::TarArchive(const std::string& path) : path_(path), bytes_(read_maybe_gzip(path)) {
  const uint64_t total = bytes_.size();
  uint64_t pos = 0;
  std::string long_name;  // from a GNU 'L' or pax 'x' entry, for the entry that follows
  while (pos < total) {
    CTDL_CHECK(pos + kBlock <= total, "tar: ", path, ": truncated: a header starts at offset ", pos,
               " but the archive ends at ", total);
    const uint8_t* h = bytes_.data() + pos;
    bool all_zero = true;
    for (size_t i = 0; i < kBlock && all_zero; ++i) all_zero = h[i] == 0;
    if (all_zero) break;  // end-of-archive marker
    // The checksum counts the header with its own field read as spaces.
    uint64_t expected = parse_number(h + 148, 8, path, pos + 148, "checksum"), sum = 0;
    for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : h[i];
    CTDL_CHECK(sum == expected, "tar: ", path, ": bad header checksum at offset ", pos, " (stored ",
               expected, ", computed ", sum, "): not a tar archive, or a corrupt one");
    uint64_t size = parse_number(h + 124, 12, path, pos + 124, "size");
    uint64_t data = pos + kBlock;
    CTDL_CHECK(size <= total - data, "tar: ", path,
               ": truncated: the member whose header is at offset ", pos, " needs ", size,
               " bytes of data from offset ", data, " but the archive ends at ", total);
    char type = static_cast<char>(h[156]);
    std::string name = field_string(h, 100);
    if (std::memcmp(h + 257, "ustar", 5) == 0) {
      std::string prefix = field_string(h + 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    if (type == 'L') {  // GNU long name: the next entry's name is this entry's data
      long_name = field_string(bytes_.data() + data, size);
    } else if (type == 'x') {  // pax extended header: look for a path record
      std::string records(reinterpret_cast<const char*>(bytes_.data() + data), size);
      size_t at = records.find(" path=");
      if (at != std::string::npos) {
        size_t end = records.find('\n', at);
        long_name =
            records.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
      }
    } else {
      if (!long_name.empty()) name = long_name, long_name.clear();
      if (type == '0' || type == '\0' || type == '7') members_.push_back({name, data, size});
    }
    pos = data + (size + kBlock - 1) / kBlock * kBlock;
    pos = std::min(pos, total);  // the last member's padding may be cut off
  }
}

std::span<const uint8_t> TarArchive::data(const Member& member) const {
  return {bytes_.data() + member.offset, member.size};
}

}  // namespace ctdl::nn::data
