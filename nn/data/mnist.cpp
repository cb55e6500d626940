#include "ctdl/nn/data/mnist.h"

#include <filesystem>

#include "ctdl/nn/data/files.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn::data {

namespace {

struct Idx {
  std::vector<uint8_t> bytes;
  std::vector<int64_t> dims;
  size_t data_offset;
};

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Parses the IDX header: magic 0x00 0x00 <type> <ndims>, then ndims big-endian sizes, then the
// data, which must fill the rest of the file exactly.
Idx read_idx(const std::string& path, int expected_dims) {
  Idx idx{read_maybe_gzip(path), {}, 0};
  const std::vector<uint8_t>& b = idx.bytes;
  CTDL_CHECK(b.size() >= 4, "idx: ", path, ": truncated: ", b.size(),
             " bytes, shorter than the 4-byte magic");
  uint32_t magic = big_endian_u32(b.data());
  CTDL_CHECK(b[0] == 0 && b[1] == 0 && b[2] == 0x08 && b[3] == expected_dims, "idx: ", path,
             ": wrong magic number 0x", std::hex, magic, std::dec,
             " at offset 0 (expected 0x0000080", expected_dims, ": unsigned bytes in ",
             expected_dims, " dimension", expected_dims > 1 ? "s" : "", ")");
  idx.data_offset = 4 + 4 * static_cast<size_t>(expected_dims);
  CTDL_CHECK(b.size() >= idx.data_offset, "idx: ", path, ": truncated header: ", b.size(),
             " bytes, but ", expected_dims, " dimensions need ", idx.data_offset);
  uint64_t count = 1;
  for (int d = 0; d < expected_dims; ++d) {
    uint32_t n = big_endian_u32(b.data() + 4 + 4 * d);
    idx.dims.push_back(n);
    // Checked before multiplying, so the product cannot overflow.
    CTDL_CHECK(n == 0 || count <= b.size() / n, "idx: ", path, ": dimension ", d, " at offset ",
               4 + 4 * d, " is ", n, ", more data than the file holds (", b.size(), " bytes)");
    count *= n;
  }
  uint64_t have = b.size() - idx.data_offset;
  CTDL_CHECK(have >= count, "idx: ", path, ": truncated: the header promises ", count,
             " bytes of data from "
             "offset ",
             idx.data_offset, " but only ", have, " follow");
  CTDL_CHECK(have == count, "idx: ", path, ": ", have - count,
             " unexpected bytes after the data, at offset ", idx.data_offset + count);
  return idx;
}

}  // namespace

Tensor read_idx_images(const std::string& path) {
  Idx idx = read_idx(path, 3);
  const int64_t n = idx.dims[0], rows = idx.dims[1], cols = idx.dims[2];
  Tensor images = empty({n, 1, rows, cols}, {.dtype = DType::Float32});
  float* out = images.data<float>();
  const uint8_t* in = idx.bytes.data() + idx.data_offset;
  for (int64_t i = 0; i < n * rows * cols; ++i) out[i] = static_cast<float>(in[i]) / 255.0f;
  return images;
}

Tensor read_idx_labels(const std::string& path, int64_t max_label) {
  Idx idx = read_idx(path, 1);
  const int64_t n = idx.dims[0];
  Tensor labels = empty({n}, {.dtype = DType::Int64});
  int64_t* out = labels.data<int64_t>();
  const uint8_t* in = idx.bytes.data() + idx.data_offset;
  for (int64_t i = 0; i < n; ++i) {
    CTDL_CHECK(in[i] <= max_label, "idx: ", path, ": label ", int(in[i]), " at offset ",
               idx.data_offset + i, " is out of range [0, ", max_label, "]");
    out[i] = in[i];
  }
  return labels;
}

namespace {

// The path of `stem` or `stem.gz` in the folder, or "" if neither exists.
std::string find(const std::filesystem::path& dir, const std::string& stem) {
  for (const std::string& name : {stem, stem + ".gz"})
    if (std::filesystem::exists(dir / name)) return (dir / name).string();
  return "";
}

TensorDataset pair(const std::string& images_path, const std::string& labels_path) {
  Tensor images = read_idx_images(images_path), labels = read_idx_labels(labels_path);
  CTDL_CHECK(images.shape()[0] == labels.shape()[0], "load_mnist: ", images_path, " has ",
             images.shape()[0], " images but ", labels_path, " has ", labels.shape()[0], " labels");
  return {images, labels};
}

}  // namespace

Mnist load_mnist(const std::string& directory, MnistOptions options) {
  std::filesystem::path dir(directory);
  CTDL_CHECK(std::filesystem::is_directory(dir), "load_mnist: '", directory,
             "' is not a directory");
  std::string test_images = find(dir, "t10k-images-idx3-ubyte"),
              test_labels = find(dir, "t10k-labels-idx1-ubyte");
  std::string train_images = find(dir, "train-images-idx3-ubyte"),
              train_labels = find(dir, "train-labels-idx1-ubyte");
  CTDL_CHECK(!test_images.empty() && !test_labels.empty(), "load_mnist: '", directory,
             "' has no "
             "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]; get MNIST from "
             "http://yann.lecun.com/exdb/mnist/ or a mirror");
  TensorDataset test = pair(test_images, test_labels);
  Mnist mnist = [&]() -> Mnist {
    if (!train_images.empty() && !train_labels.empty()) {
      TensorDataset train = pair(train_images, train_labels);
      return {train, test,
              str("MNIST from ", directory, ": ", train.size(), " training and ", test.size(),
                  " test images (the standard split)")};
    }
    const int64_t n = test.size(), h = options.holdout;
    CTDL_CHECK(h > 0 && h < n, "load_mnist: cannot hold out ", h, " of ", n, " images");
    return {test.slice(0, n - h), test.slice(n - h, n),
            str("MNIST from ", directory, ": no training images there, so training on the first ",
                n - h, " t10k images and evaluating on the last ", h, " (held out)")};
  }();
  if (options.train_limit > 0 && options.train_limit < mnist.train.size()) {
    mnist.train = mnist.train.slice(0, options.train_limit);
    mnist.description += str("; training on the first ", options.train_limit, " images only");
  }
  return mnist;
}

}  // namespace ctdl::nn::data
