// What mnist-mlp and mnist-cnn share: the config, the data pipeline and the training run.
#pragma once

#include <nlohmann/json.hpp>

#include "ctdl/nn/nn.h"
#include "ctdl/nn/train/run.h"

namespace ctdl::examples::mnist {

struct MnistConfig {
  int64_t epochs = 30;
  int64_t batch_size = 128;
  std::string optimizer = "adam";  // adam | sgd (momentum 0.9)
  double lr = 2e-3;                // the peak of a cosine schedule to zero
  double weight_decay = 0.0;
  double label_smoothing = 0.1;
  int64_t crop_padding = 2;  // random shifts by up to this many pixels; 0: none
  int64_t holdout = 2000;    // held out when the folder has only the t10k files
  int64_t train_limit = 0;   // train on the first N images only (0: all)
  int64_t seed = 0;
  int64_t prefetch = 2;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(MnistConfig, epochs, batch_size, optimizer, lr,
                                                weight_decay, label_smoothing, crop_padding,
                                                holdout, train_limit, seed, prefetch)

// Loads the data from run.data_dir("mnist"), builds the optimizer and schedule, trains `net`
// with nn::fit_classifier and records the results.
template <class Net>
void train(nn::Run& run, Net& net, const MnistConfig& config);

void train_module(nn::Run& run, nn::Module& net,
                  const std::function<Tensor(const Tensor&)>& forward, const MnistConfig& config);

template <class Net>
void train(nn::Run& run, Net& net, const MnistConfig& config) {
  train_module(
      run, net, [&net](const Tensor& x) { return net(x); }, config);
}

}  // namespace ctdl::examples::mnist
