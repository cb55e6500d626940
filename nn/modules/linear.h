// A fully connected layer.
//
//   nn::Linear fc(784, 256);                       // y = x·Wᵀ + b, W [256, 784]
//   Tensor y = fc(randn({32, 784}));               // [32, 256]
//   nn::Linear no_bias(3, 3, {.bias = false, .dtype = DType::Float64});
//
// The weight uses PyTorch's layout and default initialization (kaiming_uniform with a = √5,
// that is U(±1/√fan_in), and the same bound for the bias), so state dicts interchange.
#pragma once

#include "ctdl/nn/module.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

struct LinearOptions {
  bool bias = true;
  std::optional<DType> dtype;  // default float32
  Device device = Device::cpu();
};

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, LinearOptions options = {});
  Tensor operator()(const Tensor& x) const;

  Tensor weight;  // [out_features, in_features]
  Tensor bias;    // [out_features], undefined without bias
};

}  // namespace ctdl::nn
