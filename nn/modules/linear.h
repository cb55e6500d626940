// A fully connected layer.
//
//   nn::Linear fc(784, 256);                       // y = x·Wᵀ + b, W [256, 784]
//   Tensor y = fc(randn({32, 784}));               // [32, 256]
//   nn::Linear no_bias(3, 3, {.bias = false, .dtype = DType::Float64});
//   nn::Linear hidden(2, 64, {.activation = Activation::Tanh});   // tanh(x·Wᵀ + b), fused
//
// The weight uses PyTorch's layout and default initialization (kaiming_uniform with a = √5,
// that is U(±1/√fan_in), and the same bound for the bias), so state dicts interchange.
#pragma once

#include "ctdl/nn/module.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

struct LinearOptions {
  bool bias = true;
  // Applied to the output in the same pass as the bias (bias_activation): Linear(2, 64,
  // {.activation = Activation::Tanh}) computes tanh(x·Wᵀ + b).
  Activation activation = Activation::None;
  std::optional<DType> dtype;  // default float32
  Device device = Device::cpu();
};

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, LinearOptions options = {});
  Tensor operator()(const Tensor& x) const;

  Tensor weight;  // [out_features, in_features]
  Tensor bias;    // [out_features], undefined without bias
  Activation activation = Activation::None;
};

}  // namespace ctdl::nn
