// MNIST in its original IDX format (gzip-compressed or not).
//
//   nn::data::Mnist mnist = nn::data::load_mnist("/path/to/mnist");
//   std::cout << mnist.description << "\n";
//   nn::data::DataLoader loader(mnist.train, {.batch_size = 128, .shuffle = true});
//   // images float32 [N, 1, 28, 28] in [0, 1], labels int64 [N]
//
// load_mnist looks in the folder for train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
// t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]. With all four it returns the
// standard 60,000 / 10,000 split. With only the t10k files (as in ctdl's shared data folder)
// it trains on the first 10,000 - holdout test images and holds out the last `holdout`, and
// `description` says so: report it with any accuracy.
//
// A malformed file (wrong magic, truncated, dimensions that disagree, labels out of range,
// images and labels of different counts) is an Error naming the file and the offset.
#pragma once

#include <string>

#include "ctdl/nn/data/dataset.h"

namespace ctdl::nn::data {

// An IDX file of unsigned bytes with 3 dimensions [N, rows, cols], as float32 [N, 1, rows,
// cols] scaled to [0, 1].
Tensor read_idx_images(const std::string& path);
// An IDX file of unsigned bytes with 1 dimension [N], as int64 [N]; values above
// `max_label` are refused.
Tensor read_idx_labels(const std::string& path, int64_t max_label = 9);

struct MnistOptions {
  int64_t holdout = 2000;  // used only when the training images are absent
  // > 0: keep only the first train_limit training images (a quick run); the description
  // says so.
  int64_t train_limit = 0;
};

struct Mnist {
  TensorDataset train, test;
  std::string description;  // which files, which split
};

Mnist load_mnist(const std::string& directory, MnistOptions options = {});

}  // namespace ctdl::nn::data
