// mnist-mlp: the multilayer perceptron of the reference workloads
// (../shared/bench/WORKLOADS.md, mlp_step): 784-256-256-10 with ReLU.
#include "common.h"
#include "ctdl/nn/train/example.h"

namespace ctdl::examples::mnist {
namespace {

struct Mlp : nn::Module {
  nn::Sequential layers = register_module(
      "layers", nn::Sequential(nn::Flatten(), nn::Linear(784, 256), nn::ReLU(),
                               nn::Linear(256, 256), nn::ReLU(), nn::Linear(256, 10)));
  Tensor operator()(const Tensor& x) const { return layers(x); }
};

void run_mlp(nn::Run& run, const MnistConfig& config) {
  manual_seed(static_cast<uint64_t>(config.seed));
  Mlp net;
  train(run, net, config);
}

const nn::RegisterExample<MnistConfig> registration{{
    .name = "mnist-mlp",
    .description =
        "MNIST digits with a 784-256-256-10 MLP (target: >= 97% held-out accuracy with --quick)",
    .quick = {{"epochs", 15}},
    .run = run_mlp,
}};

}  // namespace
}  // namespace ctdl::examples::mnist
