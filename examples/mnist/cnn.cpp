// mnist-cnn: the convolutional network of the reference workloads
// (../shared/bench/WORKLOADS.md, cnn_step): conv 1->32 3x3, ReLU, max-pool 2, conv 32->64
// 3x3, ReLU, max-pool 2, linear 3136->10.
#include "common.h"
#include "ctdl/nn/train/example.h"

namespace ctdl::examples::mnist {
namespace {

struct Cnn : nn::Module {
  nn::Conv2d conv1 = register_module("conv1", nn::Conv2d(1, 32, 3, {.padding = 1}));
  nn::Conv2d conv2 = register_module("conv2", nn::Conv2d(32, 64, 3, {.padding = 1}));
  nn::Linear fc = register_module("fc", nn::Linear(64 * 7 * 7, 10));
  nn::MaxPool2d pool{2};

  Tensor operator()(const Tensor& x) const {
    Tensor h = pool(relu(conv1(x)));  // [N, 32, 14, 14]
    h = pool(relu(conv2(h)));         // [N, 64, 7, 7]
    return fc(h.flatten(1));
  }
};

// The CNN learns faster per epoch than the MLP: fewer epochs by default.
struct CnnConfig : MnistConfig {
  CnnConfig() { epochs = 10; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CnnConfig, epochs, batch_size, optimizer, lr,
                                                weight_decay, label_smoothing, crop_padding,
                                                holdout, train_limit, seed, prefetch)

void run_cnn(nn::Run& run, const CnnConfig& config) {
  manual_seed(static_cast<uint64_t>(config.seed));
  Cnn net;
  train(run, net, static_cast<const MnistConfig&>(config));
}

const nn::RegisterExample<CnnConfig> registration{{
    .name = "mnist-cnn",
    .description =
        "MNIST digits with a two-layer CNN (target: >= 98% held-out accuracy with --quick)",
    .quick = {{"epochs", 4}},
    .run = run_cnn,
}};

}  // namespace
}  // namespace ctdl::examples::mnist
