#include "mocap.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "ctdl/tensor/ops.h"

namespace ctdl::examples::latent_sde {
namespace {

// MAT-file data types (MATLAB's "MAT-File Format", level 5).
constexpr uint32_t kInt8 = 1, kUint32 = 6, kInt32 = 5, kDouble = 9, kMatrix = 14, kCompressed = 15;
constexpr uint32_t kDoubleClass = 6;

struct Reader {
  const std::string& bytes;
  const std::string& path;
  size_t at;

  uint32_t u32(size_t offset) const {
    CTDL_CHECK(offset + 4 <= bytes.size(), "read_mat: ", path, " ends early at byte ", offset);
    uint32_t v;
    std::memcpy(&v, bytes.data() + offset, 4);
    return v;
  }
  // One data element: its type, and where its payload starts and ends. Small elements pack
  // type and size into the first 4 bytes.
  std::tuple<uint32_t, size_t, size_t> element() {
    uint32_t type = u32(at), size = u32(at + 4);
    if (type >> 16) {
      size_t begin = at + 4, end = begin + (type >> 16);
      at += 8;
      return {type & 0xffff, begin, end};
    }
    size_t begin = at + 8, end = begin + size;
    CTDL_CHECK(end <= bytes.size(), "read_mat: ", path, ": an element at byte ", at, " of ", size,
               " bytes runs past the end of the file");
    at = end + (8 - size % 8) % 8;
    return {type, begin, end};
  }
};

}  // namespace

std::map<std::string, Tensor> read_mat(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CTDL_CHECK(in.good(), "read_mat: cannot open ", path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CTDL_CHECK(bytes.size() >= 128 && bytes.compare(0, 6, "MATLAB") == 0 && bytes[126] == 'I' &&
                 bytes[127] == 'M',
             "read_mat: ", path, " is not a little-endian level-5 MAT-file");
  std::map<std::string, Tensor> out;
  Reader top{bytes, path, 128};
  while (top.at + 8 <= bytes.size()) {
    size_t start = top.at;
    auto [type, begin, end] = top.element();
    CTDL_CHECK(type != kCompressed, "read_mat: ", path, " has compressed variables (byte ", start,
               "); save it uncompressed (MATLAB: save -v6, SciPy: savemat(do_compression=False))");
    if (type != kMatrix) continue;
    Reader m{bytes, path, begin};
    auto [ftype, fbegin, fend] = m.element();
    CTDL_CHECK(ftype == kUint32, "read_mat: ", path, ": bad array flags at byte ", fbegin);
    const uint32_t flags = m.u32(fbegin);
    auto [dtype, dbegin, dend] = m.element();
    CTDL_CHECK(dtype == kInt32, "read_mat: ", path, ": bad dimensions at byte ", dbegin);
    Dims dims;
    for (size_t p = dbegin; p < dend; p += 4) dims.push_back(static_cast<int32_t>(m.u32(p)));
    auto [ntype, nbegin, nend] = m.element();
    CTDL_CHECK(ntype == kInt8, "read_mat: ", path, ": bad name at byte ", nbegin);
    std::string name = bytes.substr(nbegin, nend - nbegin);
    if ((flags & 0xff) != kDoubleClass || (flags & 0x800)) continue;  // only real doubles
    auto [rtype, rbegin, rend] = m.element();
    CTDL_CHECK(rtype == kDouble, "read_mat: ", path, ": variable ", name,
               " stores its doubles as type ", rtype, "; only miDOUBLE is read");
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    CTDL_CHECK(static_cast<int64_t>(rend - rbegin) == 8 * n, "read_mat: ", path, ": variable ",
               name, " of shape ", dims, " holds ", rend - rbegin, " bytes");
    std::vector<double> values(static_cast<size_t>(n));
    std::memcpy(values.data(), bytes.data() + rbegin, 8 * values.size());
    // MATLAB is column-major: read with the dimensions reversed, then transpose back.
    Dims reversed;
    for (int64_t i = static_cast<int64_t>(dims.size()) - 1; i >= 0; --i)
      reversed.push_back(dims[i]);
    Tensor t = tensor(values, reversed, {.dtype = DType::Float64});
    Dims order;
    for (int64_t i = static_cast<int64_t>(dims.size()) - 1; i >= 0; --i) order.push_back(i);
    out[name] = t.permute(order).contiguous();
  }
  return out;
}

Mocap load_mocap(const std::string& dir) {
  std::filesystem::path file = std::filesystem::path(dir) / "mocap35.mat";
  CTDL_CHECK(std::filesystem::exists(file), "latent-sde: ", file.string(), " is missing; ",
             kMocapSource);
  std::map<std::string, Tensor> vars = read_mat(file.string());
  Mocap m;
  for (auto [name, into] : {std::pair{"Xtr", &m.train}, {"Xval", &m.val}, {"Xtest", &m.test}}) {
    auto it = vars.find(name);
    CTDL_CHECK(it != vars.end() && it->second.dim() == 3, "latent-sde: ", file.string(),
               " has no 3-D variable ", name, " (sequences x frames x 50)");
    *into = it->second;
  }
  m.description = "CMU mocap subject 35 (" + file.string() +
                  "): " + std::to_string(m.train.size(0)) + " train, " +
                  std::to_string(m.val.size(0)) + " validation, " + std::to_string(m.test.size(0)) +
                  " test sequences of " + std::to_string(m.train.size(1)) + " frames x " +
                  std::to_string(m.train.size(2));
  return m;
}

}  // namespace ctdl::examples::latent_sde
